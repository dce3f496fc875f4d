/**
 * Finding the records of a task file in a byte stream, in one pass with bounded memory: JSON Lines
 * (one value per non-blank line) or one JSON array (one value per top-level element).
 *
 * @module
 */

/**
 * One record's bytes and where they are: `[start, end)` byte offsets in the (decompressed) stream,
 * and the 1-based line the record starts on. `record` counts the records before it.
 *
 * @category models
 */
export interface RecordSpan {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly record: number;
  readonly bytes: Buffer;
}

/**
 * A part of the stream that is not a record (structure broken beyond one element).
 *
 * @category models
 */
export interface SpanProblem {
  readonly line: number;
  readonly message: string;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const UTF8_BOM = [0xef, 0xbb, 0xbf];
const isBlank = (b: number): boolean => b === 0x20 || b === 0x09 || b === NEWLINE || b === CR;

/**
 * The records of a stream of bytes (a task file, or its decompression).
 *
 * **Details**: the first non-blank byte decides the format, as the reference's loader does in
 * effect: `[` is one JSON array, anything else is JSON Lines (blank lines skipped, `\r\n` allowed).
 * A leading UTF-8 BOM is skipped. Records are not parsed here: the caller parses `bytes` and locates
 * its errors with `line`.
 *
 * @example
 * for await (const span of recordSpans(createReadStream('faq.jsonl'))) if ('bytes' in span) JSON.parse(span.bytes.toString());
 *
 * @category constructors
 */
export async function* recordSpans(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<RecordSpan | SpanProblem> {
  let mode = 'unknown' as 'unknown' | 'lines' | 'array' | 'after';
  let offset = 0; // absolute offset of the current chunk's first byte
  let line = 1;
  let record = 0;
  let bom = 0; // bytes of a leading UTF-8 BOM matched so far
  let lastContent = 0; // lines mode: offset just after the last non-blank byte of the current line

  // The record being gathered: its start, line, and the pieces seen so far.
  let pieces: Buffer[] = [];
  let start = -1;
  let startLine = 0;
  let content = false; // lines mode: a non-blank byte was seen on this line

  // Array mode scanner state.
  let depth = 0;
  let inString = false;
  let escaped = false;
  let afterComma = false; // array mode: the last top-level token was a comma

  const take = (end: number): RecordSpan => {
    // Trailing blanks (a \r, spaces) are left out of a line's record.
    // One piece (a record within one chunk): a view of the chunk, not a copy.
    const bytes = pieces.length === 1 ? pieces[0]!.subarray(0, end - start) : Buffer.concat(pieces).subarray(0, end - start);
    const span = { start, end, line: startLine, record: record++, bytes };
    pieces = [];
    start = -1;
    return span;
  };

  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let from = 0; // first byte of the current record within this chunk, when it started here
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (mode === 'unknown') {
        if (offset + i === bom && bom < 3 && b === UTF8_BOM[bom]) {
          bom++;
          continue;
        }
        if (isBlank(b)) {
          if (b === NEWLINE) line++;
          continue;
        }
        mode = b === 0x5b /* [ */ ? 'array' : 'lines';
        if (mode === 'array') {
          depth = 1;
          continue;
        }
        start = offset + i;
        startLine = line;
        from = i;
        content = true;
      }
      if (mode === 'lines') {
        if (b === NEWLINE) {
          if (content) {
            pieces.push(chunk.subarray(from, i));
            yield take(lastContent);
          }
          content = false;
          line++;
          continue;
        }
        if (isBlank(b)) continue;
        if (!content) {
          content = true;
          start = offset + i;
          startLine = line;
          from = i;
        }
        lastContent = offset + i + 1;
        continue;
      }
      if (mode === 'after') {
        if (b === NEWLINE) line++;
        else if (!isBlank(b)) {
          yield { line, message: 'unexpected text after the closing ] of the JSON array' };
          return;
        }
        continue;
      }
      // Array mode.
      if (inString) {
        if (escaped) escaped = false;
        else if (b === 0x5c /* \ */) escaped = true;
        else if (b === 0x22 /* " */) inString = false;
        if (b === NEWLINE) line++;
        continue;
      }
      if (b === NEWLINE) line++;
      if (depth === 1 && start < 0 && !isBlank(b) && b !== 0x2c /* , */ && b !== 0x5d /* ] */) {
        start = offset + i;
        startLine = line;
        from = i;
      }
      if (b === 0x22) inString = true;
      else if (b === 0x5b || b === 0x7b) depth++;
      else if (b === 0x5d || b === 0x7d) {
        if (depth === 1) {
          if (b === 0x7d) {
            yield { line, message: 'a } where the JSON array should close' };
            return;
          }
          if (start >= 0) {
            pieces.push(chunk.subarray(from, i));
            yield take(offset + i);
          } else if (afterComma) {
            yield { line, message: 'a comma before the closing ] of the JSON array' };
            return;
          }
          mode = 'after';
        }
        depth--;
      } else if (b === 0x2c && depth === 1) {
        if (start < 0) {
          yield { line, message: 'an empty element in the JSON array (two commas, or a comma after [)' };
          return;
        }
        pieces.push(chunk.subarray(from, i));
        yield take(offset + i);
        afterComma = true;
        continue;
      }
      if (depth >= 1 && !isBlank(b)) afterComma = false;
    }
    // Keep the unfinished record's bytes of this chunk.
    if (start >= 0) pieces.push(chunk.subarray(from));
    offset += chunk.length;
  }
  if (mode === 'lines' && content) yield take(lastContent);
  if (mode === 'array') yield { line, message: 'the JSON array is not closed (missing ])' };
}

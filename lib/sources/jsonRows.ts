/**
 * A JSON Lines (or JSON array) file of a Hugging Face dataset, indexed in one streaming pass: where
 * each row is, its research metadata, and the column types of each chunk `datasets` reads.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import * as E from 'fp-ts/lib/Either.js';
import { FileError, RecordError } from '../core/errors.js';
import type { Example, Located } from '../core/model.js';
import type { Row } from '../arrow/values.js';
import { decodeResearchRow } from '../schema/researchRecord.js';
import { kindOfJsonText, mergeSchemas, type Schema } from './hfSchema.js';
import { openTaskFile, parseSpan } from './jsonl.js';
import { recordSpans } from './recordSpans.js';
import { badRow, MetaColumns, RowFileStore, type RowChunk, type RowFile } from './rowFile.js';

/** `JsonConfig.chunksize`: datasets reads JSON Lines 10 MiB (plus the rest of a line) at a time, and types each chunk on its own. */
export const JSON_CHUNK_BYTES = 10 << 20;

/** Decompressed copies (of `.gz` files, of Parquet row groups) live in temporary folders removed when the process exits. */
const temporaryFolders: string[] = [];
export const temporaryFile = async (name: string): Promise<string> => {
  const folder = await mkdtemp(join(tmpdir(), 'llm-retriever-data-rows-'));
  if (temporaryFolders.length === 0) process.once('exit', () => temporaryFolders.forEach((f) => rmSync(f, { recursive: true, force: true })));
  temporaryFolders.push(folder);
  return join(folder, name);
};

/**
 * Indexes a `.jsonl` / `.json` / `.ndjson` file (or its `.gz`) for the research flavor.
 *
 * **Details**: every row is parsed and decoded once here (`decodeResearchRow`), so a bad row fails
 * before the first batch with its file, line and field. Column types are inferred from the text
 * (an integer and `1.0` differ, as for pyarrow) per chunk as `datasets` cuts them: 10 MiB, then to
 * the end of the line (a file that is one JSON array is one chunk). Memory is the index (about 20
 * bytes per row), not the file.
 *
 * **Gotchas**: a chunk boundary is placed at the first record starting past the 10 MiB mark; blank
 * lines or leading spaces right at a boundary can shift it by those few bytes relative to `datasets`
 * (which only matters when a column's type changes right there).
 *
 * @example
 * const rows = await indexJsonRows('data/train.jsonl');
 * rows.chunks[0].schema; // [['query', {k: 'string', …}], …]
 *
 * @category constructors
 */
export const indexJsonRows = async (file: string): Promise<RowFile> => {
  const dataFile = file.endsWith('.gz') ? await temporaryFile('data.jsonl') : file;
  const copy = dataFile === file ? null : createWriteStream(dataFile);
  const hash = createHash('sha256');
  // The first non-blank byte decides the format as datasets sees it: `[` is one JSON array, read whole (one chunk).
  let firstByte: number | null = null;
  const bytes = (async function* () {
    for await (const chunk of openTaskFile(file)) {
      if (firstByte === null) {
        const text = chunk.toString('latin1').replace(/^\xef\xbb\xbf/, '');
        const m = /[^ \t\r\n]/.exec(text);
        if (m) firstByte = text.charCodeAt(m.index);
      }
      hash.update(chunk);
      if (copy !== null && !copy.write(chunk)) await new Promise<void>((r) => copy.once('drain', () => r()));
      yield chunk;
    }
  })();
  const columns = new MetaColumns();
  const starts: number[] = [];
  const lengths: number[] = [];
  const chunks: { firstLine: number; rows: number; schema: Schema }[] = [];
  let chunkLimit = -1;
  try {
    for await (const span of recordSpans(bytes)) {
      if (!('bytes' in span)) throw new RecordError([{ file, line: span.line, message: `malformed JSON array: ${span.message}` }]);
      const parsed = parseSpan(file, span);
      if (E.isLeft(parsed)) throw new RecordError([parsed.left]);
      const text = span.bytes.toString('utf8');
      const kind = kindOfJsonText(text);
      const at = { file, line: span.line, record: span.record };
      if (kind.k !== 'struct') throw new RecordError([{ ...at, message: 'expected a JSON object (a row)' }]);
      if (chunks.length === 0 || (firstByte !== 0x5b && span.start > chunkLimit)) {
        chunks.push({ firstLine: span.line, rows: 0, schema: [] });
        chunkLimit = span.start + JSON_CHUNK_BYTES;
      }
      const chunk = chunks[chunks.length - 1]!;
      chunk.rows += 1;
      chunk.schema = mergeSchemas(chunk.schema, kind.fields);
      const decoded = decodeResearchRow(parsed.right.value, at);
      if (E.isLeft(decoded)) throw badRow(decoded.left);
      columns.add(span.line, decoded.right);
      starts.push(span.start);
      lengths.push(span.end - span.start);
    }
  } finally {
    copy?.end();
    if (copy !== null) await finished(copy);
  }
  const info = await stat(dataFile);
  // A file of only blank lines still makes datasets a table with no columns (which fixes the features if it comes first).
  if (chunks.length === 0 && info.size > 0) chunks.push({ firstLine: 1, rows: 0, schema: [] });
  const start = Float64Array.from(starts);
  const length = Uint32Array.from(lengths);
  const readSpans = async (positions: ReadonlyArray<number>) => {
    const handle = await open(dataFile, 'r');
    try {
      const now = await handle.stat();
      if (now.size !== info.size || now.mtimeMs !== info.mtimeMs) throw new FileError(file, 'changed since it was indexed; run again');
      return await Promise.all(
        positions.map(async (p) => {
          const buffer = Buffer.allocUnsafe(length[p]!);
          await handle.read(buffer, 0, length[p]!, start[p]!);
          return JSON.parse(buffer.toString('utf8')) as Row;
        }),
      );
    } finally {
      await handle.close();
    }
  };
  const store = new RowFileStore(file, columns, async (positions) => {
    const rows = await readSpans(positions);
    return rows.map((row, i): Located<Example> => {
      const at = { file, line: columns.meta(file, positions[i]!).line, record: positions[i]! };
      const decoded = decodeResearchRow(row, at);
      if (E.isLeft(decoded)) throw badRow(decoded.left);
      return { ...at, value: decoded.right };
    });
  });
  return {
    file,
    rows: columns.size,
    chunks: chunks as ReadonlyArray<RowChunk>,
    fingerprint: hash.digest('hex'),
    store,
    async *rawRows(from: number, to: number) {
      for (let at = from; at < to; at += 256) {
        const positions = Array.from({ length: Math.min(256, to - at) }, (_, k) => at + k);
        yield* await readSpans(positions);
      }
    },
  };
};

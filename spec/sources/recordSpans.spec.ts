/**
 * recordSpans: where each record of a task file's bytes is (JSON Lines or one JSON array), with the
 * line it starts on; the same spans however the bytes are cut into chunks; and broken structure
 * reported as problems.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { recordSpans, type RecordSpan, type SpanProblem } from '../../lib/sources/recordSpans.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

type Scan = (chunks: AsyncIterable<Buffer | string>) => AsyncIterable<RecordSpan | SpanProblem>;
type Out = RecordSpan | SpanProblem;

async function* chunksOf(parts: ReadonlyArray<Buffer | string>): AsyncGenerator<Buffer | string> {
  yield* parts;
}

/** The bytes of `text` cut at `cuts` (byte offsets, any order, repeats make empty chunks). */
const cut = (bytes: Buffer, cuts: ReadonlyArray<number>): Buffer[] => {
  const at = [0, ...[...cuts].map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
  return at.slice(1).map((end, i) => bytes.subarray(at[i]!, end));
};

const oneByteChunks = (bytes: Buffer): Buffer[] => Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));

const collect = async (scan: Scan, parts: ReadonlyArray<Buffer | string>): Promise<Out[]> => {
  const out: Out[] = [];
  for await (const s of scan(chunksOf(parts))) out.push(s);
  return out;
};

const spans = (out: ReadonlyArray<Out>): RecordSpan[] => out.filter((s): s is RecordSpan => 'bytes' in s);
const problems = (out: ReadonlyArray<Out>): SpanProblem[] => out.filter((s): s is SpanProblem => !('bytes' in s));

/** [line, record, start, end, text of bytes] of each span. */
const summary = (out: ReadonlyArray<Out>) => spans(out).map((s) => [s.line, s.record, s.start, s.end, s.bytes.toString('utf8')]);

// ------------------------------------------------------------------------------------------------
// Generated texts: records written as JSON Lines or one JSON array, with random blanks.
// ------------------------------------------------------------------------------------------------

/** What a text holds: each record's JSON as written, its byte offset and the line it starts on. */
interface Written {
  readonly text: string;
  readonly elements: ReadonlyArray<{ readonly json: string; readonly start: number; readonly line: number }>;
}

/** Builds a text piece by piece, tracking byte offsets and lines. */
class Writer {
  private parts: string[] = [];
  private bytes = 0;
  private line = 1;
  readonly elements: { json: string; start: number; line: number }[] = [];
  put(s: string): void {
    this.parts.push(s);
    this.bytes += Buffer.byteLength(s);
    this.line += s.split('\n').length - 1;
  }
  element(json: string, written = json): void {
    this.elements.push({ json: written, start: this.bytes, line: this.line });
    this.put(written);
  }
  done(): Written {
    return { text: this.parts.join(''), elements: this.elements };
  }
}

/** Strings that a careless scanner trips on: brackets, commas, braces, escaped quotes and backslashes, multi-byte characters. */
const tricky = fc.oneof(
  fc.constantFrom('a ] b', 'x, y', '{', '}', '[', 'say "hi"', '\\', '\\"', '"]', '\\\\"', 'é', '中文', '😀', '𝔽∑', '\u2028', '\r\n', '', ' '),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tricky,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(tricky, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** A record object (JSON Lines records must not start with `[`). */
const recordObject = fc.dictionary(tricky, jsonValue, { minKeys: 0, maxKeys: 4 });

const blanks = (chars: ReadonlyArray<string>, max = 3) => fc.array(fc.constantFrom(...chars), { maxLength: max }).map((xs) => xs.join(''));

/** JSON Lines: optional BOM, blank lines (spaces, tabs, CR), CRLF or LF, leading and trailing blanks, maybe no final newline. */
const jsonLinesText: fc.Arbitrary<Written> = fc
  .record({
    bom: fc.boolean(),
    leading: fc.array(blanks([' ', '\t', '\r']), { maxLength: 2 }),
    lines: fc.array(
      fc.record({
        record: recordObject,
        before: blanks([' ', '\t']),
        after: blanks([' ', '\t', '\r']),
        eol: fc.constantFrom('\n', '\r\n'),
        blankLines: fc.array(blanks([' ', '\t', '\r']), { maxLength: 2 }),
      }),
      { maxLength: 6 },
    ),
    finalNewline: fc.boolean(),
  })
  .map(({ bom, leading, lines, finalNewline }) => {
    const w = new Writer();
    if (bom) w.put('\ufeff');
    for (const l of leading) w.put(`${l}\n`);
    lines.forEach((l, i) => {
      w.put(l.before);
      w.element(JSON.stringify(l.record));
      w.put(l.after);
      const last = i === lines.length - 1;
      if (!last || finalNewline) w.put(l.eol);
      if (!last) for (const b of l.blankLines) w.put(`${b}\n`);
    });
    return w.done();
  });

/** One JSON array: optional BOM, blanks (with newlines) anywhere between tokens, elements compact or pretty-printed (LF or CRLF). */
const jsonArrayText: fc.Arbitrary<Written> = fc
  .record({
    bom: fc.boolean(),
    elements: fc.array(fc.record({ value: jsonValue, pretty: fc.boolean(), before: blanks([' ', '\t', '\n', '\r\n']), after: blanks([' ', '\t', '\n', '\r\n']) }), {
      maxLength: 6,
    }),
    leading: blanks([' ', '\n', '\r\n', '\t']),
    inside: blanks([' ', '\n']),
    trailing: blanks([' ', '\n', '\r\n', '\t']),
    crlf: fc.boolean(),
  })
  .map(({ bom, elements, leading, inside, trailing, crlf }) => {
    const w = new Writer();
    if (bom) w.put('\ufeff');
    w.put(leading);
    w.put('[');
    if (elements.length === 0) w.put(inside);
    elements.forEach((e, i) => {
      w.put(e.before);
      const compact = JSON.stringify(e.value);
      // Newlines inside strings are escaped by JSON.stringify, so these are all layout.
      const written = e.pretty ? JSON.stringify(e.value, null, 2).replaceAll('\n', crlf ? '\r\n' : '\n') : compact;
      w.element(compact, written);
      w.put(e.after);
      if (i < elements.length - 1) w.put(',');
    });
    w.put(']');
    w.put(trailing);
    return w.done();
  });

const anyText = fc.oneof(jsonLinesText, jsonArrayText);

/** The spans of `w` as one chunk are exactly its records: place, line, bytes, value. */
const spansAreTheRecords = (out: ReadonlyArray<Out>, w: Written): boolean => {
  const bytes = Buffer.from(w.text);
  const found = spans(out);
  return (
    problems(out).length === 0 &&
    found.length === w.elements.length &&
    found.every((s, i) => {
      const e = w.elements[i]!;
      let value: unknown;
      try {
        value = JSON.parse(s.bytes.toString('utf8'));
      } catch {
        return false;
      }
      return (
        s.record === i &&
        s.start === e.start &&
        s.line === e.line &&
        Buffer.compare(s.bytes, bytes.subarray(s.start, s.end)) === 0 &&
        s.bytes.toString('utf8').trimEnd() === e.json &&
        isDeepStrictEqual(value, JSON.parse(e.json))
      );
    })
  );
};

/** THE chunking property: for any text and any cutting of its bytes, the same spans, and they are the records written. */
const chunkingProperty = (scan: Scan) =>
  fc.asyncProperty(anyText, fc.array(fc.nat(), { maxLength: 12 }), async (w, cuts) => {
    const bytes = Buffer.from(w.text);
    const whole = await collect(scan, [bytes]);
    const asString = await collect(scan, [w.text]);
    const random = await collect(scan, cut(bytes, cuts));
    const single = await collect(scan, oneByteChunks(bytes));
    return spansAreTheRecords(whole, w) && isDeepStrictEqual(random, whole) && isDeepStrictEqual(single, whole) && isDeepStrictEqual(asString, whole);
  });

// ------------------------------------------------------------------------------------------------
// Deliberately broken scanners, for the meta-tests.
// ------------------------------------------------------------------------------------------------

/** Reads everything, then scans; in an array every `"` toggles "in a string" (escaped quotes ignored). */
async function* ignoresEscapes(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Out> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
  const bytes = Buffer.concat(parts);
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let line = 1;
  let record = 0;
  const blank = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
  while (i < bytes.length && blank(bytes[i]!)) if (bytes[i++] === 0x0a) line++;
  if (bytes[i] !== 0x5b) {
    // JSON Lines: good enough for the meta-test.
    let start = i;
    for (let j = i; j <= bytes.length; j++) {
      if (j === bytes.length || bytes[j] === 0x0a) {
        let s = start;
        let e = j;
        while (s < e && blank(bytes[s]!)) s++;
        while (e > s && blank(bytes[e - 1]!)) e--;
        if (e > s) yield { start: s, end: e, line, record: record++, bytes: bytes.subarray(s, e) };
        line++;
        start = j + 1;
      }
    }
    return;
  }
  let depth = 0;
  let inString = false;
  let start = -1;
  let startLine = 0;
  for (; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0a) line++;
    if (b === 0x22) {
      if (depth === 1 && start < 0) [start, startLine] = [i, line];
      inString = !inString; // the bug: `\"` ends the string
      continue;
    }
    if (inString) continue;
    if (depth === 1 && start < 0 && !blank(b) && b !== 0x2c && b !== 0x5d) [start, startLine] = [i, line];
    if (b === 0x5b || b === 0x7b) depth++;
    else if (b === 0x5d || b === 0x7d) {
      depth--;
      if (depth === 0) {
        if (start >= 0) yield { start, end: i, line: startLine, record: record++, bytes: bytes.subarray(start, i) };
        return;
      }
    } else if (b === 0x2c && depth === 1) {
      yield { start, end: i, line: startLine, record: record++, bytes: bytes.subarray(start, i) };
      start = -1;
    }
  }
  yield { line, message: 'not closed' };
}

/** Treats every chunk as a file of its own (forgets the record a chunk boundary cuts). */
async function* forgetsAcrossChunks(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Out> {
  for await (const c of chunks) yield* recordSpans(chunksOf([c]));
}

// ------------------------------------------------------------------------------------------------

/** A meta-test's verdict: the property failed on a counterexample (not by running out of time or preconditions). */
const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(result.failed && result.counterexample !== null && !result.interrupted, `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips, interrupted: result.interrupted })}`);

describe('recordSpans: JSON Lines', () => {
  it('one span per non-blank line: byte offsets, 1-based line, 0-based record, bytes without the line end', async () => {
    const out = await collect(recordSpans, ['{"a":1}\n{"b":2}\n']);
    assert.deepEqual(summary(out), [
      [1, 0, 0, 7, '{"a":1}'],
      [2, 1, 8, 15, '{"b":2}'],
    ]);
  });

  it('blank lines (spaces, tabs, CR) are skipped and counted; CRLF, leading and trailing blanks are not part of a record', async () => {
    const text = '\n  \t\r\n  {"a": "x"} \t\r\n\r\n\t{"b": 2}\r\n   \n{"c":3}  ';
    const out = await collect(recordSpans, [text]);
    const bytes = Buffer.from(text);
    assert.deepEqual(
      summary(out).map(([line, record, , , t]) => [line, record, t]),
      [
        [3, 0, '{"a": "x"}'],
        [5, 1, '{"b": 2}'],
        [7, 2, '{"c":3}'],
      ],
    );
    for (const s of spans(out)) assert.deepEqual(s.bytes, bytes.subarray(s.start, s.end));
    assert.deepEqual(problems(out), []);
  });

  it('a UTF-8 BOM is skipped (offsets still count its 3 bytes), also when it is split over chunks', async () => {
    const text = '\ufeff{"a":1}\n{"b":"é"}\n';
    const bytes = Buffer.from(text);
    const whole = await collect(recordSpans, [bytes]);
    assert.deepEqual(summary(whole), [
      [1, 0, 3, 10, '{"a":1}'],
      [2, 1, 11, 21, '{"b":"é"}'],
    ]);
    assert.deepEqual(await collect(recordSpans, [bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)]), whole);
  });

  it('a BOM that is not at the very start is content', async () => {
    const out = await collect(recordSpans, ['{"a":1}\n\ufeff{"b":2}\n']);
    assert.equal(spans(out)[1]!.bytes.toString(), '\ufeff{"b":2}');
  });

  it('an empty text, or only blanks, has no spans and no problems', async () => {
    assert.deepEqual(await collect(recordSpans, ['']), []);
    assert.deepEqual(await collect(recordSpans, []), []);
    assert.deepEqual(await collect(recordSpans, ['\n \r\n\t\n']), []);
  });

  it('a line that is not JSON is still a span (the caller parses and locates it)', async () => {
    assert.deepEqual(summary(await collect(recordSpans, ['{"a":1}\n{oops\n'])), [
      [1, 0, 0, 7, '{"a":1}'],
      [2, 1, 8, 13, '{oops'],
    ]);
  });

  it('a multi-byte character cut by a chunk boundary is whole in the span', async () => {
    const bytes = Buffer.from('{"e":"😀"}\n');
    for (let k = 6; k <= 9; k++) {
      const out = await collect(recordSpans, [bytes.subarray(0, k), bytes.subarray(k)]);
      assert.deepEqual(JSON.parse(spans(out)[0]!.bytes.toString('utf8')), { e: '😀' });
    }
  });
});

describe('recordSpans: one JSON array', () => {
  it('pretty-printed, with strings holding ] , { [ and escaped quotes, and nested arrays', async () => {
    const text = [
      '[', //                                        1
      '  {', //                                      2
      '    "query": "a ] b, c { d [ \\" e \\\\",', // 3
      '    "pos": [["x", ["y]"]], "z"]', //           4
      '  },', //                                     5
      '  "s\\"]",  [1, [2, [3]]]  ,', //              6
      '', //                                         7
      '  {"q": "}"}', //                             8
      ']', //                                        9
      '',
    ].join('\n');
    const out = await collect(recordSpans, [text]);
    assert.deepEqual(problems(out), []);
    const values = spans(out).map((s) => [s.line, s.record, JSON.parse(s.bytes.toString())]);
    assert.deepEqual(values, [
      [2, 0, { query: 'a ] b, c { d [ " e \\', pos: [['x', ['y]']], 'z'] }],
      [6, 1, 's"]'],
      [6, 2, [1, [2, [3]]]],
      [8, 3, { q: '}' }],
    ]);
    const bytes = Buffer.from(text);
    for (const s of spans(out)) assert.deepEqual(s.bytes, bytes.subarray(s.start, s.end));
  });

  it('an element starts at its first byte (after blanks and the comma) and ends before the comma or ]', async () => {
    assert.deepEqual(summary(await collect(recordSpans, ['[1,"b"]'])), [
      [1, 0, 1, 2, '1'],
      [1, 1, 3, 6, '"b"'],
    ]);
  });

  it('with a BOM, leading blank lines and CRLF', async () => {
    const out = await collect(recordSpans, ['\ufeff\r\n\r\n[\r\n  {"a": 1},\r\n  {"b": 2}\r\n]\r\n']);
    assert.deepEqual(
      spans(out).map((s) => [s.line, JSON.parse(s.bytes.toString())]),
      [
        [4, { a: 1 }],
        [5, { b: 2 }],
      ],
    );
    assert.deepEqual(problems(out), []);
  });

  it('an empty array has no spans and no problems', async () => {
    assert.deepEqual(await collect(recordSpans, ['[]']), []);
    assert.deepEqual(await collect(recordSpans, ['  [ \n ]\n\n']), []);
  });
});

describe('recordSpans: broken arrays are problems, located', () => {
  it('text after the closing ] is a problem on its line (the records before it are kept)', async () => {
    const out = await collect(recordSpans, ['[1,\n2]\n\n  [3]\n']);
    assert.deepEqual(summary(out).map(([, , , , t]) => t), ['1', '2']);
    assert.equal(problems(out).length, 1);
    assert.equal(problems(out)[0]!.line, 4);
    assert.match(problems(out)[0]!.message, /after the closing \]/);
  });

  it('an unclosed array is a problem at the end', async () => {
    for (const text of ['[\n{"a": 1},\n{"b": 2}\n', '[', '["a]"', '[{"a": [1, 2}']) {
      const out = await collect(recordSpans, [text]);
      assert.equal(problems(out).length, 1, JSON.stringify(text));
      assert.match(problems(out)[0]!.message, /not closed/);
    }
  });

  it('an empty element (two commas, or a comma right after [) is a problem on its line', async () => {
    const two = await collect(recordSpans, ['[\n1,\n  ,2]']);
    assert.equal(problems(two)[0]!.line, 3);
    assert.match(problems(two)[0]!.message, /empty element/);
    const first = await collect(recordSpans, ['[ , 1]']);
    assert.equal(spans(first).length, 0);
    assert.match(problems(first)[0]!.message, /empty element/);
  });

  it('a comma before the closing ] (an empty last element) is a problem, as JSON.parse of the array says', async () => {
    // JSON has no trailing commas; the previous loader (JSON.parse of the whole array) rejected this file.
    const out = await collect(recordSpans, ['[\n  {"a": 1},\n]\n']);
    assert.equal(problems(out).length, 1, `expected a problem, got ${JSON.stringify(out)}`);
  });

  it('a } where the array should close is a problem, not the end of the array', async () => {
    // `[{"a": 1}}` is not JSON; the previous loader rejected it.
    const out = await collect(recordSpans, ['[{"a": 1}}\n']);
    assert.equal(problems(out).length, 1, `expected a problem, got ${JSON.stringify(summary(out))}`);
  });
});

describe(`recordSpans properties (FC_SEED=${FC_SEED})`, () => {
  it('any JSON Lines or array text, cut into chunks any way (1-byte chunks, cuts inside UTF-8 characters): the same spans, and they are the records written', async () => {
    await fc.assert(chunkingProperty(recordSpans), fcParams({ numRuns: 500 }));
  });

  it('string chunks and Buffer chunks of the same text give the same spans', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (w) => isDeepStrictEqual(await collect(recordSpans, [w.text]), await collect(recordSpans, [Buffer.from(w.text)]))),
      fcParams({ numRuns: 100 }),
    );
  });

  it('meta: a scanner that ignores escaped quotes fails the chunking property', async () => {
    const result = await fc.check(chunkingProperty(ignoresEscapes), fcParams({ numRuns: 300 }));
    assertCaught(result);
  });

  it('meta: a scanner that forgets a record cut by a chunk boundary fails the chunking property', async () => {
    const result = await fc.check(chunkingProperty(forgetsAcrossChunks), fcParams({ numRuns: 300 }));
    assertCaught(result);
  });

  it('meta: the naive scanner passes on texts without escapes (so the meta-test fails for the right reason)', async () => {
    const plain = fc.constantFrom('[{"a": "x, ]"},\n 2, [3]]', '{"a": 1}\n\n{"b": "y"}\n');
    await fc.assert(
      fc.asyncProperty(plain, async (text) => isDeepStrictEqual(summary(await collect(ignoresEscapes, [text])), summary(await collect(recordSpans, [text])))),
      fcParams({ numRuns: 4 }),
    );
  });
});

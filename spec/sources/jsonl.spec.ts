/**
 * Reading one task file: JSON Lines (blank lines, CRLF, BOM, non-ASCII, malformed lines as
 * located Left values) or one JSON array (elements located at the line they start on).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import * as E from 'fp-ts/lib/Either.js';
import { toArray } from 'ix/asynciterable';
import type { Issue } from '../../lib/core/errors.js';
import type { Located } from '../../lib/core/model.js';
import { fromJsonl } from '../../lib/sources/jsonl.js';
import { writeTree } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Read = E.Either<Issue, Located<unknown>>;

/** Writes `content` as `name` and reads it back. */
const read = async (name: string, content: string): Promise<{ file: string; out: Read[] }> => {
  const file = join(writeTree({ [name]: content }), name);
  return { file, out: await toArray(fromJsonl(file)) };
};

/** Right values as [line, record, value]. */
const rights = (out: ReadonlyArray<Read>) => out.filter(E.isRight).map(({ right }) => [right.line, right.record, right.value]);
const lefts = (out: ReadonlyArray<Read>) => out.filter(E.isLeft).map(({ left }) => left);

describe('fromJsonl: JSON Lines', () => {
  it('one value per line, located by 1-based line and 0-based record, with the file', async () => {
    const { file, out } = await read('a.jsonl', '{"a":1}\n{"b":2}\n');
    assert.deepEqual(out, [E.right({ file, line: 1, record: 0, value: { a: 1 } }), E.right({ file, line: 2, record: 1, value: { b: 2 } })]);
  });

  it('blank and whitespace-only lines are skipped but still counted as lines', async () => {
    const { out } = await read('a.jsonl', '\n{"a":1}\n\n   \n\t\n{"b":2}\n\n');
    assert.deepEqual(rights(out), [
      [2, 0, { a: 1 }],
      [6, 1, { b: 2 }],
    ]);
  });

  it('CRLF line endings, and a last line without a newline', async () => {
    const { out } = await read('a.jsonl', '{"a":"x"}\r\n\r\n{"b":"y"}\r\n{"c":3}');
    assert.deepEqual(rights(out), [
      [1, 0, { a: 'x' }],
      [3, 1, { b: 'y' }],
      [4, 2, { c: 3 }],
    ]);
  });

  it('a UTF-8 byte order mark before the first line is not part of the record', async () => {
    const { out } = await read('a.jsonl', '\ufeff{"a":1}\n{"b":2}\n');
    assert.deepEqual(rights(out), [
      [1, 0, { a: 1 }],
      [2, 1, { b: 2 }],
    ]);
  });

  it('non-ASCII text comes back exactly (accents, CJK, RTL, emoji, astral math)', async () => {
    const values = [{ q: 'café naïve Straße' }, { q: '中文 日本語' }, { q: 'مرحبا שלום' }, { q: '😀 𝔽 ∑ ≤' }];
    const { out } = await read('a.jsonl', values.map((v) => JSON.stringify(v)).join('\n'));
    assert.deepEqual(
      rights(out).map(([, , v]) => v),
      values,
    );
  });

  it("multi-byte characters across the stream's read chunks are not split", async () => {
    // ~260 KB: several 64 KiB read chunks, each line mixing 2-, 3- and 4-byte UTF-8 sequences.
    const line = (i: number) => JSON.stringify({ i, q: `é中😀${'𝔽'.repeat(i % 7)}` });
    const lines = Array.from({ length: 8000 }, (_, i) => line(i));
    const { out } = await read('big.jsonl', lines.join('\n') + '\n');
    assert.equal(lefts(out).length, 0);
    assert.equal(out.length, 8000);
    out.forEach((r, i) => {
      assert.ok(E.isRight(r));
      assert.equal(r.right.line, i + 1);
      assert.deepEqual(r.right.value, JSON.parse(line(i)));
    });
  });

  it('a malformed line is a Left with its line and no field, and reading goes on', async () => {
    const { file, out } = await read('a.jsonl', '{"a":1}\n{"query": "q", "pos": [\n\n{"c":3}\nnot json\n{"d":4}\n');
    assert.deepEqual(
      out.map((r) => (E.isLeft(r) ? ['left', r.left.line] : ['right', r.right.line])),
      [
        ['right', 1],
        ['left', 2],
        ['right', 4],
        ['left', 5],
        ['right', 6],
      ],
    );
    for (const issue of lefts(out)) {
      assert.equal(issue.file, file);
      assert.equal(issue.field, undefined);
      assert.match(issue.message, /malformed JSON/);
    }
  });

  it('an empty file yields nothing, and so does a file of blank lines', async () => {
    assert.deepEqual((await read('empty.jsonl', '')).out, []);
    assert.deepEqual((await read('blank.jsonl', '\n  \n\r\n')).out, []);
  });

  it('a JSON document that is neither lines nor an array (an object over several lines) gives Lefts, no records', async () => {
    const { out } = await read('doc.json', '{\n  "query": "q",\n  "pos": ["p"],\n  "neg": []\n}\n');
    assert.ok(out.length > 0);
    assert.equal(rights(out).length, 0);
    assert.equal(lefts(out)[0]!.line, 1);
  });
});

describe('fromJsonl: one JSON array', () => {
  it('a pretty-printed array gives each element with the line it starts on', async () => {
    const text = [
      '[', //                                   1
      '  {', //                                 2
      '    "query": "a ] tricky \\" string [",', // 3
      '    "pos": ["p"]', //                     4
      '  },', //                                5
      '', //                                    6
      '  {"query": "b"}, 3, "s",', //           7
      '  [1,', //                               8
      '   2],', //                              9
      '  null', //                              10
      ']', //                                   11
    ].join('\n');
    const { file, out } = await read('a.json', text);
    assert.deepEqual(out, [
      E.right({ file, line: 2, record: 0, value: { query: 'a ] tricky " string [', pos: ['p'] } }),
      E.right({ file, line: 7, record: 1, value: { query: 'b' } }),
      E.right({ file, line: 7, record: 2, value: 3 }),
      E.right({ file, line: 7, record: 3, value: 's' }),
      E.right({ file, line: 8, record: 4, value: [1, 2] }),
      E.right({ file, line: 10, record: 5, value: null }),
    ]);
  });

  it('with a BOM, leading blank lines and CRLF', async () => {
    const { out } = await read('a.json', '\ufeff\r\n\r\n[\r\n  {"a": 1},\r\n  {"b": 2}\r\n]\r\n');
    assert.deepEqual(rights(out), [
      [4, 0, { a: 1 }],
      [5, 1, { b: 2 }],
    ]);
  });

  it('the first element on the bracket line; an empty array yields nothing', async () => {
    assert.deepEqual(rights((await read('a.json', '[{"a": 1},\n{"b": 2}]')).out), [
      [1, 0, { a: 1 }],
      [2, 1, { b: 2 }],
    ]);
    assert.deepEqual((await read('b.json', '[\n]\n')).out, []);
  });

  it('the repository sample (examples/data/untyped/batched.json) reads as 12 records', async () => {
    const out = await toArray(fromJsonl(join(ROOT, 'examples/data/untyped/batched.json')));
    assert.equal(out.length, 12);
    assert.ok(out.every(E.isRight));
    assert.equal((out[0] as E.Right<Located<unknown>>).right.line, 2);
  });

  it('a malformed element is a Left, and the other elements are still records (as in JSON Lines)', async () => {
    const { file, out } = await read('bad.json', '[\n  {"a": 1},\n  {"b": }\n]\n');
    assert.equal(out.length, 2);
    assert.deepEqual(rights(out), [[2, 0, { a: 1 }]]);
    const [issue] = lefts(out);
    assert.equal(issue!.file, file);
    assert.match(issue!.message, /malformed JSON/);
  });

  it('a malformed array is located at the line of the error', async () => {
    // The syntax error ("b": }) sits on line 3.
    const { out } = await read('bad.json', '[\n  {"a": 1},\n  {"b": }\n]\n');
    assert.equal(lefts(out)[0]!.line, 3);
  });

  it('text after the closing ] is a Left on its line', async () => {
    const { out } = await read('two.json', '[1]\n[2]\n');
    assert.equal(out.length, 2);
    assert.equal(lefts(out)[0]!.line, 2);
    assert.match(lefts(out)[0]!.message, /malformed JSON array: unexpected text after/);
  });

  it('an unclosed array is a Left', async () => {
    const { out } = await read('open.json', '[\n{"a": 1},\n{"b": 2}\n');
    assert.match(lefts(out)[0]!.message, /not closed/);
  });
});

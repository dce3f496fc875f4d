/**
 * How `datasets` types a dataset's columns and when it refuses to load one (hfSchema, through
 * loadResearchDataset): every case is checked here, and run through Python's `load_dataset` when the
 * oracle's venv is present, which must agree (loads, or fails).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RecordError } from '../../lib/core/errors.js';
import { castProblem, kindOfJsonText, mergeKinds } from '../../lib/sources/hfSchema.js';
import { JSON_CHUNK_BYTES } from '../../lib/sources/jsonRows.js';
import { loadResearchDataset } from '../../lib/sources/researchDataset.js';
import { needsOraclePython, runPython } from '../helpers/oracle.js';
import { writeTree } from '../helpers/tmp.js';

const row = (extra: Readonly<Record<string, unknown>> = {}) => ({ query: 'q', pos: ['p'], neg: ['n'], prompt: 'P', type: 'normal', ...extra });
const lines = (...rows: ReadonlyArray<Readonly<Record<string, unknown>>>) => rows.map((r) => JSON.stringify(row(r))).join('\n') + '\n';

interface Case {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
  /** null: loads; else the file and field of the RecordError. */
  readonly fails: { readonly file: string; readonly field: string } | null;
}

const CASES: ReadonlyArray<Case> = [
  { name: 'a column missing from a later file is null there', files: { 'a.jsonl': lines({ c: 'x' }), 'b.jsonl': lines({}) }, fails: null },
  { name: 'a column a later file adds fails', files: { 'a.jsonl': lines({}), 'b.jsonl': lines({ c: 'x' }) }, fails: { file: 'b.jsonl', field: 'c' } },
  { name: 'all null in the first file, text later, fails', files: { 'a.jsonl': lines({ c: null }), 'b.jsonl': lines({ c: 'x' }) }, fails: { file: 'b.jsonl', field: 'c' } },
  { name: 'integers first, fractions later, fail', files: { 'a.jsonl': lines({ s: [1] }), 'b.jsonl': lines({ s: [1.5] }) }, fails: { file: 'b.jsonl', field: 's' } },
  { name: 'integers first, integral floats later, load', files: { 'a.jsonl': lines({ s: [2] }), 'b.jsonl': lines({ s: [3.0] }) }, fails: null },
  { name: 'floats first, integers later, load', files: { 'a.jsonl': lines({ s: [1.5] }), 'b.jsonl': lines({ s: [2] }) }, fails: null },
  { name: 'integers and floats in one file are floats', files: { 'a.jsonl': lines({ s: [1] }, { s: [1.5] }), 'b.jsonl': lines({ s: [0.25] }) }, fails: null },
  { name: 'empty lists first, text items later, fail', files: { 'a.jsonl': lines({ s: [] }), 'b.jsonl': lines({ s: ['x'] }) }, fails: { file: 'b.jsonl', field: 's' } },
  { name: 'booleans first, integers later, load (cast to bool)', files: { 'a.jsonl': lines({ c: true }), 'b.jsonl': lines({ c: 1 }) }, fails: null },
  { name: 'text first, a list later, fails', files: { 'a.jsonl': lines({ c: 'x' }), 'b.jsonl': lines({ c: ['x'] }) }, fails: { file: 'b.jsonl', field: 'c' } },
  { name: 'integers first, numeric text later, load', files: { 'a.jsonl': lines({ c: 1 }), 'b.jsonl': lines({ c: '2' }) }, fails: null },
  { name: 'integers first, other text later, fail', files: { 'a.jsonl': lines({ c: 1 }), 'b.jsonl': lines({ c: 'x' }) }, fails: { file: 'b.jsonl', field: 'c' } },
  { name: 'text first, numbers and booleans later, load (as text)', files: { 'a.jsonl': lines({ c: 'x' }), 'b.jsonl': lines({ c: 1.5 }, { c: true }) }, fails: null },
  { name: 'text and numbers in the first file make a Json column', files: { 'a.jsonl': lines({ c: 'x' }, { c: 3 }) }, fails: null },
  { name: 'structs with other fields fail', files: { 'a.jsonl': lines({ m: { x: 1 } }), 'b.jsonl': lines({ m: { y: 'z' } }) }, fails: { file: 'b.jsonl', field: 'm' } },
  { name: 'a split with an extra column fails', files: { 'train.jsonl': lines({}), 'test.jsonl': lines({ c: 'x' }) }, fails: { file: 'test.jsonl', field: 'c' } },
  { name: 'a split missing a column loads', files: { 'train.jsonl': lines({ c: 'x' }), 'test.jsonl': lines({}) }, fails: null },
  { name: 'a first file of blank lines fixes no columns: the next fails', files: { 'a.jsonl': '\n\n', 'b.jsonl': lines({}) }, fails: { file: 'b.jsonl', field: 'query' } },
  { name: 'an empty file before others in a split fails (datasets indexes past its row counts)', files: { 'a.jsonl': '', 'b.jsonl': lines({}) }, fails: { file: 'a.jsonl', field: undefined as unknown as string } },
  { name: 'an empty last file does not count', files: { 'a.jsonl': lines({}), 'b.jsonl': '' }, fails: null },
  { name: 'text in a later file where values of mixed types are, loads', files: { 'a.jsonl': lines({ c: 'x' }), 'b.jsonl': lines({ c: 'y' }, { c: 2 }) }, fails: null },
  {
    name: "the card's features type the null column",
    files: { 'README.md': '---\ndataset_info:\n  features:\n  - {name: query, dtype: string}\n  - {name: pos, list: string}\n  - {name: neg, list: string}\n  - {name: prompt, dtype: string}\n  - {name: type, dtype: string}\n  - {name: c, dtype: string}\n---\n', 'a.jsonl': lines({ c: null }), 'b.jsonl': lines({ c: 'x' }) },
    fails: null,
  },
];

/** Python's verdict on each folder ('ok' or the exception), in one process (importing datasets takes seconds). */
const pythonLoads = (dirs: ReadonlyArray<string>): string[] =>
  runPython(
    [
      'import sys, tempfile, datasets',
      'datasets.disable_progress_bars()',
      'for d in sys.stdin.read().split(chr(10)):',
      '    try:',
      '        datasets.load_dataset(d, cache_dir=tempfile.mkdtemp())',
      "        print('ok')",
      '    except Exception as e:',
      "        print(type(e).__name__, str(e.__cause__ or e)[:300].replace(chr(10), ' '))",
    ].join('\n'),
    dirs.join('\n'),
  )
    .trim()
    .split('\n');

describe('hfSchema: column types and casts as datasets applies them', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const dir = writeTree(c.files);
      if (c.fails === null) {
        await loadResearchDataset(dir);
        return;
      }
      await assert.rejects(loadResearchDataset(dir), (e: unknown) => e instanceof RecordError && e.file === join(dir, c.fails!.file) && e.field === c.fails!.field);
    });
  }

  it('a column first seen past the first 10 MiB chunk of the first file fails at that chunk (datasets types chunk by chunk)', async () => {
    const dir = writeTree({});
    const filler = JSON.stringify(row({ pad: 'x'.repeat(1000) }));
    const n = Math.ceil(JSON_CHUNK_BYTES / (filler.length + 1)) + 10;
    const text = Array.from({ length: n }, () => filler).join('\n') + '\n' + JSON.stringify(row({ pad: 'y', extra: 'late' })) + '\n';
    writeFileSync(join(dir, 'train.jsonl'), text);
    await assert.rejects(loadResearchDataset(dir), (e: unknown) => e instanceof RecordError && e.field === 'extra' && e.line > 1);
    // Within the first chunk the same column is merged into the features.
    const small = writeTree({ 'train.jsonl': lines({}, { extra: 'early' }) });
    await loadResearchDataset(small);
  });

  it('kinds: number tokens decide int or float, and merge as pyarrow infers', () => {
    assert.deepEqual(kindOfJsonText('[1, 1.0, 2e3]'), { k: 'list', item: { k: 'float', integral: true } });
    assert.deepEqual(kindOfJsonText('{"a": [1, 2], "b": "3"}'), { k: 'struct', fields: [['a', { k: 'list', item: { k: 'int' } }], ['b', { k: 'string', numeric: 'int' }]] });
    assert.deepEqual(mergeKinds({ k: 'bool' }, { k: 'int' }), { k: 'mixed' });
    assert.equal(castProblem({ k: 'float', integral: false }, { k: 'int' }), 'cannot cast float64 to int64 (a value has a fraction)');
    assert.equal(castProblem({ k: 'null' }, { k: 'list', item: { k: 'string', numeric: 'no' } }), null);
  });

  it('Python datasets agrees on every case', needsOraclePython(), () => {
    const verdicts = pythonLoads(CASES.map((c) => writeTree(c.files)));
    CASES.forEach((c, i) => {
      if (c.fails === null) assert.equal(verdicts[i], 'ok', c.name);
      else assert.notEqual(verdicts[i], 'ok', `${c.name}: Python loads it`);
    });
  });
});

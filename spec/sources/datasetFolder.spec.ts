/**
 * resolveDatasetFolder: which files form which split, in which order, as `datasets.load_dataset(path)`
 * decides it. Every layout's expectation is checked here, and again against Python's own
 * `load_dataset_builder` when the oracle's venv is on the machine.
 */
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../lib/core/errors.js';
import { resolveDatasetFolder } from '../../lib/sources/datasetFolder.js';
import { globToRegExp } from '../../lib/sources/hfGlob.js';
import { needsOraclePython, runPython } from '../helpers/oracle.js';
import { writeTree } from '../helpers/tmp.js';

const R = '{"query": "q"}\n';
const card = (yaml: string) => `---\n${yaml}\n---\n# A dataset\n`;

interface Layout {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
  /** Expected splits → files relative to the folder, and format; or an error pattern. */
  readonly expected: { readonly format: string; readonly splits: Readonly<Record<string, ReadonlyArray<string>>>; readonly config?: string } | RegExp;
}

const LAYOUTS: ReadonlyArray<Layout> = [
  { name: 'a folder of other files is split train, in path order', files: { 'b.jsonl': R, 'a.jsonl': R, 'x/c.jsonl': R, 'README.md': '# hi\n' }, expected: { format: 'json', splits: { train: ['a.jsonl', 'b.jsonl', 'x/c.jsonl'] } } },
  {
    name: 'split keywords in file names: train, validation, test; other files not loaded',
    files: { 'test.jsonl': R, 'train.jsonl': R, 'dev.jsonl': R, 'other.jsonl': R, 'my_eval-2.jsonl': R },
    expected: { format: 'json', splits: { train: ['train.jsonl'], validation: ['dev.jsonl'], test: ['test.jsonl', 'my_eval-2.jsonl'] } },
  },
  {
    name: 'a file two patterns name is listed twice',
    files: { 'train_train.jsonl': R, 'x/train.jsonl': R, 'a_test.jsonl': R, 'y/dev-1.jsonl': R, 'notes.txt': 'x\n' },
    expected: { format: 'json', splits: { train: ['train_train.jsonl', 'x/train.jsonl', 'train_train.jsonl'], validation: ['y/dev-1.jsonl'], test: ['a_test.jsonl'] } },
  },
  { name: 'split keywords in folder names win over file names', files: { 'train/a.jsonl': R, 'valid/x.jsonl': R, 'zz/train.jsonl': R, 'test.jsonl': R }, expected: { format: 'json', splits: { train: ['train/a.jsonl'], validation: ['valid/x.jsonl'] } } },
  {
    name: 'data/{split}-00000-of-00001 names: train, validation, test, then the rest sorted',
    files: { 'data/zoo-00000-of-00001.jsonl': R, 'data/train-00001-of-00002.jsonl': R, 'data/train-00000-of-00002.jsonl': R, 'data/alpha-00000-of-00001.jsonl': R, 'data/test-00000-of-00001.jsonl': R },
    expected: { format: 'json', splits: { train: ['data/train-00000-of-00002.jsonl', 'data/train-00001-of-00002.jsonl'], test: ['data/test-00000-of-00001.jsonl'], alpha: ['data/alpha-00000-of-00001.jsonl'], zoo: ['data/zoo-00000-of-00001.jsonl'] } },
  },
  { name: 'hidden files and __special__ folders are left out', files: { '.h.jsonl': R, '__x/a.jsonl': R, 'b.jsonl': R, '.git/c.jsonl': R }, expected: { format: 'json', splits: { train: ['b.jsonl'] } } },
  {
    name: 'YAML configs: named splits in card order, list and glob patterns',
    files: {
      'README.md': card('configs:\n- config_name: default\n  data_files:\n  - split: zeta\n    path: z.jsonl\n  - split: alpha\n    path: [a.jsonl, "b*.jsonl"]'),
      'z.jsonl': R, 'a.jsonl': R, 'b2.jsonl': R, 'b1.jsonl': R,
    },
    expected: { format: 'json', splits: { zeta: ['z.jsonl'], alpha: ['a.jsonl', 'b1.jsonl', 'b2.jsonl'] } },
  },
  { name: 'YAML configs: a string pattern is split train', files: { 'README.md': card('configs:\n- config_name: default\n  data_files: "*.jsonl"'), 'z.jsonl': R, 'a.jsonl': R, 'sub/b.jsonl': R }, expected: { format: 'json', splits: { train: ['a.jsonl', 'z.jsonl'] } } },
  {
    name: 'YAML configs: data_dir without data_files uses the split patterns there',
    files: { 'README.md': card('configs:\n- config_name: foo\n  data_dir: sub'), 'sub/train.jsonl': R, 'sub/test.jsonl': R, 'x.jsonl': R },
    expected: { format: 'json', config: 'foo', splits: { train: ['sub/train.jsonl'], test: ['sub/test.jsonl'] } },
  },
  {
    name: 'YAML configs: the one marked default',
    files: { 'README.md': card('configs:\n- config_name: foo\n  data_files: a.jsonl\n- config_name: bar\n  default: true\n  data_files: z.jsonl'), 'z.jsonl': R, 'a.jsonl': R },
    expected: { format: 'json', config: 'bar', splits: { train: ['z.jsonl'] } },
  },
  { name: 'YAML configs: several and no default is an error', files: { 'README.md': card('configs:\n- config_name: foo\n  data_files: a.jsonl\n- config_name: bar\n  data_files: z.jsonl'), 'z.jsonl': R, 'a.jsonl': R }, expected: /several configs|Config name is missing/ },
  { name: 'Parquet files', files: { 'train.parquet': 'PAR1', 'test.parquet': 'PAR1' }, expected: { format: 'parquet', splits: { train: ['train.parquet'], test: ['test.parquet'] } } },
  { name: 'a tie between formats in a split favours Parquet', files: { 'a.jsonl': R, 'b.parquet': 'PAR1' }, expected: { format: 'parquet', splits: { train: ['b.parquet'] } } },
  { name: 'the most common format in a split wins', files: { 'a.jsonl': R, 'c.jsonl': R, 'b.parquet': 'PAR1' }, expected: { format: 'json', splits: { train: ['a.jsonl', 'c.jsonl'] } } },
  { name: 'splits in different formats are an error', files: { 'train.jsonl': R, 'test.parquet': 'PAR1' }, expected: /different formats|same data file format/ },
  { name: 'a folder without data files is an error', files: { 'README.md': '# nothing\n' }, expected: /doesn't contain any data files|data files/ },
  { name: 'CSV files are not read', files: { 'a.csv': 'query\nq\n' }, expected: /csv/ },
];

const resolved = async (dir: string) => {
  const r = await resolveDatasetFolder(dir);
  return { format: r.format, config: r.config, splits: Object.fromEntries(r.splits.map((s) => [s.name, s.files.map((f) => relative(dir, f))])) };
};

describe('resolveDatasetFolder (load_dataset on a local folder)', () => {
  for (const layout of LAYOUTS) {
    it(layout.name, async () => {
      const dir = writeTree(layout.files);
      const { expected } = layout;
      if (expected instanceof RegExp) {
        await assert.rejects(resolveDatasetFolder(dir), (e: unknown) => e instanceof ConfigError && e.option === 'train_data' && expected.test(e.message));
        return;
      }
      const actual = await resolved(dir);
      assert.equal(actual.format, expected.format);
      assert.deepEqual(Object.keys(actual.splits), Object.keys(expected.splits), 'split order');
      assert.deepEqual(actual.splits, expected.splits);
      if (expected.config !== undefined) assert.equal(actual.config, expected.config);
    });
  }

  it('one file is split train (where load_dataset(path) fails: a deliberate difference)', async () => {
    const dir = writeTree({ 'data.jsonl': R });
    const r = await resolveDatasetFolder(`${dir}/data.jsonl`);
    assert.deepEqual(r.splits, [{ name: 'train', files: [`${dir}/data.jsonl`] }]);
    await assert.rejects(resolveDatasetFolder(`${dir}/nope.jsonl`), ConfigError);
    const txt = writeTree({ 'a.txt': 'x' });
    await assert.rejects(resolveDatasetFolder(`${txt}/a.txt`), ConfigError);
  });

  it('reports files load_dataset passes over', async () => {
    const dir = writeTree({ 'train.jsonl': R, 'other.jsonl': R, 'c.parquet': 'PAR1', 'd.jsonl': R, 'test_x.parquet': 'PAR1', 'test_y.jsonl': R, 'test_z.jsonl': R });
    const r = await resolveDatasetFolder(dir);
    const skipped = r.events.map((e) => (e.kind === 'fileSkipped' ? `${relative(dir, e.file)}:${e.reason}` : e.kind)).sort();
    assert.deepEqual(skipped, ['c.parquet:no-split', 'd.jsonl:no-split', 'other.jsonl:no-split', 'test_x.parquet:other-format']);
  });

  it('card features come from dataset_info (the YAML list form)', async () => {
    const dir = writeTree({ 'README.md': card('dataset_info:\n  features:\n  - name: query\n    dtype: string\n  - name: pos_scores\n    list: float64'), 'a.jsonl': R });
    const r = await resolveDatasetFolder(dir);
    assert.deepEqual(r.features, [
      { name: 'query', feature: { kind: 'value', dtype: 'string' } },
      { name: 'pos_scores', feature: { kind: 'list', feature: { kind: 'value', dtype: 'float64' }, large: false } },
    ]);
  });

  it('glob patterns translate as fsspec translates them', () => {
    const cases: ReadonlyArray<readonly [string, string, boolean]> = [
      ['/d/**/train[-._ 0-9]*', '/d/train.jsonl', true],
      ['/d/**/train[-._ 0-9]*', '/d/x/y/train-3.jsonl', true],
      ['/d/**/train[-._ 0-9]*', '/d/training.jsonl', false],
      ['/d/*.jsonl', '/d/x/a.jsonl', false],
      ['/d/**', '/d/x/a.jsonl', true],
      ['/d/[!a]*.jsonl', '/d/a.jsonl', false],
      ['/d/[!a]*.jsonl', '/d/b.jsonl', true],
      ['/d/?.jsonl', '/d/é.jsonl', true],
      ['/d/[]x].jsonl', '/d/].jsonl', true],
      ['/d/[z-a].jsonl', '/d/m.jsonl', false],
    ];
    for (const [pattern, path, matches] of cases) assert.equal(globToRegExp(pattern).test(path), matches, `${pattern} ~ ${path}`);
    assert.throws(() => globToRegExp('/d/a**b'), ConfigError);
  });

  it('every layout resolves as Python datasets resolves it', needsOraclePython(), () => {
    const dirs = LAYOUTS.map((layout) => writeTree(layout.files));
    const results = runPython(
      [
        'import sys, json, os, tempfile, datasets',
        'datasets.disable_progress_bars()',
        'for d in sys.stdin.read().split(chr(10)):',
        '    try:',
        '        b = datasets.load_dataset_builder(d, cache_dir=tempfile.mkdtemp())',
        "        print(json.dumps({'format': b.name, 'config': b.config.name, 'splits': {str(k): [os.path.relpath(f, d) for f in v] for k, v in b.config.data_files.items()}}))",
        '    except Exception as e:',
        "        print(json.dumps({'error': type(e).__name__ + ': ' + str(e)}))",
      ].join('\n'),
      dirs.join('\n'),
    )
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { format?: string; config?: string; splits?: Record<string, string[]>; error?: string });
    LAYOUTS.forEach((layout, i) => {
      const python = results[i]!;
      if (layout.expected instanceof RegExp) {
        assert.ok(python.error !== undefined || python.format === 'csv', `${layout.name}: Python loads it (${JSON.stringify(python)})`);
        return;
      }
      assert.equal(python.error, undefined, `${layout.name}: ${python.error}`);
      assert.equal(python.format, layout.expected.format, layout.name);
      assert.deepEqual(python.splits, layout.expected.splits, layout.name);
      if (layout.expected.config !== undefined) assert.equal(python.config, layout.expected.config, layout.name);
    });
  });
});

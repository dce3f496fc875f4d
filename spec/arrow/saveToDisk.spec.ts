/**
 * lib/arrow: `save_to_disk` folders written here read back here and in Python's `datasets`
 * (`load_from_disk`, `Dataset.from_file`), and folders Python wrote read here, row for row.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { RecordBatchStreamWriter } from 'apache-arrow';
import { ConfigError } from '../../lib/core/errors.js';
import { featuresFromJson, featuresFromYaml, featuresToJson, listOf, structOf, value, type Features } from '../../lib/arrow/features.js';
import { openSavedDataset, readSavedRows } from '../../lib/arrow/savedDataset.js';
import { createShardWriter, parseFileSize, saveToDisk, shardBounds } from '../../lib/arrow/saveToDisk.js';
import { recordBatchOf, type Row } from '../../lib/arrow/values.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { needsOraclePython, runPython } from '../helpers/oracle.js';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-arrow-'));

const FEATURES: Features = [
  { name: 'query', feature: value('string') },
  { name: 'pos', feature: listOf(value('string')) },
  { name: 'scores', feature: listOf(value('float64')) },
  { name: 'steps', feature: value('int64') },
  { name: 'flag', feature: value('bool') },
  { name: 'meta', feature: structOf([{ name: 'lang', feature: value('string') }, { name: 'n', feature: value('int32') }]) },
  { name: 'q_ids', feature: listOf(listOf(value('int32'))) },
];

const ROWS: Row[] = [
  { query: 'Why does bread go stale?', pos: ['Starch recrystallises.'], scores: [0.5, null], steps: 1, flag: true, meta: { lang: 'en', n: 1 }, q_ids: [[1, 2], [3]] },
  { query: null, pos: [], scores: null, steps: 2 ** 40, flag: false, meta: null, q_ids: [] },
  { query: 'Wie spät ist es? ⏰ 𝔽', pos: null, scores: [1], steps: null, flag: null, meta: { lang: 'de', n: null }, q_ids: null },
  { query: 'q3', pos: ['a', 'b'], scores: [], steps: -3, flag: true, meta: { lang: null, n: 4 }, q_ids: [[0, -1, 2147483647]] },
  { query: 'q4', pos: ['c'], scores: [2.25], steps: 0, flag: false, meta: { lang: 'x', n: 5 }, q_ids: [[]] },
];

const rowsOf = (rows: ReadonlyArray<Row>) => async function* (start: number, end: number) {
  for (let i = start; i < end; i++) yield rows[i]!;
};

describe('lib/arrow features', () => {
  it('the JSON form round-trips, key order kept', () => {
    const json = featuresToJson(FEATURES);
    assert.deepEqual(Object.keys(json), FEATURES.map((f) => f.name));
    assert.deepEqual(featuresFromJson(json, 'x'), FEATURES);
    assert.deepEqual(json['pos'], { feature: { dtype: 'string', _type: 'Value' }, _type: 'List' });
  });

  it("reads datasets' aliases and the legacy Sequence", () => {
    assert.deepEqual(
      featuresFromJson({ a: { dtype: 'double', _type: 'Value' }, b: { feature: { dtype: 'string', _type: 'Value' }, length: -1, _type: 'Sequence' } }, 'x'),
      [{ name: 'a', feature: value('float64') }, { name: 'b', feature: listOf(value('string')) }],
    );
  });

  it('reads the YAML list form of a dataset card', () => {
    assert.deepEqual(
      featuresFromYaml(
        [
          { name: 'query', dtype: 'string' },
          { name: 'pos', list: 'string' },
          { name: 'scores', sequence: { dtype: 'float32' } },
          { name: 'meta', struct: [{ name: 'lang', dtype: 'string' }] },
          { name: 'big', large_list: 'int64' },
        ],
        'README.md',
      ),
      [
        { name: 'query', feature: value('string') },
        { name: 'pos', feature: listOf(value('string')) },
        { name: 'scores', feature: listOf(value('float32')) },
        { name: 'meta', feature: structOf([{ name: 'lang', feature: value('string') }]) },
        { name: 'big', feature: listOf(value('int64'), true) },
      ],
    );
  });

  it('an unsupported feature is a ConfigError naming where it is', () => {
    assert.throws(() => featuresFromJson({ label: { names: ['a'], _type: 'ClassLabel' } }, 'dataset_info.json'), (e: unknown) => e instanceof ConfigError && /dataset_info\.json: label/.test(e.message) && /ClassLabel/.test(e.message));
    assert.throws(() => featuresFromYaml([{ name: 'x', dtype: 'timestamp[s]' }], 'README.md'), ConfigError);
  });
});

describe('lib/arrow save_to_disk folders', () => {
  it('rows written come back equal, across shards and record batches', async () => {
    const dir = tmp();
    const saved = await saveToDisk(dir, rowsOf(ROWS), { features: FEATURES, rows: ROWS.length, numShards: 2, batchRows: 2 });
    assert.deepEqual(readdirSync(dir).sort(), ['data-00000-of-00002.arrow', 'data-00001-of-00002.arrow', 'dataset_info.json', 'state.json']);
    assert.deepEqual(saved.shards.map((s) => s.rows), [3, 2]);
    const opened = await openSavedDataset(dir);
    assert.deepEqual(opened.features, FEATURES);
    assert.equal(opened.rows, 5);
    assert.deepEqual(opened.shards.map((s) => s.index.batches.map((b) => b.rows)), [[2, 1], [2]]);
    assert.deepEqual(await readSavedRows(opened, [4, 0, 2, 1, 3]), [ROWS[4], ROWS[0], ROWS[2], ROWS[1], ROWS[3]]);
  });

  it('writing batch by batch gives the bytes of one apache-arrow stream writer', async () => {
    const dir = tmp();
    const path = join(dir, 'one.arrow');
    const writer = await createShardWriter(path, FEATURES, { batchRows: 2 });
    await writer.write(ROWS);
    await writer.close();
    const whole = RecordBatchStreamWriter.writeAll([recordBatchOf(FEATURES, ROWS.slice(0, 2)), recordBatchOf(FEATURES, ROWS.slice(2, 4)), recordBatchOf(FEATURES, ROWS.slice(4))]).toUint8Array(true);
    assert.deepEqual(new Uint8Array(readFileSync(path)), whole);
  });

  it('the same rows give byte-identical folders (and the same fingerprint)', async () => {
    const a = tmp();
    const b = tmp();
    const x = await saveToDisk(a, rowsOf(ROWS), { features: FEATURES, rows: ROWS.length, numShards: 3 });
    const y = await saveToDisk(b, rowsOf(ROWS), { features: FEATURES, rows: ROWS.length, numShards: 3 });
    assert.equal(x.fingerprint, y.fingerprint);
    for (const name of readdirSync(a)) assert.deepEqual(readFileSync(join(a, name)), readFileSync(join(b, name)), name);
  });

  it('an aborted shard leaves nothing behind', async () => {
    const dir = tmp();
    const writer = await createShardWriter(join(dir, 'x.arrow'), FEATURES);
    await writer.write(ROWS.slice(0, 1));
    await writer.abort();
    assert.deepEqual(readdirSync(dir), []);
  });

  it(`shardBounds cuts rows as Dataset.shard(contiguous=True) (fc seed ${FC_SEED})`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 40 }), (rows, count) => {
        const bounds = Array.from({ length: count }, (_, i) => shardBounds(rows, count, i));
        const sizes = bounds.map(([s, e]) => e - s);
        return (
          bounds[0]![0] === 0 &&
          bounds[count - 1]![1] === rows &&
          bounds.every(([, e], i) => i + 1 === count || bounds[i + 1]![0] === e) &&
          Math.max(...sizes) - Math.min(...sizes) <= 1 &&
          sizes.every((s, i) => i === 0 || s <= sizes[i - 1]!)
        );
      }),
      fcParams(),
    );
  });

  it('parses sizes as datasets does', () => {
    assert.equal(parseFileSize('50GB'), 50e9);
    assert.equal(parseFileSize('1MiB'), 2 ** 20);
    assert.equal(parseFileSize('8Mb'), 1e6);
    assert.equal(parseFileSize(123), 123);
    assert.throws(() => parseFileSize('lots'), ConfigError);
  });

  it('max_shard_size chooses ⌊bytes / max⌋ + 1 shards, at most one per row', async () => {
    const rows: Row[] = Array.from({ length: 40 }, (_, i) => ({ query: 'x'.repeat(100), pos: [String(i)], scores: null, steps: i, flag: null, meta: null, q_ids: null }));
    const saved = await saveToDisk(tmp(), rowsOf(rows), { features: FEATURES, rows: rows.length, maxShardSize: '1KB' });
    assert.ok(saved.shards.length > 1 && saved.shards.length <= 40, `${saved.shards.length} shards`);
    const one = await saveToDisk(tmp(), rowsOf(rows), { features: FEATURES, rows: rows.length, maxShardSize: '50GB' });
    assert.equal(one.shards.length, 1);
  });

  it('a folder without state.json or dataset_info.json, or with a missing shard, is a ConfigError naming it', async () => {
    const dir = tmp();
    await assert.rejects(openSavedDataset(dir), (e: unknown) => e instanceof ConfigError && /state\.json and dataset_info\.json/.test(e.message));
    writeFileSync(join(dir, 'dataset_dict.json'), '{"splits": ["train"]}');
    await assert.rejects(openSavedDataset(dir), (e: unknown) => e instanceof ConfigError && /DatasetDict/.test(e.message));
    const saved = tmp();
    await saveToDisk(saved, rowsOf(ROWS), { features: FEATURES, rows: ROWS.length, numShards: 2 });
    writeFileSync(join(saved, 'state.json'), JSON.stringify({ _data_files: [{ filename: 'data-00000-of-00002.arrow' }, { filename: 'gone.arrow' }] }));
    await assert.rejects(openSavedDataset(saved), (e: unknown) => e instanceof ConfigError && /gone\.arrow/.test(e.message));
  });

  it('a shard whose columns differ from dataset_info.json is a ConfigError', async () => {
    const dir = tmp();
    await saveToDisk(dir, rowsOf(ROWS), { features: FEATURES, rows: ROWS.length, numShards: 1 });
    const info = JSON.parse(readFileSync(join(dir, 'dataset_info.json'), 'utf8')) as { features: Record<string, unknown> };
    info.features['steps'] = { dtype: 'string', _type: 'Value' };
    writeFileSync(join(dir, 'dataset_info.json'), JSON.stringify(info));
    await assert.rejects(openSavedDataset(dir), (e: unknown) => e instanceof ConfigError && /steps/.test(e.message) && /don't match/.test(e.message));
  });

  it('reads a folder written by Python datasets.save_to_disk (committed fixture)', async () => {
    const expected = JSON.parse(readFileSync(join(here, 'fixtures', 'python-saved.expected.json'), 'utf8')) as { rows: Row[]; features: unknown };
    const opened = await openSavedDataset(join(here, 'fixtures', 'python-saved'));
    assert.deepEqual(opened.features, featuresFromJson(expected.features, 'expected'));
    assert.deepEqual(await readSavedRows(opened, expected.rows.map((_, i) => i)), expected.rows);
  });

  it("Python's load_from_disk and Dataset.from_file read a folder written here, row for row", needsOraclePython(), async () => {
    const dir = tmp();
    await saveToDisk(dir, rowsOf(ROWS), { features: FEATURES, rows: ROWS.length, numShards: 2, batchRows: 2 });
    const out = runPython(
      [
        'import sys, json, datasets',
        'datasets.disable_progress_bars()',
        'ds = datasets.load_from_disk(sys.argv[1] if len(sys.argv) > 1 else input())',
        'one = datasets.Dataset.from_file(ds.cache_files[0]["filename"])',
        'print(json.dumps({"rows": ds.to_list(), "features": ds.features.to_dict(), "first_shard": one.to_list()}))',
      ].join('\n'),
      dir,
    );
    const python = JSON.parse(out) as { rows: Row[]; features: unknown; first_shard: Row[] };
    assert.deepEqual(python.rows, ROWS);
    assert.deepEqual(python.first_shard, ROWS.slice(0, 3));
    assert.deepEqual(featuresFromJson(python.features, 'python'), FEATURES);
  });
});

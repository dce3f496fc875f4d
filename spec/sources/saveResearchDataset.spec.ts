/**
 * The research flavor's save_to_disk: the same rows, features and `.log` as the research module
 * writes (compared with examples/research/saved-by-python, which the module itself saved), skipped
 * when a `.log` is there, and `exit_after_save` yields no batch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toArray } from 'ix/asynciterable';
import { openSavedDataset, readSavedRows } from '../../lib/arrow/savedDataset.js';
import { collectReport } from '../../lib/core/report.js';
import { researchBatches } from '../../lib/pipelines/research.js';
import { prepareResearchDataset } from '../../lib/sources/datasetSplits.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { needsOraclePython, runPython } from '../helpers/oracle.js';

const PYTHON_SAVED = 'examples/research/saved-by-python';
const tmp = () => join(mkdtempSync(join(tmpdir(), 'llm-retriever-data-save-')), 'saved');
const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('research save_to_disk', () => {
  it("writes the module's .log byte for byte, and the rows and features it saved", async () => {
    const dir = tmp();
    // The module's own run: train_data examples/research/jsonl-configs, per-device 6, symmetric_batch_size 12, 2 ranks, num_shards 2.
    const { saved } = await prepareResearchDataset({ trainData: 'examples/research/jsonl-configs', saveToDisk: true, saveDiskPath: dir, numShards: 2, perDeviceTrainBatchSize: 6, symmetricBatchSize: 12, worldSize: 2 });
    assert.deepEqual(saved, { saved: true, dir, shards: 2 });
    assert.equal(readFileSync(join(dir, '.log'), 'utf8'), readFileSync(join(PYTHON_SAVED, '.log'), 'utf8'));
    const ours = await openSavedDataset(dir);
    const theirs = await openSavedDataset(PYTHON_SAVED);
    assert.deepEqual(ours.features, theirs.features);
    assert.deepEqual(ours.shards.map((s) => s.index.rows), theirs.shards.map((s) => s.index.rows));
    assert.deepEqual(await readSavedRows(ours, all(ours.rows)), await readSavedRows(theirs, all(theirs.rows)));
  });

  it("Python's load_from_disk reads the datasets saved here as load_dataset reads the originals: rows, order and features (JSON Lines with patterns, Parquet)", needsOraclePython(), async () => {
    for (const source of ['examples/research/jsonl-patterns', 'examples/research/parquet']) {
      const dir = tmp();
      await prepareResearchDataset({ trainData: source, saveToDisk: true, saveDiskPath: dir, saveMaxShardSize: '8KB', perDeviceTrainBatchSize: 6 });
      const out = runPython(
        [
          'import sys, json, tempfile, datasets',
          'datasets.disable_progress_bars()',
          'source, saved = sys.stdin.read().split(chr(10))',
          'd = datasets.load_dataset(source, cache_dir=tempfile.mkdtemp())',
          'c = datasets.concatenate_datasets([d[k] for k in d])',
          's = datasets.load_from_disk(saved)',
          "print(json.dumps({'same_rows': c.to_list() == s.to_list(), 'same_features': c.features == s.features, 'rows': len(s), 'shards': len(s.cache_files)}))",
        ].join('\n'),
        `${source}\n${dir}`,
      );
      const verdict = JSON.parse(out) as { same_rows: boolean; same_features: boolean; rows: number; shards: number };
      assert.deepEqual({ rows: verdict.same_rows, features: verdict.same_features }, { rows: true, features: true }, source);
      assert.ok(verdict.shards > 1, `${source}: ${verdict.shards} shards of at most 8KB`);
    }
  });

  it('does not write where a .log already is (the module prints and goes on), and reports it', async () => {
    const dir = tmp();
    const report = collectReport();
    const options = { trainData: 'examples/research/jsonl-patterns', saveToDisk: true, saveDiskPath: dir, perDeviceTrainBatchSize: 6, report };
    await prepareResearchDataset(options);
    writeFileSync(join(dir, 'marker'), 'x');
    const before = readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).length]);
    const { saved } = await prepareResearchDataset(options);
    assert.deepEqual(saved, { saved: false, dir, reason: 'log-exists' });
    assert.deepEqual(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).length]), before);
    assert.deepEqual(report.events.filter((e) => e.kind === 'saveSkipped'), [{ kind: 'saveSkipped', dir, reason: 'log-exists' }]);
  });

  it('exit_after_save writes and yields no batch; a later load_from_disk run reads what it wrote', async () => {
    const dir = tmp();
    const base = { flavor: 'research', tokenizer: fixtureTokenizer(), seed: 3, perDeviceTrainBatchSize: 6, symmetricBatchSize: 6, queryMaxLen: 300, passageMaxLen: 48, epochs: 1 } as const;
    assert.deepEqual(await toArray(researchBatches({ ...base, trainData: 'examples/research/parquet', saveToDisk: true, saveDiskPath: dir, exitAfterSave: true })), []);
    assert.ok(readdirSync(dir).includes('.log'));
    const fromDisk = await toArray(researchBatches({ ...base, loadFromDisk: true, loadDiskPath: dir }));
    assert.ok(fromDisk.length > 0);
  });
});

/**
 * Exported steps: a Hugging Face dataset folder per rank whose rows are dump's records; crash-safe
 * (atomic shards, a manifest with checksums) and resumable: a rerun after an interruption, a
 * corrupted shard, or a real `kill -9` of the command ends with byte-identical shards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { from } from 'ix/asynciterable';
import { openSavedDataset, readSavedRows } from '../../lib/arrow/savedDataset.js';
import { toDumpRecord } from '../../lib/sinks/dumpRecord.js';
import type { PaddedBatch, ResumeState, ResumeStateV1 } from '../../lib/core/model.js';
import { operator } from '../../lib/core/operator.js';
import { flagEmbeddingBatches, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { EXPORT_MANIFEST, exportSteps, type ExportManifest, type ExportStepsOptions } from '../../lib/sinks/exportSteps.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { runCli } from '../helpers/run.js';
import { filesOf, writeTree } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tokenizer = fixtureTokenizer();

const pipeline: Omit<FlagEmbeddingOptions, 'rank'> = {
  trainData: [join(ROOT, 'examples/data/retrieval'), join(ROOT, 'examples/data/sts')],
  tokenizer,
  seed: 3,
  perDeviceTrainBatchSize: 4,
  worldSize: 2,
  knowledgeDistillation: true,
  queryMaxLen: 64,
  passageMaxLen: 48,
};

const batchesOf = (rank: number, resumeFrom: ResumeState | ResumeStateV1 | null) => flagEmbeddingBatches({ ...pipeline, rank, resumeFrom });

const options = (out: string, extra: Partial<ExportStepsOptions> = {}): ExportStepsOptions => ({
  out,
  ranks: [0, 1],
  worldSize: 2,
  steps: 23,
  stepsPerShard: 5,
  batches: batchesOf,
  ...extra,
});

const float32 = (xs: ReadonlyArray<number> | null) => (xs === null ? null : [...Float32Array.from(xs)]);

let reference: Record<string, Buffer> | null = null;
/** An uninterrupted export of the default options, made once. */
const referenceFiles = async () => {
  if (reference === null) {
    const dir = writeTree({});
    await exportSteps(options(dir));
    reference = filesOf(dir);
  }
  return reference;
};

describe('exportSteps', () => {
  it('writes a DatasetDict of one save_to_disk folder per rank, whose rows are dump’s records of that rank', async () => {
    const dir = writeTree({});
    const summary = await exportSteps(options(dir, { withText: true }));
    assert.deepEqual(summary.ranks.map((r) => [r.rank, r.rows, r.written, r.kept]), [[0, 23, 5, 0], [1, 23, 5, 0]]);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'dataset_dict.json'), 'utf8')), { splits: ['rank_0', 'rank_1'] });
    for (const rank of [0, 1]) {
      const saved = await openSavedDataset(join(dir, `rank_${rank}`));
      assert.equal(saved.rows, 23);
      assert.deepEqual(saved.shards.map((s) => s.file.split('/').pop()), [0, 1, 2, 3, 4].map((i) => `data-0000${i}-of-00005.arrow`));
      const rows = await readSavedRows(saved, Array.from({ length: 23 }, (_, i) => i));
      const expected: PaddedBatch[] = [];
      for await (const b of from(batchesOf(rank, null))) {
        expected.push(b);
        if (expected.length === 23) break;
      }
      rows.forEach((row, i) => {
        const { teacher_scores, ...fields } = toDumpRecord(expected[i]!);
        for (const [k, v] of Object.entries(fields)) assert.deepEqual(row[k], v, `rank ${rank} step ${i}: ${k}`);
        assert.deepEqual(row['teacher_scores'], float32(teacher_scores));
        assert.equal(row['global_step'], i);
        assert.deepEqual(JSON.parse(row['resume'] as string), expected[i]!.resume);
      });
    }
  });

  it('the same export twice gives the same bytes; a rerun of a finished export keeps every shard', async () => {
    const dir = writeTree({});
    await exportSteps(options(dir));
    assert.deepEqual(filesOf(dir), await referenceFiles());
    const kept: string[] = [];
    const rerun = await exportSteps(options(dir, { onShard: (e) => kept.push(`${e.rank}:${e.status}`) }));
    assert.deepEqual(rerun.ranks.map((r) => r.written), [0, 0]);
    assert.ok(kept.every((k) => k.endsWith(':kept')) && kept.length === 10);
    assert.deepEqual(filesOf(dir), await referenceFiles());
  });

  it('an interrupted export continues from the last recorded shard and ends byte for byte as an uninterrupted one', async () => {
    const dir = writeTree({});
    const failing = (rank: number, resumeFrom: ResumeState | ResumeStateV1 | null) =>
      from(batchesOf(rank, resumeFrom)).pipe(
        operator<PaddedBatch, PaddedBatch>(async function* (src) {
          for await (const b of src) {
            if (rank === 1 && b.globalStep === 12) throw new Error('power cut');
            yield b;
          }
        }),
      );
    await assert.rejects(exportSteps(options(dir, { batches: failing })), /power cut/);
    const manifest = JSON.parse(readFileSync(join(dir, 'rank_1', EXPORT_MANIFEST), 'utf8')) as ExportManifest;
    assert.deepEqual([manifest.complete, manifest.shards.length], [false, 2]);
    assert.ok(!existsSync(join(dir, 'rank_1', 'state.json')), 'no state.json before the rank is complete');
    assert.ok(!readdirSync(join(dir, 'rank_1')).some((f) => f.endsWith('.tmp')), 'the aborted shard left no temporary file');
    const starts: Array<number | null> = [];
    await exportSteps(options(dir, { batches: (rank, resumeFrom) => (starts.push(resumeFrom?.globalStep ?? null), batchesOf(rank, resumeFrom)) }));
    assert.deepEqual(starts, [10], 'rank 0 was complete (all kept: no pipeline); rank 1 resumed after its 2 shards');
    assert.deepEqual(filesOf(dir), await referenceFiles());
  });

  it('a shard whose checksum no longer matches is written again, with everything after it', async () => {
    const dir = writeTree({});
    await exportSteps(options(dir));
    const shard = join(dir, 'rank_0', 'data-00003-of-00005.arrow');
    const bytes = readFileSync(shard);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    writeFileSync(shard, bytes);
    // A repair that fails half-way leaves no state.json: only a complete folder has one.
    const failing = () =>
      from([] as PaddedBatch[]).pipe(
        operator<PaddedBatch, PaddedBatch>(async function* () {
          throw new Error('disk full');
        }),
      );
    await assert.rejects(exportSteps(options(dir, { ranks: [0], batches: failing })), /disk full/);
    assert.ok(!existsSync(join(dir, 'rank_0', 'state.json')), 'no state.json while a shard is missing');
    const events: string[] = [];
    await exportSteps(options(dir, { ranks: [0], onShard: (e) => events.push(`${e.shard}:${e.status}`) }));
    assert.deepEqual(events, ['0:kept', '1:kept', '2:kept', '3:written', '4:written']);
    assert.deepEqual(filesOf(dir), await referenceFiles());
  });

  it('a folder holding another export, or a dataset without a manifest, is a ConfigError', async () => {
    const dir = writeTree({});
    await exportSteps(options(dir, { ranks: [0] }));
    await assert.rejects(exportSteps(options(dir, { ranks: [0], steps: 24 })), (e: Error) => e.name === 'ConfigError' && /another export/.test(e.message));
    const plain = writeTree({ 'rank_0/state.json': '{}', 'rank_0/data-00000-of-00001.arrow': '' });
    await assert.rejects(exportSteps(options(plain, { ranks: [0] })), (e: Error) => e.name === 'ConfigError' && /not an export/.test(e.message));
    await assert.rejects(exportSteps(options(dir, { ranks: [2] })), (e: Error) => e.name === 'ConfigError' && /rank/.test(e.message));
  });
});

describe('llm-retriever-data export', () => {
  const args = ['--train_data', join(ROOT, 'examples/data/retrieval'), join(ROOT, 'examples/data/sts'), '--query_max_len', '64', '--passage_max_len', '48', '--per_device_train_batch_size', '4'];

  it("under torchrun's environment it writes its own rank; --all_ranks writes every rank; --epochs counts whole epochs", async () => {
    const dir = writeTree({});
    const run = await runCli(['export', ...args, '--out', dir, '--steps', '3'], { RANK: '1', WORLD_SIZE: '2' });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['dataset_dict.json', 'rank_1']);
    const all = writeTree({});
    assert.equal((await runCli(['export', ...args, '--out', all, '--world_size', '2', '--all_ranks', '--epochs', '1'])).code, 0);
    const plan = await runCli(['plan', ...args, '--world_size', '2', '--json']);
    const { stepsPerEpoch } = JSON.parse(plan.stdout) as { stepsPerEpoch: number };
    for (const rank of [0, 1]) assert.equal((await openSavedDataset(join(all, `rank_${rank}`))).rows, stepsPerEpoch);
  });

  it('argument errors: no --out, --steps with --epochs (exit 2); --state_out writes the state after the last step', async () => {
    const dir = writeTree({});
    const noOut = await runCli(['export', ...args, '--steps', '2']);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /out: is required/);
    const both = await runCli(['export', ...args, '--out', dir, '--steps', '2', '--epochs', '1']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --steps or --epochs, not both/);
    const state = join(dir, 'state.json');
    const run = await runCli(['export', ...args, '--out', join(dir, 'out'), '--steps', '4', '--state_out', state]);
    assert.equal(run.code, 0, run.stderr);
    const rows = await readSavedRows(await openSavedDataset(join(dir, 'out', 'rank_0')), [3]);
    assert.deepEqual(JSON.parse(readFileSync(state, 'utf8')), JSON.parse(rows[0]!['resume'] as string));
  });

  it('a rerun after kill -9 of the command continues and yields byte-identical shards', async () => {
    const exportArgs = (out: string) => [join(ROOT, 'lib/cli/bin.mjs'), 'export', ...args, '--out', out, '--world_size', '1', '--steps', '240', '--steps_per_shard', '8'];
    const whole = writeTree({});
    assert.equal((await runCli(exportArgs(whole).slice(1))).code, 0);
    const dir = writeTree({});
    const child = spawn(process.execPath, exportArgs(dir), { stdio: 'ignore' });
    const manifest = join(dir, 'rank_0', EXPORT_MANIFEST);
    const shardsSoFar = () => (existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as ExportManifest).shards.length : 0);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    while (shardsSoFar() < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the export was killed before it finished');
    const before = JSON.parse(readFileSync(manifest, 'utf8')) as ExportManifest;
    assert.ok(!before.complete && before.shards.length >= 2 && before.shards.length < 30, `killed mid-run: ${before.shards.length} shards recorded`);
    const rerun = await runCli(exportArgs(dir).slice(1));
    assert.equal(rerun.code, 0, rerun.stderr);
    const summary = JSON.parse(rerun.stdout) as { ranks: Array<{ kept: number; written: number }> };
    assert.equal(summary.ranks[0]!.kept, before.shards.length, 'the recorded shards were kept');
    assert.equal(summary.ranks[0]!.written, 30 - before.shards.length);
    assert.match(rerun.stderr, new RegExp(`export: 240 steps of 1 rank in .* \\(${30 - before.shards.length} shards written, ${before.shards.length} kept from an earlier run\\)`));
    assert.deepEqual(filesOf(dir), filesOf(whole));
  });
});

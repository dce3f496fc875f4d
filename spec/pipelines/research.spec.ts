/**
 * The research flavor's laws, over random seeds, world sizes and batch sizes on the sample datasets:
 * the same inputs give the same batches (and one pipeline iterated twice gives them again); every
 * batch comes from one split; the ranks' shards of a step are disjoint, equally sized, and together a
 * global batch; no row is used twice in an epoch; per split and epoch, batched + dropped = rows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { toArray } from 'ix/asynciterable';
import { collectReport } from '../../lib/core/report.js';
import { flagEmbeddingBatches } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { researchBatches, type ResearchOptions } from '../../lib/pipelines/research.js';
import { toResearchDumpRecord } from '../../lib/sinks/dumpRecord.js';
import { loadResearchDataset } from '../../lib/sources/researchDataset.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

const DATASETS = ['examples/research/jsonl-configs', 'examples/research/jsonl-patterns', 'examples/research/parquet'] as const;
const tokenizer = fixtureTokenizer();

const runArb = fc.record({
  dataset: fc.constantFrom(...DATASETS),
  seed: fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
  worldSize: fc.integer({ min: 1, max: 3 }),
  perDevice: fc.integer({ min: 6, max: 9 }),
  symmetricPerRank: fc.integer({ min: 6, max: 10 }),
  symmetricRemainder: fc.integer({ min: 0, max: 2 }),
  maxClassNeg: fc.integer({ min: 0, max: 12 }),
  useSpecialTokens: fc.boolean(),
});
type Run = typeof runArb extends fc.Arbitrary<infer R> ? R : never;

const optionsOf = (run: Run, rank: number, extra: Partial<ResearchOptions> = {}): ResearchOptions => ({
  flavor: 'research',
  trainData: run.dataset,
  tokenizer,
  seed: run.seed,
  worldSize: run.worldSize,
  rank,
  perDeviceTrainBatchSize: run.perDevice,
  symmetricBatchSize: run.symmetricPerRank * run.worldSize + Math.min(run.symmetricRemainder, run.worldSize - 1),
  maxClassNeg: run.maxClassNeg,
  trainGroupSize: 3,
  symmetricTrainGroupSize: 3,
  useSpecialTokens: run.useSpecialTokens,
  queryMaxLen: 300,
  passageMaxLen: 48,
  exampleQueryMaxLen: 24,
  examplePassageMaxLen: 24,
  epochs: 2,
  ...extra,
});

const steps = async (options: ResearchOptions) => (await toArray(researchBatches(options))).map(toResearchDumpRecord);

describe(`research flavor laws (fc seed ${FC_SEED})`, () => {
  it('the same inputs give the same batches, and one pipeline iterated twice gives them again', async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async (run) => {
        const pipeline = researchBatches(optionsOf(run, 0));
        const first = (await toArray(pipeline)).map(toResearchDumpRecord);
        const again = (await toArray(pipeline)).map(toResearchDumpRecord);
        const fresh = await steps(optionsOf(run, 0));
        return first.length > 0 && isDeepStrictEqual(first, again) && isDeepStrictEqual(first, fresh);
      }),
      fcParams({ numRuns: 12 }),
    );
  });

  it('every batch comes from one split; shards are disjoint, equal, and a global batch together; no row twice in an epoch; batched + dropped = rows', async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async (run) => {
        const dataset = await loadResearchDataset(run.dataset);
        const splitOf = (index: number) => dataset.splits.findIndex((s) => index >= s.offset && index < s.offset + s.store.size);
        const report = collectReport();
        const ranks = await Promise.all(Array.from({ length: run.worldSize }, (_, rank) => steps(optionsOf(run, rank, rank === 0 ? { report } : {}))));
        const count = ranks[0]!.length;
        if (count === 0 || !ranks.every((r) => r.length === count)) return false;
        const seen = new Map<number, Set<number>>();
        const batched = new Map<string, number>();
        for (let step = 0; step < count; step++) {
          const shards = ranks.map((r) => r[step]!.example_indices);
          const epoch = ranks[0]![step]!.epoch;
          const all = shards.flat();
          const split = splitOf(all[0]!);
          if (!all.every((i) => splitOf(i) === split)) return false;
          if (!shards.every((s) => s.length === shards[0]!.length)) return false;
          if (new Set(all).size !== all.length) return false;
          const used = seen.get(epoch) ?? new Set<number>();
          for (const i of all) {
            if (used.has(i)) return false;
            used.add(i);
          }
          seen.set(epoch, used);
          const key = `${epoch}:${split}`;
          batched.set(key, (batched.get(key) ?? 0) + all.length);
        }
        // Per epoch and split: the rows batched plus the tail reported dropped are the split's rows.
        for (let epoch = 0; epoch < 2; epoch++) {
          for (const [k, split] of dataset.splits.entries()) {
            const dropped = report.events
              .filter((e) => e.kind === 'tailDropped' && e.epoch === epoch && e.task === `${run.dataset} [${split.name}]`)
              .reduce((n, e) => n + (e.kind === 'tailDropped' ? e.records : 0), 0);
            if ((batched.get(`${epoch}:${k}`) ?? 0) + dropped !== split.store.size) return false;
          }
        }
        return true;
      }),
      fcParams({ numRuns: 12 }),
    );
  });

  it("flagEmbeddingBatches({ flavor: 'research' }) is the research flavor", async () => {
    const run: Run = { dataset: DATASETS[1], seed: '8', worldSize: 1, perDevice: 6, symmetricPerRank: 6, symmetricRemainder: 0, maxClassNeg: 3, useSpecialTokens: false };
    const viaFlavor = (await toArray(flagEmbeddingBatches(optionsOf(run, 0)))).map(toResearchDumpRecord);
    assert.ok(viaFlavor.length > 0);
    assert.deepEqual(viaFlavor, await steps(optionsOf(run, 0)));
    assert.ok(viaFlavor.every((s) => s.messages.length > 0));
  });

  it('resumes exactly: the steps after a saved state equal the uninterrupted run', async () => {
    const run: Run = { dataset: DATASETS[0], seed: '77', worldSize: 2, perDevice: 6, symmetricPerRank: 6, symmetricRemainder: 1, maxClassNeg: 5, useSpecialTokens: true };
    const whole = await toArray(researchBatches(optionsOf(run, 1)));
    const at = 7;
    const resumed = await toArray(researchBatches({ ...optionsOf(run, 1), resumeFrom: whole[at - 1]!.resume }));
    assert.ok(whole.length > at + 3);
    assert.deepEqual(resumed.map(toResearchDumpRecord), whole.slice(at).map(toResearchDumpRecord));
  });

  it('a broken shard law is caught (test of the test): two ranks given the same rank overlap', async () => {
    const run: Run = { dataset: DATASETS[0], seed: '5', worldSize: 2, perDevice: 6, symmetricPerRank: 6, symmetricRemainder: 0, maxClassNeg: 3, useSpecialTokens: true };
    const [a, b] = await Promise.all([steps(optionsOf(run, 0)), steps(optionsOf(run, 0))]);
    const overlaps = a.some((s, i) => s.example_indices.some((x) => b[i]!.example_indices.includes(x)));
    assert.ok(overlaps);
  });
});

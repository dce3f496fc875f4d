/**
 * Elastic resume: a state written under world size W resumes under W′ with the same global batch
 * size (per-device × world). From the resume point the global batches are the uninterrupted W run's,
 * in the same order; the draws are the reference's when W′ = W and keyed per record otherwise; the
 * same state and W′ give the same batches (with prefetch, concurrency or workers, and when resumed
 * again); a run whose global batch size would change, or whose W′ does not divide a task's global
 * batch size, is a ResumeError; version 1 states still resume under their own world size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError } from '../../lib/core/errors.js';
import type { PaddedBatch, ResumeState, ResumeStateV1 } from '../../lib/core/model.js';
import { ResumeError } from '../../lib/core/resume.js';
import { flagEmbeddingBatchesFromRecords, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';
import { epochShuffle } from '../../lib/stages/epochShuffle.js';
import { groupByTask } from '../../lib/stages/groupByTask.js';
import { toTaskFiles } from '../../lib/stages/toTaskFiles.js';
import { corpus, pipelineOptions, sourced } from '../arbitraries/corpus.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { fixedOptions, fixedRecords, fixtureTokenizerForResume as tokenizer } from '../helpers/resumeFixture.js';

/** Steps compared after the resume point. */
const WINDOW = 6;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A resume state as it comes back from a file. */
const throughJson = <S>(s: S): S => JSON.parse(JSON.stringify(s)) as S;

const run = (records: ReadonlyArray<SourcedExample>, options: FlagEmbeddingOptions, steps: number): Promise<PaddedBatch[]> =>
  toArray(flagEmbeddingBatchesFromRecords(from(records), options).pipe(take(steps)));

/** What makes a step's global batch: its place, its task, and every rank's positions in rank order. */
interface GlobalView {
  readonly globalStep: number;
  readonly epoch: number;
  readonly step: number;
  readonly task: number;
  readonly indices: ReadonlyArray<number>;
}

/** Every rank of a `worldSize` run for `steps` steps, joined per step into the global batch. */
const globalRun = async (records: ReadonlyArray<SourcedExample>, options: FlagEmbeddingOptions, steps: number): Promise<GlobalView[]> => {
  const worldSize = options.worldSize ?? 1;
  const ranks = await Promise.all(Array.from({ length: worldSize }, (_, rank) => run(records, { ...options, rank }, steps)));
  return ranks[0]!.map((b, s) => ({
    globalStep: b.globalStep,
    epoch: b.epoch,
    step: b.step,
    task: b.task.index,
    indices: ranks.flatMap((r) => r[s]!.indices),
  }));
};

/** The fields a training step consists of. */
const view = (b: PaddedBatch) => ({
  globalStep: b.globalStep,
  indices: b.indices,
  queries: b.queries,
  passages: b.passages,
  teacherScores: b.teacherScores,
  noInBatchNeg: b.noInBatchNeg,
  padded: b.padded,
  resume: b.resume,
});

/** Steps per epoch under `o` (from the plan alone), or null when the corpus has none. */
const stepsPerEpoch = async (records: ReadonlyArray<SourcedExample>, o: FlagEmbeddingOptions): Promise<number | null> => {
  try {
    return (await toArray(from(records).pipe(toTaskFiles(), groupByTask(o), epochShuffle({ ...o, epochs: 1 })))).length;
  } catch (e) {
    if (e instanceof ConfigError && (e.option === 'per_device_train_batch_size' || e.option === 'train_data')) return null;
    throw e;
  }
};

/** Each task's global batch size and size under `o` (the plan's geometry). */
const taskGeometry = async (records: ReadonlyArray<SourcedExample>, o: FlagEmbeddingOptions) =>
  (await toArray(from(records).pipe(toTaskFiles(), groupByTask(o)))).map((t) => ({ global: t.batchSize * (o.worldSize ?? 1), size: t.store.size }));

/**
 * A corpus, a world size W and a per-device batch size P, another world size W′ with P′ = P·W/W′
 * (so the global batch size stays), ranks, and a stop point.
 */
const elasticCase = fc
  .record({
    corpus: corpus({ kd: true, maxFiles: 3, maxRecords: 16 }),
    options: pipelineOptions,
    worldSize: fc.integer({ min: 1, max: 4 }),
    newWorldSize: fc.integer({ min: 1, max: 4 }),
    multiple: fc.integer({ min: 1, max: 2 }),
    stop: fc.nat(),
  })
  .map(({ corpus: c, options, worldSize, newWorldSize, multiple, stop }) => {
    // The smallest P with P·W divisible by W′, times 1 or 2 (at least 2, so that symmetric tasks have a batch).
    const base = newWorldSize / gcd(worldSize, newWorldSize);
    const perDevice = base * multiple * (base * multiple < 2 ? 2 : 1);
    return {
      records: sourced(c),
      options: { ...options, worldSize, perDeviceTrainBatchSize: perDevice, trainData: [], tokenizer, rank: 0 } as FlagEmbeddingOptions,
      newWorldSize,
      newPerDevice: (perDevice * worldSize) / newWorldSize,
      stop,
    };
  });

type ElasticCase = typeof elasticCase extends fc.Arbitrary<infer T> ? T : never;

/** The state after `k` steps of the W run (rank 0; k = 0: the state a first batch carries, moved back to step 0). */
const stateAfter = async (c: ElasticCase, k: number): Promise<ResumeState> => {
  const batches = await run(c.records, c.options, Math.max(k, 1));
  if (k === 0) return throughJson({ ...batches[0]!.resume, globalStep: 0, epoch: 0, step: 0 });
  return throughJson(batches[k - 1]!.resume);
};

const resumedOptions = (c: ElasticCase, state: ResumeState | ResumeStateV1, extra: Partial<FlagEmbeddingOptions> = {}): FlagEmbeddingOptions => ({
  ...c.options,
  worldSize: c.newWorldSize,
  perDeviceTrainBatchSize: c.newPerDevice,
  resumeFrom: state,
  ...extra,
});

/** Whether W′ splits every task's global batch (the tasks that fill one; the others never reach a rank). */
const splits = async (c: ElasticCase): Promise<boolean> =>
  (await taskGeometry(c.records, c.options)).every((t) => t.size < t.global || t.global % c.newWorldSize === 0);

/** Whether the tasks build under P′ (P′ = 1 halves to 0 for symmetric tasks: a ConfigError of its own, before any resume). */
const buildsUnderNewOptions = (c: ElasticCase): Promise<boolean> =>
  taskGeometry(c.records, { ...c.options, worldSize: c.newWorldSize, perDeviceTrainBatchSize: c.newPerDevice }).then(
    () => true,
    (e: unknown) => (e instanceof ConfigError && e.option === 'per_device_train_batch_size' ? false : Promise.reject(e)),
  );

/** Resumes `c` from `state` (with `resume`: how the state is handed over) and joins the W′ ranks' steps. */
type Handover = (c: ElasticCase, state: ResumeState) => ResumeState;
const honest: Handover = (_c, state) => state;

/**
 * THE elastic property: stop after k steps under W, resume under W′ (P′ = P·W/W′): the next WINDOW
 * global batches are the uninterrupted W run's, in order; or, exactly when W′ does not divide a
 * task's global batch size, a ResumeError.
 */
const sameGlobalBatches = (handover: Handover) =>
  fc.asyncProperty(elasticCase, async (c) => {
    const spe = await stepsPerEpoch(c.records, c.options);
    fc.pre(spe !== null);
    fc.pre(await buildsUnderNewOptions(c));
    const k = c.stop % (2 * spe! + 1);
    const state = handover(c, await stateAfter(c, k));
    const expected = (await globalRun(c.records, c.options, k + WINDOW)).slice(k);
    if (!(await splits(c))) {
      const failed = await globalRun(c.records, resumedOptions(c, state), WINDOW).then(
        () => null,
        (e: unknown) => e,
      );
      return failed instanceof ResumeError && /does not divide the global batch size/.test(failed.message);
    }
    const got = await globalRun(c.records, resumedOptions(c, state), WINDOW);
    return isDeepStrictEqual(got, expected);
  });

describe(`elastic resume properties (FC_SEED=${FC_SEED})`, () => {
  it('stop after k steps under W, resume under W′ with the same global batch size: the next global batches are the uninterrupted run’s, in order (or a ResumeError exactly when W′ does not divide a task’s global batch)', async () => {
    await fc.assert(sameGlobalBatches(honest), fcParams({ numRuns: 80 }));
  });

  it('the same state and W′ give the same batches: twice, with prefetch 0, with concurrency 3', async () => {
    await fc.assert(
      fc.asyncProperty(elasticCase, fc.nat(), async (c, rank) => {
        const spe = await stepsPerEpoch(c.records, c.options);
        fc.pre(spe !== null && (await splits(c)) && (await buildsUnderNewOptions(c)));
        const state = await stateAfter(c, c.stop % (spe! + 1));
        const o = resumedOptions(c, state, { rank: rank % c.newWorldSize });
        const [a, b, noPrefetch, concurrent] = await Promise.all([
          run(c.records, o, WINDOW),
          run(c.records, o, WINDOW),
          run(c.records, { ...o, prefetch: 0 }, WINDOW),
          run(c.records, { ...o, concurrency: 3 }, WINDOW),
        ]);
        return a.length === WINDOW && isDeepStrictEqual(a, b) && isDeepStrictEqual(a, noPrefetch) && isDeepStrictEqual(a, concurrent);
      }),
      fcParams({ numRuns: 20 }),
    );
  });

  it('resumed again from a state of the resumed run: under W′ it continues that run exactly; under W it is the uninterrupted W run (the reference’s draws)', async () => {
    await fc.assert(
      fc.asyncProperty(elasticCase, fc.nat(), fc.nat(), async (c, rank, later) => {
        const spe = await stepsPerEpoch(c.records, c.options);
        fc.pre(spe !== null && (await splits(c)) && (await buildsUnderNewOptions(c)));
        const k1 = c.stop % (spe! + 1);
        const k2 = k1 + 1 + (later % 4);
        const first = resumedOptions(c, await stateAfter(c, k1), { rank: rank % c.newWorldSize });
        const resumed = await run(c.records, first, k2 - k1 + WINDOW);
        const second = throughJson(resumed[k2 - k1 - 1]!.resume);
        const again = await run(c.records, { ...first, resumeFrom: second }, WINDOW);
        if (!isDeepStrictEqual(again.map(view), resumed.slice(k2 - k1).map(view))) return false;
        const backRank = rank % (c.options.worldSize ?? 1);
        const back = await run(c.records, { ...c.options, rank: backRank, resumeFrom: second }, WINDOW);
        const uninterrupted = (await run(c.records, { ...c.options, rank: backRank }, k2 + WINDOW)).slice(k2);
        return isDeepStrictEqual(back.map(view), uninterrupted.map(view));
      }),
      fcParams({ numRuns: 20 }),
    );
  });

  it('after an elastic resume a record’s positive and negatives depend only on the seed, the step and its place in the global batch: W′ and W″ (both ≠ W) give the same groups', async () => {
    await fc.assert(
      fc.asyncProperty(elasticCase, fc.integer({ min: 1, max: 4 }), async (c, other) => {
        const spe = await stepsPerEpoch(c.records, c.options);
        fc.pre(spe !== null && (await splits(c)) && (await buildsUnderNewOptions(c)));
        const W = c.options.worldSize ?? 1;
        const global = c.options.perDeviceTrainBatchSize * W;
        fc.pre(c.newWorldSize !== W && other !== W && other !== c.newWorldSize && global % other === 0 && global / other >= 2);
        const d = { ...c, newWorldSize: other, newPerDevice: global / other };
        fc.pre((await splits(d)) && (await buildsUnderNewOptions(d)));
        const state = await stateAfter(c, c.stop % (spe! + 1));
        // Per step and global position: the record's passage group (positive first), where the slice's group sizes agree.
        const groups = async (e: ElasticCase) => {
          const ranks = await Promise.all(Array.from({ length: e.newWorldSize }, (_, rank) => run(e.records, resumedOptions(e, state, { rank }), WINDOW)));
          return ranks[0]!.map((_, s) =>
            ranks.flatMap((r) => {
              const b = r[s]!;
              const size = b.passages.length / b.queries.length;
              return b.queries.map((_q, i) => ({ size, group: b.passages.slice(i * size, (i + 1) * size), record: `${b.records[i]!.file}:${b.records[i]!.line}` }));
            }),
          );
        };
        const [a, b] = await Promise.all([groups(c), groups(d)]);
        return a.every((step, s) => step.every((g, p) => g.size !== b[s]![p]!.size || isDeepStrictEqual(g, b[s]![p])));
      }),
      fcParams({ numRuns: 20 }),
    );
  });

  it('meta: a hand-over that re-derives the plan under W′ (does not carry it) fails the elastic property', async () => {
    const rederive: Handover = (c, state) => ({
      ...state,
      plan: { ...state.plan, worldSize: c.newWorldSize, perDeviceTrainBatchSize: c.newPerDevice, globalBatchSizes: state.plan.globalBatchSizes.map(() => c.newPerDevice * c.newWorldSize) },
    });
    const result = await fc.check(sameGlobalBatches(rederive), fcParams({ numRuns: 60 }));
    assert.ok(result.failed && !result.interrupted, `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips })}`);
  });
});

describe('elastic resume: examples', () => {
  const records = fixedRecords();

  it('2 ranks × 2 → 1 rank × 4: the next global batches are the 2-rank run’s, and the task with its own (halved) batch size keeps its global size', async () => {
    const k = 5;
    const state = throughJson((await run(records, fixedOptions(), k))[k - 1]!.resume);
    assert.deepEqual(state.plan, { worldSize: 2, perDeviceTrainBatchSize: 2, globalBatchSizes: [4, 2] });
    const expected = (await globalRun(records, fixedOptions(), k + 8)).slice(k);
    const got = await run(records, fixedOptions({ worldSize: 1, perDeviceTrainBatchSize: 4, resumeFrom: state }), 8);
    assert.deepEqual(
      got.map((b) => ({ globalStep: b.globalStep, task: b.task.index, indices: b.indices })),
      expected.map((g) => ({ globalStep: g.globalStep, task: g.task, indices: g.indices })),
    );
    assert.ok(got.some((b) => b.task.type === 'symmetric_sts' && b.indices.length === 2), 'a symmetric batch of 2 (1 per rank before, both on the one rank now)');
    assert.ok(got.every((b) => b.planWorldSize === 2 && b.worldSize === 1 && b.resume.plan.worldSize === 2));
  });

  it('the same state under the same world size W′ gives the same batches with worker threads', async () => {
    const state = throughJson((await run(records, fixedOptions(), 4))[3]!.resume);
    const o = fixedOptions({ worldSize: 1, perDeviceTrainBatchSize: 4, resumeFrom: state });
    const [here, threads] = await Promise.all([run(records, o, 6), run(records, { ...o, workers: 1 }, 6)]);
    assert.deepEqual(threads, here);
  });

  it('a global batch size that would change is a ResumeError saying which per-device batch size to use', async () => {
    const state = throughJson((await run(records, fixedOptions(), 3))[2]!.resume);
    await assert.rejects(run(records, fixedOptions({ worldSize: 1, perDeviceTrainBatchSize: 2, resumeFrom: state }), 1), (e: unknown) => {
      assert.ok(e instanceof ResumeError);
      assert.match(e.message, /global batch size would change: .* 2 × world_size 2 = 4, this run has 2 × 1 = 2.*use per_device_train_batch_size 4 with world_size 1/);
      return true;
    });
  });

  it('a world size that does not divide a task’s global batch size is a ResumeError naming the task', async () => {
    // Plan: 2 ranks × 3 (normal tasks 6, symmetric 2 per step); 3 ranks × 2 splits 6 but not 2.
    const o = fixedOptions({ perDeviceTrainBatchSize: 3 });
    const state = throughJson((await run(records, o, 3))[2]!.resume);
    await assert.rejects(run(records, { ...o, worldSize: 3, perDeviceTrainBatchSize: 2, resumeFrom: state }, 1), (e: unknown) => {
      assert.ok(e instanceof ResumeError);
      assert.match(e.message, /world_size 3 does not divide the global batch size of b\.jsonl \(global batch 2\)/);
      assert.doesNotMatch(e.message, /a\.jsonl/);
      return true;
    });
  });

  it('resuming with another data set, configuration or tokenizer is still refused (elastic or not)', async () => {
    const state = throughJson((await run(records, fixedOptions(), 3))[2]!.resume);
    const elastic = { worldSize: 1, perDeviceTrainBatchSize: 4, resumeFrom: state };
    await assert.rejects(run(fixedRecords(1), fixedOptions(elastic), 1), (e: unknown) => e instanceof ResumeError && /the data/.test(e.message));
    await assert.rejects(run(records, fixedOptions({ ...elastic, trainGroupSize: 4 }), 1), (e: unknown) => e instanceof ResumeError && /the configuration/.test(e.message));
  });

  /**
   * Written by the previous release (main before elastic resume) for this fixed case after 7 steps:
   * `fixedOptions()` on `fixedRecords()`, rank 0.
   */
  const V1_STATE: ResumeStateV1 = {
    version: 1,
    globalStep: 7,
    epoch: 0,
    step: 7,
    fingerprint: {
      data: '2daaa06f92f025770189c8e5e2946967b61a134cf378b03ab5b4e9d443f7b2ab',
      config: 'b72ede85e734ea8dcafe4000a6c641c2fd15f87023460b394a35774b6f13cf53',
      tokenizer: 'da3139ad5d95b38891dac399a70c5f3a47debca50492dfc3561b70de43c6d6ab',
    },
  };

  it('a version 1 state (from the previous release) resumes exactly under its own world size and batch size, and the run then writes version 2 states', async () => {
    const full = await run(records, fixedOptions({ rank: 1 }), 7 + WINDOW);
    const resumed = await run(records, fixedOptions({ rank: 1, resumeFrom: V1_STATE }), WINDOW);
    assert.deepEqual(resumed.map(view), full.slice(7).map(view));
    assert.equal(resumed[0]!.resume.version, 2);
  });

  it('a version 1 state under another world size is a ResumeError saying version 1 states resume only under their own world size', async () => {
    await assert.rejects(run(records, fixedOptions({ worldSize: 1, perDeviceTrainBatchSize: 4, resumeFrom: V1_STATE }), 1), (e: unknown) => {
      assert.ok(e instanceof ResumeError);
      assert.match(e.message, /version 1 state .* resumes only under the world_size and per_device_train_batch_size it was written with/);
      return true;
    });
  });
});

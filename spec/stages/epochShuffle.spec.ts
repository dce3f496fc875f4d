/**
 * epochShuffle: the reference's batch order (shared/notes/numpy-shuffle-spec.md §9.4, through the
 * stage), dropped tails reported per task and epoch, full global batches of one task, every record
 * at most once per epoch, and options checked at construction.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError } from '../../lib/core/errors.js';
import type { GlobalBatch, Task } from '../../lib/core/model.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { collectReport, type ReportEvent } from '../../lib/core/report.js';
import { epochShuffle, type EpochShuffleOptions } from '../../lib/stages/epochShuffle.js';
import { runnable, tasksOf } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { tasksOfSizes } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Stage = (options: EpochShuffleOptions) => Op<Task, GlobalBatch>;

/** Random tasks (sizes 1–30, batch sizes 1–4), world size 1–3, 1–3 epochs; at least one task fills a global batch. */
const plan = fc
  .record({
    specs: fc.array(fc.record({ size: fc.integer({ min: 1, max: 30 }), batchSize: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 4 }),
    worldSize: fc.integer({ min: 1, max: 3 }),
    epochs: fc.integer({ min: 1, max: 3 }),
    seed: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 80n }).map(String)),
  })
  .filter(({ specs, worldSize }) => specs.some((s) => s.size >= s.batchSize * worldSize));

type Plan = typeof plan extends fc.Arbitrary<infer P> ? P : never;

const run = async (stage: Stage, p: Plan) => {
  const tasks = tasksOfSizes(p.specs.map((s, i) => ({ name: `task${i}`, ...s })));
  const report = collectReport();
  const batches = await toArray(from(tasks).pipe(stage({ seed: p.seed, worldSize: p.worldSize, epochs: p.epochs, report })));
  return { tasks, batches, events: report.events };
};

const key = (e: { epoch: number; task: string; records: number }) => `${e.epoch}/${e.task}/${e.records}`;

/** tailDropped events, per task and epoch, are exactly size mod (batch × world) when that is not 0. */
const tailsAreReported = (stage: Stage) =>
  fc.asyncProperty(plan, async (p) => {
    const { tasks, events } = await run(stage, p);
    const expected: string[] = [];
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      for (const t of tasks) {
        const tail = t.records.length % (t.batchSize * p.worldSize);
        if (tail !== 0) expected.push(key({ epoch, task: t.name, records: tail }));
      }
    }
    const actual = events.flatMap((e) => (e.kind === 'tailDropped' ? [key(e)] : []));
    return isDeepStrictEqual(actual.sort(), expected.sort()) && events.every((e) => e.kind === 'tailDropped');
  });

/** Per epoch and task: floor(size / G) batches of G distinct valid positions, no position twice. */
const fullBatchesOfDistinctPositions = (stage: Stage) =>
  fc.asyncProperty(plan, async (p) => {
    const { tasks, batches } = await run(stage, p);
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      for (const t of tasks) {
        const global = t.batchSize * p.worldSize;
        const mine = batches.filter((b) => b.epoch === epoch && b.task === t);
        if (mine.length !== Math.floor(t.records.length / global)) return false;
        if (!mine.every((b) => b.indices.length === global && b.worldSize === p.worldSize)) return false;
        const positions = mine.flatMap((b) => [...b.indices]);
        if (new Set(positions).size !== positions.length) return false;
        if (!positions.every((i) => Number.isInteger(i) && i >= 0 && i < t.records.length)) return false;
      }
    }
    return true;
  });

/** Epochs come in order; steps count from 0 in each epoch; global steps count from 0 over the run. */
const positionsCountUp = (stage: Stage) =>
  fc.asyncProperty(plan, async (p) => {
    const { batches } = await run(stage, p);
    let expectedStep = 0;
    let epoch = 0;
    return batches.every((b, i) => {
      if (b.epoch !== epoch) {
        if (b.epoch !== epoch + 1) return false;
        epoch = b.epoch;
        expectedStep = 0;
      }
      return b.step === expectedStep++ && b.globalStep === i;
    }) && (batches.length === 0 || batches[batches.length - 1]!.epoch === p.epochs - 1);
  });

/** shared/notes/numpy-shuffle-spec.md §9.4, verbatim: [task, rank 0 slice, rank 1 slice] per step. */
const VECTOR_9_4: ReadonlyArray<ReadonlyArray<readonly [string, number[], number[]]>> = [
  [
    ['sts', [0], [7]],
    ['nli', [6, 5, 2], [4, 3, 0]],
    ['sts', [5], [6]],
    ['msmarco', [3, 5], [1, 8]],
    ['msmarco', [7, 0], [4, 2]],
    ['sts', [4], [8]],
    ['sts', [3], [2]],
  ],
  [
    ['nli', [6, 5, 0], [2, 3, 1]],
    ['msmarco', [9, 4], [1, 5]],
    ['sts', [2], [6]],
    ['sts', [7], [8]],
    ['msmarco', [0, 3], [6, 7]],
    ['sts', [1], [5]],
    ['sts', [4], [3]],
  ],
];

const VECTOR_TASKS = [
  { name: 'msmarco', size: 10, batchSize: 2 },
  { name: 'nli', size: 7, batchSize: 3 },
  { name: 'sts', size: 9, batchSize: 1 },
];

describe(`epochShuffle (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: runnable,
    input: (r) => tasksOf(r),
    op: (r) => epochShuffle({ ...r.options, epochs: 1 }),
    numRuns: 10,
    reads: { all: true }, // the plan needs every task's size
  });

  it('reproduces the pipeline vector of numpy-shuffle-spec §9.4 (seed 42, world 2, 2 epochs): every rank slice and every batch task', async () => {
    const tasks = tasksOfSizes(VECTOR_TASKS);
    const batches = await toArray(from(tasks).pipe(epochShuffle({ seed: 42, worldSize: 2, epochs: 2 })));
    const actual = [0, 1].map((epoch) =>
      batches
        .filter((b) => b.epoch === epoch)
        .map((b) => {
          const per = b.indices.length / 2;
          return [b.task.name, b.indices.slice(0, per), b.indices.slice(per)] as const;
        }),
    );
    assert.deepEqual(actual, VECTOR_9_4);
    assert.deepEqual(
      batches.map((b) => [b.epoch, b.step, b.globalStep]),
      [...Array.from({ length: 7 }, (_, i) => [0, i, i]), ...Array.from({ length: 7 }, (_, i) => [1, i, 7 + i])],
    );
    assert.ok(batches.every((b) => b.worldSize === 2 && b.task === tasks.find((t) => t.name === b.task.name)));
  });

  it('§9.4 again: the seed as a decimal string and as a bigint gives the same batches, and the infinite stage starts with them', async () => {
    const tasks = tasksOfSizes(VECTOR_TASKS);
    const expected = await toArray(from(tasks).pipe(epochShuffle({ seed: 42, worldSize: 2, epochs: 2 })));
    for (const seed of ['42', 42n] as const) {
      assert.deepEqual(await toArray(from(tasks).pipe(epochShuffle({ seed, worldSize: 2, epochs: 2 }))), expected);
    }
    assert.deepEqual(await toArray(from(tasks).pipe(epochShuffle({ seed: 42, worldSize: 2 }), take(14))), expected);
  });

  it('§9.4: the tails reported are msmarco 2, nli 1, sts 1 in each epoch', async () => {
    const report = collectReport();
    await toArray(from(tasksOfSizes(VECTOR_TASKS)).pipe(epochShuffle({ seed: 42, worldSize: 2, epochs: 2, report })));
    const expected = [0, 1].flatMap((epoch) => [
      { epoch, task: 'msmarco', records: 2 },
      { epoch, task: 'nli', records: 1 },
      { epoch, task: 'sts', records: 1 },
    ]);
    assert.equal(report.events.length, expected.length);
    assert.deepEqual(report.events.flatMap((e) => (e.kind === 'tailDropped' ? [key(e)] : [])).sort(), expected.map(key).sort());
  });

  it('tailDropped events per task and epoch equal size mod (batch × world) when non-zero, and nothing else is reported', async () => {
    await fc.assert(tailsAreReported(epochShuffle), fcParams({ numRuns: 100 }));
  });

  it('each epoch cuts each task into floor(size / (batch × world)) full batches of distinct valid positions', async () => {
    await fc.assert(fullBatchesOfDistinctPositions(epochShuffle), fcParams({ numRuns: 100 }));
  });

  it('epochs come in order, steps restart at 0 each epoch, global steps count the whole run', async () => {
    await fc.assert(positionsCountUp(epochShuffle), fcParams({ numRuns: 100 }));
  });

  it('no task fills a global batch: a ConfigError when iterated (not at construction)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 10 }), batchSize: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        async (specs, worldSize) => {
          fc.pre(specs.every((s) => s.size < s.batchSize * worldSize));
          const stage = epochShuffle({ seed: 1, worldSize, epochs: 2 });
          const tasks = tasksOfSizes(specs.map((s, i) => ({ name: `t${i}`, ...s })));
          await assert.rejects(
            toArray(from(tasks).pipe(stage)),
            (e: unknown) => e instanceof ConfigError && e.option === 'per_device_train_batch_size',
          );
          return true;
        },
      ),
      fcParams({ numRuns: 30 }),
    );
  });

  it('epochs: 0 gives no batches', async () => {
    assert.deepEqual(await toArray(from(tasksOfSizes(VECTOR_TASKS)).pipe(epochShuffle({ seed: 42, epochs: 0 }))), []);
  });

  it('bad world_size or epochs is a ConfigError at construction', () => {
    const bad: Array<[Partial<EpochShuffleOptions>, string]> = [
      [{ worldSize: 0 }, 'world_size'],
      [{ worldSize: -1 }, 'world_size'],
      [{ worldSize: 1.5 }, 'world_size'],
      [{ worldSize: Number.NaN }, 'world_size'],
      [{ epochs: -1 }, 'epochs'],
      [{ epochs: 1.5 }, 'epochs'],
      [{ epochs: Number.NaN }, 'epochs'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => epochShuffle({ seed: 1, ...options }),
        (e: unknown) => e instanceof ConfigError && e.option === option,
        JSON.stringify(options),
      );
    }
  });

  it('a malformed or negative seed is a ConfigError at construction, before anything is read (STYLE §8.3)', () => {
    for (const seed of [1.5, '4e2', 2 ** 60, -1]) {
      assert.throws(() => epochShuffle({ seed }), (e: unknown) => e instanceof ConfigError && e.option === 'seed', String(seed));
    }
  });

  it('a malformed or negative seed (numpy rejects negatives) is a ConfigError when iterated at the latest', async () => {
    for (const seed of [1.5, '4e2', 2 ** 60, -1]) {
      await assert.rejects(
        async () => toArray(from(tasksOfSizes(VECTOR_TASKS)).pipe(epochShuffle({ seed, epochs: 1 }))),
        (e: unknown) => e instanceof ConfigError && e.option === 'seed',
        String(seed),
      );
    }
  });

  it('meta: the properties catch a stage that reports only the first epoch, one that forgets one-record tails, one that repeats a batch, and one that restarts global steps', async () => {
    const reporting =
      (keep: (e: ReportEvent) => boolean): Stage =>
      (o) =>
        epochShuffle({ ...o, report: { add: (e) => (keep(e) ? o.report?.add(e) : undefined) } });
    const rewriting =
      (f: (all: GlobalBatch[]) => GlobalBatch[]): Stage =>
      (o) =>
      (tasks) =>
        from(tasks).pipe(
          epochShuffle(o),
          operator<GlobalBatch, GlobalBatch>(async function* (src) {
            yield* f(await toArray(src));
          }),
        );
    const firstEpochOnly = reporting((e) => !(e.kind === 'tailDropped' && e.epoch > 0));
    const noSingleTails = reporting((e) => !(e.kind === 'tailDropped' && e.records === 1));
    // The last batch of every epoch is replaced by that epoch's first batch.
    const repeated = rewriting((all) =>
      all.map((b, i) => (i + 1 === all.length || all[i + 1]!.epoch !== b.epoch ? { ...all.find((x) => x.epoch === b.epoch)!, step: b.step, globalStep: b.globalStep } : b)),
    );
    const restarting = rewriting((all) => all.map((b) => ({ ...b, globalStep: b.step })));
    const opts = { seed: FC_SEED, numRuns: 100 };
    assert.equal((await fc.check(tailsAreReported(firstEpochOnly), opts)).failed, true);
    assert.equal((await fc.check(tailsAreReported(noSingleTails), opts)).failed, true);
    assert.equal((await fc.check(fullBatchesOfDistinctPositions(repeated), opts)).failed, true);
    assert.equal((await fc.check(positionsCountUp(restarting), opts)).failed, true);
  });
});

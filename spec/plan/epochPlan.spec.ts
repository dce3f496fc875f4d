/**
 * The epoch plan (`refresh_epoch` as a fold): the exact numpy vector of the notes, then laws over
 * random task lists — the three APIs agree, the fold is pure, every task's batches and drops follow
 * from its size, and epochs differ.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../lib/core/errors.js';
import {
  epochPlan,
  epochPlans,
  initialPlanState,
  refreshEpoch,
  type EpochPlan,
  type PlanOptions,
  type PlanState,
  type PlanTask,
} from '../../lib/plan/epochPlan.js';
import type { NumpyRngState } from '../../lib/random/numpyGenerator.js';
import type { Seed } from '../../lib/random/seed.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';

const EPOCHS = 4;

/** Plans of epochs 0…n−1 by folding `refreshEpoch` from the initial state; also the states. */
const fold = (tasks: ReadonlyArray<PlanTask>, options: PlanOptions, n: number): { plans: EpochPlan[]; states: PlanState[] } => {
  let state = initialPlanState(tasks, options.seed);
  const plans: EpochPlan[] = [];
  const states: PlanState[] = [state];
  for (let e = 0; e < n; e++) {
    const [plan, next] = refreshEpoch(tasks, options, state);
    plans.push(plan);
    states.push(next);
    state = next;
  }
  return { plans, states };
};

/** The first n plans of the `epochPlans` generator. */
const generated = (tasks: ReadonlyArray<PlanTask>, options: PlanOptions, n: number): EpochPlan[] => {
  const plans: EpochPlan[] = [];
  for (const plan of epochPlans(tasks, options)) {
    plans.push(plan);
    if (plans.length === n) break;
  }
  return plans;
};

// -------------------------------------------------------------------------------------------------
// shared/notes/numpy-shuffle-spec.md §9.4 (real numpy 2.4.6 through the reference's methods):
// seed 42, num_processes 2, tasks msmarco (10, bs 2), nli (7, bs 3), sts (9, bs 1).
// Rank slices are copied verbatim from the notes; a global batch is rank 0's slice then rank 1's.
// -------------------------------------------------------------------------------------------------
const PIPELINE_TASKS: ReadonlyArray<PlanTask> = [
  { size: 10, batchSize: 2 },
  { size: 7, batchSize: 3 },
  { size: 9, batchSize: 1 },
];
const MSMARCO = 0;
const NLI = 1;
const STS = 2;

interface VectorEpoch {
  readonly taskOrder: ReadonlyArray<number>;
  readonly batches: ReadonlyArray<{ readonly task: number; readonly rankSlices: ReadonlyArray<ReadonlyArray<number>> }>;
  readonly state: string;
  readonly hasUint32: boolean;
  readonly uinteger: number;
}

const PIPELINE_VECTOR: ReadonlyArray<VectorEpoch> = [
  {
    taskOrder: [2, 1, 0],
    batches: [
      { task: STS, rankSlices: [[0], [7]] },
      { task: NLI, rankSlices: [[6, 5, 2], [4, 3, 0]] },
      { task: STS, rankSlices: [[5], [6]] },
      { task: MSMARCO, rankSlices: [[3, 5], [1, 8]] },
      { task: MSMARCO, rankSlices: [[7, 0], [4, 2]] },
      { task: STS, rankSlices: [[4], [8]] },
      { task: STS, rankSlices: [[3], [2]] },
    ],
    state: '0x3dd2494809e72be65cda6a24d5717b3c',
    hasUint32: true,
    uinteger: 0xa1b4c210,
  },
  {
    taskOrder: [0, 1, 2],
    batches: [
      { task: NLI, rankSlices: [[6, 5, 0], [2, 3, 1]] },
      { task: MSMARCO, rankSlices: [[9, 4], [1, 5]] },
      { task: STS, rankSlices: [[2], [6]] },
      { task: STS, rankSlices: [[7], [8]] },
      { task: MSMARCO, rankSlices: [[0, 3], [6, 7]] },
      { task: STS, rankSlices: [[1], [5]] },
      { task: STS, rankSlices: [[4], [3]] },
    ],
    state: '0x3c90410098465cdba485395b6b7b6b2f',
    hasUint32: true,
    uinteger: 0x6fe9302a,
  },
];

describe('epochPlan: the pipeline vector of numpy-shuffle-spec §9.4 (seed 42, world 2)', () => {
  const options: PlanOptions = { seed: 42, worldSize: 2 };
  const { plans, states } = fold(PIPELINE_TASKS, options, 2);

  PIPELINE_VECTOR.forEach((expected, epoch) => {
    it(`epoch ${epoch}: the task order`, () => {
      assert.deepEqual(plans[epoch]!.taskOrder, expected.taskOrder);
      assert.equal(plans[epoch]!.epoch, epoch);
    });

    it(`epoch ${epoch}: every batch's task and per-rank slices`, () => {
      const worldSize = 2;
      const actual = plans[epoch]!.batches.map(({ task, indices }) => {
        const per = indices.length / worldSize;
        return { task, rankSlices: [indices.slice(0, per), indices.slice(per)] };
      });
      assert.deepEqual(actual, expected.batches);
    });

    it(`epoch ${epoch}: the dropped tails (msmarco 10 mod 4, nli 7 mod 6, sts 9 mod 2)`, () => {
      assert.deepEqual(plans[epoch]!.dropped, [2, 1, 1]);
    });

    it(`epoch ${epoch}: the generator state afterwards (state, has_uint32, uinteger)`, () => {
      const rng: NumpyRngState = states[epoch + 1]!.rng;
      assert.equal(rng.state, expected.state);
      assert.equal(rng.hasUint32, expected.hasUint32);
      assert.equal(rng.uinteger, expected.uinteger);
      // The increment is fixed by the seed: no epoch may change it.
      assert.equal(rng.inc, states[0]!.rng.inc);
      assert.equal(states[epoch + 1]!.epoch, epoch + 1);
    });
  });

  it('epochPlan and epochPlans give the same two epochs', () => {
    assert.deepEqual(generated(PIPELINE_TASKS, options, 2), plans);
    assert.deepEqual(epochPlan(PIPELINE_TASKS, options, 1), plans[1]);
  });

  it('a different seed gives a different epoch 0 (the vector is not seed-blind)', () => {
    assert.notDeepEqual(epochPlan(PIPELINE_TASKS, { seed: 43, worldSize: 2 }, 0).batches, plans[0]!.batches);
  });
});

// -------------------------------------------------------------------------------------------------
// Properties
// -------------------------------------------------------------------------------------------------
const seedArb: fc.Arbitrary<Seed> = fc.oneof(
  fc.nat(),
  fc.bigInt({ min: 0n, max: 2n ** 96n }),
  // Above 2^64, as decimal text (three u32 words of entropy).
  fc.bigInt({ min: 2n ** 64n + 1n, max: 2n ** 130n }).map(String),
);

const planInput = fc.record({
  tasks: fc.array(fc.record({ size: fc.integer({ min: 0, max: 60 }), batchSize: fc.integer({ min: 1, max: 5 }) }), { maxLength: 6 }),
  worldSize: fc.integer({ min: 1, max: 4 }),
  seed: seedArb,
});

const show = (seed: Seed): string => (typeof seed === 'bigint' ? `${seed}n` : JSON.stringify(seed));

type PlansOf = (tasks: ReadonlyArray<PlanTask>, options: PlanOptions, n: number) => ReadonlyArray<EpochPlan>;
const foldPlans: PlansOf = (tasks, options, n) => fold(tasks, options, n).plans;

/** For every task and epoch: its batch count, batch length, positions and dropped tail follow from its size alone. */
const sizeLaw = (plansOf: PlansOf) =>
  fc.property(planInput, ({ tasks, worldSize, seed }) => {
    const plans = plansOf(tasks, { seed, worldSize }, EPOCHS);
    for (const plan of plans) {
      assert.equal(plan.dropped.length, tasks.length);
      const sortedOrder = [...plan.taskOrder].sort((a, b) => a - b);
      assert.deepEqual(sortedOrder, tasks.map((_, t) => t), 'the task order is a permutation of the tasks');
      tasks.forEach(({ size, batchSize }, t) => {
        const global = batchSize * worldSize;
        const own = plan.batches.filter((b) => b.task === t);
        assert.equal(own.length, Math.floor(size / global), `task ${t}: number of batches`);
        assert.equal(plan.dropped[t], size % global, `task ${t}: dropped`);
        for (const b of own) assert.equal(b.indices.length, global, `task ${t}: batch length`);
        const positions = own.flatMap((b) => [...b.indices]);
        assert.equal(new Set(positions).size, positions.length, `task ${t}: positions repeat`);
        for (const p of positions) assert.ok(Number.isInteger(p) && p >= 0 && p < size, `task ${t}: position ${p} out of [0, ${size})`);
      });
      for (const b of plan.batches) assert.ok(b.task >= 0 && b.task < tasks.length, `unknown task ${b.task}`);
    }
    return true;
  });

/**
 * Consecutive epochs differ for some task with ≥ 10 records and a full batch: its batches come from a
 * reshuffled permutation, so they repeat by chance only with probability about 1/10! or less.
 */
const changeLaw = (plansOf: PlansOf) =>
  fc.property(planInput, ({ tasks, worldSize, seed }) => {
    const candidates = tasks.map((t, i) => ({ ...t, i })).filter((t) => t.size >= 10 && t.size >= t.batchSize * worldSize);
    if (candidates.length === 0) return true;
    const plans = plansOf(tasks, { seed, worldSize }, EPOCHS);
    const batchesOf = (plan: EpochPlan, task: number) => JSON.stringify(plan.batches.filter((b) => b.task === task).map((b) => b.indices));
    for (let e = 0; e + 1 < EPOCHS; e++) {
      if (!candidates.some(({ i }) => batchesOf(plans[e]!, i) !== batchesOf(plans[e + 1]!, i))) return false;
    }
    return true;
  });

describe(`epochPlan properties (FC_SEED=${FC_SEED})`, () => {
  it('the fold, the generator and the replay agree on epochs 0–3', () => {
    fc.assert(
      fc.property(planInput, ({ tasks, worldSize, seed }) => {
        const options = { seed, worldSize };
        const { plans } = fold(tasks, options, EPOCHS);
        assert.deepEqual(generated(tasks, options, EPOCHS), plans, `generator, seed ${show(seed)}`);
        for (let e = 0; e < EPOCHS; e++) assert.deepEqual(epochPlan(tasks, options, e), plans[e], `replay of epoch ${e}`);
        return true;
      }),
      fcParams({ numRuns: 100 }),
    );
  });

  it('refreshEpoch never mutates the state it is given', () => {
    fc.assert(
      fc.property(planInput, ({ tasks, worldSize, seed }) => {
        const options = { seed, worldSize };
        let state = initialPlanState(tasks, seed);
        for (let e = 0; e < EPOCHS; e++) {
          const before = structuredClone(state);
          const [, next] = refreshEpoch(tasks, options, state);
          assert.deepEqual(state, before, `state of epoch ${e} changed`);
          // Refreshing the same state again gives the same result: nothing hidden was consumed.
          assert.deepEqual(refreshEpoch(tasks, options, state)[1], next);
          state = next;
        }
        return true;
      }),
      fcParams({ numRuns: 100 }),
    );
  });

  it('per task and epoch: floor(size / (batch × world)) batches of batch × world distinct positions in [0, size); the rest is dropped', () => {
    fc.assert(sizeLaw(foldPlans), fcParams({ numRuns: 150 }));
  });

  it('epoch e+1 differs from epoch e for some task (when a task has ≥ 10 records and a full batch)', () => {
    fc.assert(changeLaw(foldPlans), fcParams({ numRuns: 100 }));
  });

  it('the laws can fail: a plan that loses a batch, and a plan that repeats epoch 0', () => {
    const losesABatch: PlansOf = (tasks, options, n) => foldPlans(tasks, options, n).map((p) => ({ ...p, batches: p.batches.slice(1) }));
    const repeatsEpoch0: PlansOf = (tasks, options, n) => {
      const [first] = foldPlans(tasks, options, 1);
      return Array.from({ length: n }, (_, epoch) => ({ ...first!, epoch }));
    };
    assert.equal(fc.check(sizeLaw(losesABatch), fcParams({ numRuns: 100 })).failed, true);
    assert.equal(fc.check(changeLaw(repeatsEpoch0), fcParams({ numRuns: 100 })).failed, true);
  });

  it('a seed spelled as decimal text, bigint or number gives the same plan', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), (seed) => {
        const tasks = [{ size: 12, batchSize: 2 }];
        const a = epochPlan(tasks, { seed }, 1);
        assert.deepEqual(epochPlan(tasks, { seed: String(seed) }, 1), a);
        assert.deepEqual(epochPlan(tasks, { seed: Number(seed) }, 1), a);
        return true;
      }),
      fcParams({ numRuns: 30 }),
    );
  });
});

describe('epochPlan: bad options are ConfigErrors', () => {
  const tasks: ReadonlyArray<PlanTask> = [{ size: 4, batchSize: 2 }];
  const isConfigError = (option: string) => (e: unknown) => e instanceof ConfigError && e.option === option;

  for (const worldSize of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`world_size ${worldSize}, in all three APIs`, () => {
      assert.throws(() => refreshEpoch(tasks, { seed: 1, worldSize }, initialPlanState(tasks, 1)), isConfigError('world_size'));
      assert.throws(() => epochPlan(tasks, { seed: 1, worldSize }, 0), isConfigError('world_size'));
      assert.throws(() => epochPlans(tasks, { seed: 1, worldSize }), isConfigError('world_size'));
    });
  }

  for (const epoch of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    it(`epoch ${epoch}`, () => {
      assert.throws(() => epochPlan(tasks, { seed: 1 }, epoch), isConfigError('epoch'));
    });
  }

  for (const bad of [{ size: 4, batchSize: 0 }, { size: -1, batchSize: 1 }, { size: 3, batchSize: 1.5 }]) {
    it(`task ${JSON.stringify(bad)}, in all three APIs (a zero batch size would plan forever)`, () => {
      assert.throws(() => initialPlanState([bad], 1), isConfigError('tasks'));
      assert.throws(() => epochPlan([bad], { seed: 1 }, 0), isConfigError('tasks'));
      assert.throws(() => epochPlans([bad], { seed: 1 }), isConfigError('tasks'));
    });
  }

  it('a valid epoch and world size do not throw (the checks are not blanket)', () => {
    assert.doesNotThrow(() => epochPlan(tasks, { seed: 1, worldSize: 2 }, 0));
  });
});

/**
 * The reference's batch order (`refresh_epoch`) as pure functions over task sizes: which records
 * form each global batch, epoch after epoch, and what each epoch drops.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { NumpyGenerator, type NumpyRngState } from '../random/numpyGenerator.js';
import type { Seed } from '../random/seed.js';

/**
 * What the plan needs of a task: its record count and per-device batch size.
 *
 * @category plan
 */
export interface PlanTask {
  readonly size: number;
  readonly batchSize: number;
}

/**
 * Options of the plan.
 *
 * @category plan
 */
export interface PlanOptions {
  /** `np.random.default_rng(seed)`: one generator for every epoch. */
  readonly seed: Seed;
  /** Number of ranks; a global batch is `batchSize × worldSize` records. Default: 1. */
  readonly worldSize?: number;
}

/**
 * One global batch: a task and positions in it (`batchSize × worldSize` of them).
 *
 * @category plan
 */
export interface PlannedBatch {
  readonly task: number;
  readonly indices: ReadonlyArray<number>;
}

/**
 * One epoch: batches in training order, the task order that produced them, and each task's dropped
 * tail (records that did not fill a last global batch; 0 when the task divides evenly).
 *
 * @category plan
 */
export interface EpochPlan {
  readonly epoch: number;
  readonly taskOrder: ReadonlyArray<number>;
  readonly batches: ReadonlyArray<PlannedBatch>;
  readonly dropped: ReadonlyArray<number>;
}

/**
 * Everything the next `refresh_epoch` depends on. The reference shuffles its arrays in place, so an
 * epoch's order depends on the previous epoch's: that history is this value.
 *
 * @category plan
 */
export interface PlanState {
  /** The epoch the next refresh produces. */
  readonly epoch: number;
  readonly rng: NumpyRngState;
  readonly taskOrder: ReadonlyArray<number>;
  readonly taskIndices: ReadonlyArray<ReadonlyArray<number>>;
}

const validateWorldSize = (worldSize: number): number => {
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new ConfigError('world_size', `must be a positive integer, got ${worldSize}`);
  return worldSize;
};

const validateTasks = (tasks: ReadonlyArray<PlanTask>): void => {
  tasks.forEach((t, i) => {
    if (!Number.isSafeInteger(t.size) || t.size < 0) throw new ConfigError('tasks', `task ${i}: size must be a non-negative integer, got ${t.size}`);
    if (!Number.isSafeInteger(t.batchSize) || t.batchSize < 1) throw new ConfigError('tasks', `task ${i}: batch size must be a positive integer, got ${t.batchSize}`);
  });
};

/**
 * The error of a corpus in which no task fills one global batch: an epoch would have no steps (the
 * reference would train on nothing).
 *
 * @category plan
 */
export const noStepsError = (tasks: ReadonlyArray<{ readonly name: string; readonly size: number; readonly globalBatchSize: number }>): ConfigError =>
  new ConfigError(
    'per_device_train_batch_size',
    `no task fills one global batch (batch size × world size), so an epoch has no steps: ${tasks.map((t) => `${t.name}: ${t.size} records, global batch ${t.globalBatchSize}`).join('; ')}`,
  );

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * The state before epoch 0: a fresh generator, tasks in file order, each task's records in order.
 *
 * @category plan
 */
export const initialPlanState = (tasks: ReadonlyArray<PlanTask>, seed: Seed): PlanState => {
  validateTasks(tasks);
  return {
  epoch: 0,
  rng: NumpyGenerator.fromSeed(seed).state(),
  taskOrder: range(tasks.length),
  taskIndices: tasks.map((t) => range(t.size)),
  };
};

/** The body of `refresh_epoch`, on private mutable copies. */
const refreshInPlace = (
  tasks: ReadonlyArray<PlanTask>,
  worldSize: number,
  epoch: number,
  generator: NumpyGenerator,
  taskOrder: number[],
  taskIndices: ReadonlyArray<Int32Array | number[]>,
): EpochPlan => {
  generator.shuffle(taskOrder);
  const batches: PlannedBatch[] = [];
  const dropped = tasks.map(() => 0);
  for (const task of taskOrder) {
    const indices = taskIndices[task]!;
    generator.shuffle(indices);
    const global = tasks[task]!.batchSize * worldSize;
    const full = Math.floor(indices.length / global);
    // Copies, not views: the next epoch reshuffles these arrays in place.
    for (let b = 0; b < full; b++) batches.push({ task, indices: Array.from(indices.slice(b * global, (b + 1) * global)) });
    dropped[task] = indices.length - full * global;
  }
  generator.shuffle(batches);
  return { epoch, taskOrder: taskOrder.slice(), batches, dropped };
};

/**
 * One `refresh_epoch`: the next epoch's plan and the state after it. Pure.
 *
 * **Details**, on one numpy generator, in this order: shuffle the task order (last epoch's order,
 * in place); for each task in that order shuffle its positions (again last epoch's) and cut global
 * batches of `batchSize × worldSize`, dropping the incomplete tail; shuffle the list of batches.
 *
 * @example
 * const [epoch0, next] = refreshEpoch(tasks, { seed: 42, worldSize: 2 }, initialPlanState(tasks, 42));
 *
 * @category plan
 */
export const refreshEpoch = (
  tasks: ReadonlyArray<PlanTask>,
  options: PlanOptions,
  state: PlanState,
): readonly [EpochPlan, PlanState] => {
  const worldSize = validateWorldSize(options.worldSize ?? 1);
  validateTasks(tasks);
  const generator = NumpyGenerator.fromState(state.rng);
  const taskOrder = state.taskOrder.slice();
  const taskIndices = state.taskIndices.map((xs) => xs.slice());
  const plan = refreshInPlace(tasks, worldSize, state.epoch, generator, taskOrder, taskIndices);
  return [plan, { epoch: state.epoch + 1, rng: generator.state(), taskOrder, taskIndices }] as const;
};

/**
 * Every epoch's plan, forever, from epoch 0 (or from `start`). Lazy; each step is one
 * `refresh_epoch` on private state, so iterating it is cheap and restarting it gives the same plans.
 *
 * @example
 * for (const plan of epochPlans(tasks, { seed: 42 })) { if (plan.epoch === 3) break; }
 *
 * @category plan
 */
export const epochPlans = (tasks: ReadonlyArray<PlanTask>, options: PlanOptions): Generator<EpochPlan, never, undefined> => {
  // Checked here, not on the first next(): bad options fail where the plan is asked for.
  const worldSize = validateWorldSize(options.worldSize ?? 1);
  validateTasks(tasks);
  const generator = NumpyGenerator.fromSeed(options.seed);
  return (function* () {
    const taskOrder = range(tasks.length);
    const taskIndices = tasks.map((t) => Int32Array.from(range(t.size)));
    for (let epoch = 0; ; epoch++) yield refreshInPlace(tasks, worldSize, epoch, generator, taskOrder, taskIndices);
  })();
};

/**
 * The plan of epoch `epoch`, by replaying epochs 0…epoch (only index shuffles, no data).
 *
 * @example
 * epochPlan(tasks, { seed: 42, worldSize: 2 }, 3).batches.length;
 *
 * @category plan
 */
export const epochPlan = (tasks: ReadonlyArray<PlanTask>, options: PlanOptions, epoch: number): EpochPlan => {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ConfigError('epoch', `must be a non-negative integer, got ${epoch}`);
  for (const plan of epochPlans(tasks, options)) if (plan.epoch === epoch) return plan;
  throw new Error('unreachable: epochPlans is infinite');
};

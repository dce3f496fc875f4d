import type { ReadonlyNonEmptyArray } from 'fp-ts/ReadonlyNonEmptyArray';
import { ConfigError } from '../core/errors.js';
import type { GlobalBatch, Task } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import type { ReportSink } from '../core/report.js';
import { epochPlans } from '../plan/epochPlan.js';
import { parseSeed, type Seed } from '../random/seed.js';

/**
 * Options of {@link epochShuffle}.
 *
 * @category stages
 */
export interface EpochShuffleOptions {
  /** The run's seed (the reference's `np.random.default_rng(seed)`). Required. */
  readonly seed: Seed;
  /** Number of ranks; every rank must use the same value. Default: 1. */
  readonly worldSize?: number;
  /** Stop after this many epochs. Default: never (the reference refreshes forever). */
  readonly epochs?: number;
  /** Receives a `tailDropped` event per task and epoch whose last global batch was incomplete. */
  readonly report?: ReportSink;
}

/** @internal */
export const validateEpochShuffleOptions = (options: EpochShuffleOptions): { worldSize: number; epochs: number } => {
  parseSeed(options.seed, { allowNegative: false }); // numpy's default_rng rejects negative seeds
  const worldSize = options.worldSize ?? 1;
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new ConfigError('world_size', `must be a positive integer, got ${worldSize}`);
  const epochs = options.epochs ?? Infinity;
  if (epochs !== Infinity && (!Number.isSafeInteger(epochs) || epochs < 0)) throw new ConfigError('epochs', `must be a non-negative integer, got ${epochs}`);
  return { worldSize, epochs };
};

/**
 * Turns tasks into global batches in the reference's order, epoch after epoch.
 *
 * **Details**: each epoch is one `refresh_epoch` (see `refreshEpoch`): tasks shuffled, each task's
 * records shuffled and cut into global batches of `batchSize × worldSize` (the incomplete tail is
 * dropped and reported), batches shuffled. Every rank computes the same global batches.
 *
 * **Gotchas**: reads all tasks before the first batch (the plan needs every task's size; it keeps
 * only positions). Infinite unless `epochs` is set: follow it with `take(n)`. A corpus in which no
 * task fills one global batch is a {@link ConfigError} (the reference would have zero steps).
 *
 * @example
 * tasks.pipe(epochShuffle({ seed: 42, worldSize: 2 }), take(100));
 *
 * @category stages
 */
export const epochShuffle = (options: EpochShuffleOptions): Op<Task, GlobalBatch> => {
  const { worldSize, epochs } = validateEpochShuffleOptions(options);
  return operator(async function* (source, signal) {
    const tasks: Task[] = [];
    for await (const task of source) tasks.push(task);
    let globalStep = 0;
    for (const plan of epochPlans(
      tasks.map((t) => ({ size: t.records.length, batchSize: t.batchSize })),
      { seed: options.seed, worldSize },
    )) {
      if (plan.epoch >= epochs) return;
      if (plan.batches.length === 0) {
        const sizes = tasks.map((t) => `${t.name}: ${t.records.length} records, global batch ${t.batchSize * worldSize}`).join('; ');
        throw new ConfigError('per_device_train_batch_size', `no task fills one global batch (batch size × world size), so an epoch has no steps: ${sizes}`);
      }
      plan.dropped.forEach((records, task) => {
        if (records > 0) options.report?.add({ kind: 'tailDropped', epoch: plan.epoch, task: tasks[task]!.name, records });
      });
      for (const [step, batch] of plan.batches.entries()) {
        signal?.throwIfAborted();
        yield {
          epoch: plan.epoch,
          step,
          globalStep: globalStep++,
          task: tasks[batch.task]!,
          indices: batch.indices as ReadonlyNonEmptyArray<number>,
          worldSize,
        };
      }
    }
  });
};

import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError } from '../core/errors.js';
import type { GlobalBatch, ResumeState, ResumeStateV1, Task } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import type { ProgressSink } from '../core/progress.js';
import type { ReportSink } from '../core/report.js';
import { checkResumeState, dataFingerprint, legacyDataFingerprint, resumePlan, ResumeError } from '../core/resume.js';
import { epochPlans, noStepsError } from '../plan/epochPlan.js';
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
  /**
   * `per_device_train_batch_size`: recorded in resume states, and checked on an elastic resume (the
   * global batch size must stay the same). Default: not recorded, not checked.
   */
  readonly perDeviceTrainBatchSize?: number;
  /** Stop after this many epochs. Default: never (the reference refreshes forever). */
  readonly epochs?: number;
  /** Receives a `tailDropped` event per task and epoch whose last global batch was incomplete. */
  readonly report?: ReportSink;
  /**
   * Continue from this state: the steps before it are emitted as `replay` batches (never read or
   * tokenized; `sampleGroup` replays their random draws), so that every later batch equals an
   * uninterrupted run's. A state from another world size resumes elastically (see `resumePlan`).
   * Default: start at step 0.
   */
  readonly resumeFrom?: ResumeState | ResumeStateV1 | null;
  /**
   * The configuration's and tokenizer's fingerprints, carried in every batch's resume state and
   * checked against `resumeFrom` (with the data's, computed here); `legacyConfig` is the version 1
   * configuration fingerprint, to check version 1 states. The composed pipeline fills it. Default:
   * empty strings.
   */
  readonly fingerprint?: { readonly config: string; readonly tokenizer: string; readonly legacyConfig?: string };
  /**
   * Where a resume far from the start shows how far its replay is (the steps before the state are
   * not read, but their random draws are replayed: about 30 µs per step here, so minutes for
   * 10^7 steps) and how long the rest will take. Default: nowhere.
   */
  readonly progress?: ProgressSink;
}

/** Replays shorter than this are not shown (they take well under a second). */
const QUIET_REPLAY_STEPS = 20_000;

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
 * dropped and reported), batches shuffled. Every rank computes the same global batches. Each batch
 * carries the {@link ResumeState} to continue after it, with the plan's geometry.
 *
 * **Elastic resume**: a `resumeFrom` written under another world size keeps its plan (the original
 * world size and each task's global batch size, `resumePlan`): the global batches from the resume
 * point on are the original run's, in the same order, and each is split across this run's
 * `worldSize` ranks. Batches then say `planWorldSize` (the original) besides `worldSize`.
 *
 * **Gotchas**: reads all tasks before the first batch (the plan needs every task's size; it keeps
 * only positions). Infinite unless `epochs` is set: follow it with `take(n)`. A corpus in which no
 * task fills one global batch is a {@link ConfigError} (the reference would have zero steps). A
 * `resumeFrom` made with other data, configuration or tokenizer, or with another global batch size,
 * is a `ResumeError`.
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
    const fingerprint = { data: dataFingerprint(tasks), config: options.fingerprint?.config ?? '', tokenizer: options.fingerprint?.tokenizer ?? '' };
    const resumeFrom = options.resumeFrom ?? null;
    if (resumeFrom !== null) {
      checkResumeState(resumeFrom, { ...fingerprint, legacy: { data: legacyDataFingerprint(tasks), config: options.fingerprint?.legacyConfig ?? '' } });
    }
    const plan = resumePlan(resumeFrom, tasks, { worldSize, perDeviceTrainBatchSize: options.perDeviceTrainBatchSize ?? null });
    const planWorldSize = plan.worldSize;
    const start = resumeFrom?.globalStep ?? 0;
    let globalStep = 0;
    const replay = start >= QUIET_REPLAY_STEPS ? options.progress?.start(`resuming at step ${start.toLocaleString('en-US')}: replaying the random draws of the steps before it`, { total: start, unit: 'steps' }) : undefined;
    try {
      // The plan only needs each task's global batch size: given as the batch size of a world of one.
      for (const epochPlan of epochPlans(
        tasks.map((t, i) => ({ size: t.store.size, batchSize: plan.globalBatchSizes[i]! })),
        { seed: options.seed, worldSize: 1 },
      )) {
        if (epochPlan.epoch >= epochs) return;
        if (epochPlan.batches.length === 0) throw noStepsError(tasks.map((t, i) => ({ name: t.name, size: t.store.size, globalBatchSize: plan.globalBatchSizes[i]! })));
        epochPlan.dropped.forEach((records, task) => {
          if (records > 0) options.report?.add({ kind: 'tailDropped', epoch: epochPlan.epoch, task: tasks[task]!.name, records });
        });
        for (const [step, batch] of epochPlan.batches.entries()) {
          signal?.throwIfAborted();
          if (globalStep === start && resumeFrom !== null && (resumeFrom.epoch !== epochPlan.epoch || resumeFrom.step !== step)) {
            throw new ResumeError(
              `the resume state says step ${start} is epoch ${resumeFrom.epoch} step ${resumeFrom.step}, but this run's plan has it at epoch ${epochPlan.epoch} step ${step}`,
            );
          }
          if (replay !== undefined && (globalStep % 4096 === 0 || globalStep === start)) {
            replay.update(globalStep);
            if (globalStep === start) replay.end();
          }
          const last = step + 1 === epochPlan.batches.length;
          yield {
            epoch: epochPlan.epoch,
            step,
            globalStep,
            task: tasks[batch.task]!,
            indices: batch.indices as ReadonlyNonEmptyArray<number>,
            worldSize,
            planWorldSize,
            replay: globalStep < start,
            resume: {
              version: 2,
              globalStep: globalStep + 1,
              epoch: last ? epochPlan.epoch + 1 : epochPlan.epoch,
              step: last ? 0 : step + 1,
              fingerprint,
              plan,
            },
          };
          globalStep += 1;
        }
      }
    } finally {
      replay?.end();
    }
  });
};

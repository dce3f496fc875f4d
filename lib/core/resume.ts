/**
 * Resume states: where a run stopped, and proof of what produced it, so that a run can continue
 * exactly, or refuse to.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { atomicWriteFile } from './atomicFile.js';
import type { ResumePlan, ResumeState, ResumeStateV1, Task } from './model.js';

/**
 * A resume state that does not belong to this run (other data, configuration or tokenizer), or
 * that cannot be read.
 *
 * @category errors
 */
export class ResumeError extends Error {
  readonly _tag = 'ResumeError' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ResumeError';
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** JSON with sorted keys, so equal values hash equally whatever order they were written in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : typeof v === 'bigint'
        ? v.toString()
        : v,
  );

/**
 * The fingerprint of a run's data: every task in order, with its files' content fingerprints, size
 * and flags (not the paths, and not the batch sizes: those belong to the plan, {@link ResumePlan}).
 *
 * @category constructors
 */
export const dataFingerprint = (tasks: ReadonlyArray<Task>): string =>
  // Contents, not paths: the same data mounted elsewhere (another machine, another rank) resumes.
  sha256(canonical(tasks.map((t) => ({ data: t.fingerprint, size: t.store.size, noInBatchNeg: t.noInBatchNeg, type: t.type ?? null }))));

/**
 * The data fingerprint of version 1 states (with each task's per-device batch size). Frozen: it is
 * how version 1 states are still checked.
 *
 * @category constructors
 */
export const legacyDataFingerprint = (tasks: ReadonlyArray<Task>): string =>
  sha256(canonical(tasks.map((t) => ({ data: t.fingerprint, size: t.store.size, batchSize: t.batchSize, noInBatchNeg: t.noInBatchNeg, type: t.type ?? null }))));

/**
 * The fingerprint of the options that shape the output (pass only those; not rank, report or
 * performance knobs).
 *
 * @category constructors
 */
export const configFingerprint = (options: Readonly<Record<string, unknown>>): string => sha256(canonical(options));

/**
 * What a run checks a resume state against: its fingerprints, and (to keep version 1 states
 * readable) the data and configuration fingerprints version 1 computed.
 *
 * @category models
 */
export interface RunFingerprints {
  readonly data: string;
  readonly config: string;
  readonly tokenizer: string;
  readonly legacy?: { readonly data: string; readonly config: string };
}

/**
 * The state before step 0 of a run with these fingerprints and this plan.
 *
 * @category constructors
 */
export const initialResumeState = (fingerprint: ResumeState['fingerprint'], plan: ResumePlan): ResumeState => ({
  version: 2,
  globalStep: 0,
  epoch: 0,
  step: 0,
  fingerprint,
  plan,
});

/**
 * Checks that `state` was made by a run with the same data, configuration and tokenizer. A version 1
 * state is checked against the fingerprints version 1 computed (`fingerprint.legacy`).
 *
 * @throws {ResumeError} naming what differs.
 *
 * @category constructors
 */
export const checkResumeState = (state: ResumeState | ResumeStateV1, fingerprint: RunFingerprints): void => {
  const legacy = state.version === 1;
  if (legacy && fingerprint.legacy === undefined) {
    throw new ResumeError('the resume state is a version 1 state, and this run cannot check it (no version 1 fingerprints were given to the stage)');
  }
  const expected = legacy ? { ...fingerprint.legacy!, tokenizer: fingerprint.tokenizer } : fingerprint;
  const differs = (['data', 'config', 'tokenizer'] as const).filter((k) => state.fingerprint[k] !== expected[k]);
  if (differs.length > 0) {
    const what = { data: 'the data (task files, their contents, or how they group into tasks)', config: 'the configuration', tokenizer: 'the tokenizer' };
    const v1 = legacy
      ? '; it is a version 1 state (written before elastic resume), which resumes only under the world_size and per_device_train_batch_size it was written with'
      : '';
    throw new ResumeError(
      `the resume state does not fit this run: ${differs.map((k) => what[k]).join(' and ')} differ${v1}; continuing would not reproduce the interrupted run (state fingerprints ${JSON.stringify(state.fingerprint)}, this run ${JSON.stringify({ data: expected.data, config: expected.config, tokenizer: expected.tokenizer })})`,
    );
  }
};

/**
 * The plan a run resumes with: the world size the plan was made with and each task's global batch
 * size, carried from `state` (or, for a fresh run or a version 1 state, derived from this run's
 * options).
 *
 * **Details**: a state resumes under another world size W′ (elastic resume) when the global batch
 * size stays the same: `per_device_train_batch_size × world_size` of this run must equal the
 * state's, and every task's carried global batch size must split evenly across W′ ranks. Tasks
 * whose batch size is their own (a file's `batch_size`, symmetric halving, merged small files) keep
 * their carried global size: from the resume point the global batches are the original run's, in
 * the original order, whatever W′.
 *
 * @throws {ResumeError} when the global batch size would change, when W′ does not divide a task's
 * global batch size, or when a version 1 state is resumed under another world size.
 *
 * @example
 * resumePlan(state, tasks, { worldSize: 4, perDeviceTrainBatchSize: 8 }); // a state from 8 ranks × 4
 *
 * @category plan
 */
export const resumePlan = (
  state: ResumeState | ResumeStateV1 | null,
  tasks: ReadonlyArray<Task>,
  run: { readonly worldSize: number; readonly perDeviceTrainBatchSize: number | null },
): ResumePlan => {
  const derived: ResumePlan = { worldSize: run.worldSize, perDeviceTrainBatchSize: run.perDeviceTrainBatchSize, globalBatchSizes: tasks.map((t) => t.batchSize * run.worldSize) };
  // A version 1 state passed its fingerprints, which include the world size and per-device batch size: nothing changed.
  if (state === null || state.version === 1) return derived;
  const plan = state.plan;
  if (plan.globalBatchSizes.length !== tasks.length) {
    throw new ResumeError(`the resume state's plan has ${plan.globalBatchSizes.length} tasks, this run has ${tasks.length}`);
  }
  const P = plan.perDeviceTrainBatchSize;
  const P2 = run.perDeviceTrainBatchSize;
  if (P !== null && P2 !== null && P * plan.worldSize !== P2 * run.worldSize) {
    const global = P * plan.worldSize;
    const fix =
      global % run.worldSize === 0
        ? `use per_device_train_batch_size ${global / run.worldSize} with world_size ${run.worldSize}`
        : `no per-device batch size gives ${global} on ${run.worldSize} ranks; use a world size that divides ${global}`;
    throw new ResumeError(
      `the global batch size would change: the state was written with per_device_train_batch_size ${P} × world_size ${plan.worldSize} = ${global}, this run has ${P2} × ${run.worldSize} = ${P2 * run.worldSize}; a run resumes with the same global batch size (${fix})`,
    );
  }
  const named = (i: number) => `${tasks[i]!.name} (global batch ${plan.globalBatchSizes[i]})`;
  if (run.worldSize === plan.worldSize) {
    const changed = tasks.flatMap((_, i) => (derived.globalBatchSizes[i] !== plan.globalBatchSizes[i] ? [i] : []));
    if (changed.length > 0) {
      throw new ResumeError(
        `this run's global batch sizes differ from the state's at the same world size: ${changed.map((i) => `${named(i)}, now ${derived.globalBatchSizes[i]}`).join('; ')}`,
      );
    }
  }
  // Only tasks that fill a global batch ever reach a rank.
  const uneven = tasks.flatMap((t, i) => (t.store.size >= plan.globalBatchSizes[i]! && plan.globalBatchSizes[i]! % run.worldSize !== 0 ? [i] : []));
  if (uneven.length > 0) {
    throw new ResumeError(
      `world_size ${run.worldSize} does not divide the global batch size of ${uneven.map(named).join(', ')}, so its global batches cannot be split evenly across ${run.worldSize} ranks (the state was written with world_size ${plan.worldSize})`,
    );
  }
  return { ...plan };
};

const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isPositive = (x: unknown): x is number => isNat(x) && x > 0;

/**
 * Reads a resume state from JSON, checking its shape: version 2, or version 1 (written before
 * elastic resume; it resumes only under its own world size and batch size).
 *
 * @throws {ResumeError} when it is not a resume state.
 *
 * @category constructors
 */
export const decodeResumeState = (u: unknown, where = 'resume state'): ResumeState | ResumeStateV1 => {
  const o = u as Partial<ResumeState> | Partial<ResumeStateV1> | null;
  const common =
    o !== null &&
    typeof o === 'object' &&
    isNat(o.globalStep) &&
    isNat(o.epoch) &&
    isNat(o.step) &&
    typeof o.fingerprint === 'object' &&
    o.fingerprint !== null &&
    ['data', 'config', 'tokenizer'].every((k) => typeof (o.fingerprint as Record<string, unknown>)[k] === 'string');
  if (common && o.version === 1) return o as ResumeStateV1;
  const plan = (o as Partial<ResumeState> | null)?.plan as Partial<ResumePlan> | undefined;
  const planOk =
    typeof plan === 'object' &&
    plan !== null &&
    isPositive(plan.worldSize) &&
    (plan.perDeviceTrainBatchSize === null || isPositive(plan.perDeviceTrainBatchSize)) &&
    Array.isArray(plan.globalBatchSizes) &&
    plan.globalBatchSizes.every(isPositive);
  if (common && o.version === 2 && planOk) return o as ResumeState;
  throw new ResumeError(
    `${where} is not a resume state (version 2 with globalStep, epoch, step, data/config/tokenizer fingerprints and the plan's worldSize, perDeviceTrainBatchSize and globalBatchSizes; or version 1)`,
  );
};

/**
 * Reads a resume state file.
 *
 * @category constructors
 */
export const readResumeState = async (file: string): Promise<ResumeState | ResumeStateV1> => {
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new ResumeError(`cannot read ${file}: ${e.message}`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ResumeError(`${file} is not JSON: ${(e as Error).message}`);
  }
  return decodeResumeState(parsed, file);
};

/**
 * Writes a resume state file atomically (a random, exclusively created temporary file, flushed,
 * then renamed over `file`), so that a crash, even `kill -9`, never leaves half a state behind:
 * `file` holds the old state or the new one.
 *
 * @category sinks
 */
export const writeResumeState = (file: string, state: ResumeState | ResumeStateV1): Promise<void> => atomicWriteFile(file, `${JSON.stringify(state, null, 2)}\n`);

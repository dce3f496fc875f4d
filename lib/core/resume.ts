/**
 * Resume states: where a run stopped, and proof of what produced it, so that a run can continue
 * exactly, or refuse to.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { atomicWriteFile } from './atomicFile.js';
import type { ResumeState, Task } from './model.js';

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
 * The fingerprint of a run's data: every task in order, with its files' content fingerprints, size,
 * batch size and flags (not the paths).
 *
 * @category constructors
 */
export const dataFingerprint = (tasks: ReadonlyArray<Task>): string =>
  // Contents, not paths: the same data mounted elsewhere (another machine, another rank) resumes.
  sha256(canonical(tasks.map((t) => ({ data: t.fingerprint, size: t.store.size, batchSize: t.batchSize, noInBatchNeg: t.noInBatchNeg, type: t.type ?? null }))));

/**
 * The fingerprint of the options that shape the output (pass only those; not rank, report or
 * performance knobs).
 *
 * @category constructors
 */
export const configFingerprint = (options: Readonly<Record<string, unknown>>): string => sha256(canonical(options));

/**
 * The state before step 0 of a run with these fingerprints.
 *
 * @category constructors
 */
export const initialResumeState = (fingerprint: ResumeState['fingerprint']): ResumeState => ({
  version: 1,
  globalStep: 0,
  epoch: 0,
  step: 0,
  fingerprint,
});

/**
 * Checks that `state` was made by a run with the same fingerprints.
 *
 * @throws {ResumeError} naming what differs.
 *
 * @category constructors
 */
export const checkResumeState = (state: ResumeState, fingerprint: ResumeState['fingerprint']): void => {
  const differs = (['data', 'config', 'tokenizer'] as const).filter((k) => state.fingerprint[k] !== fingerprint[k]);
  if (differs.length > 0) {
    const what = { data: 'the data (task files, their contents, or how they group into tasks)', config: 'the configuration', tokenizer: 'the tokenizer' };
    throw new ResumeError(
      `the resume state does not fit this run: ${differs.map((k) => what[k]).join(' and ')} differ; continuing would not reproduce the interrupted run (state fingerprints ${JSON.stringify(state.fingerprint)}, this run ${JSON.stringify(fingerprint)})`,
    );
  }
};

/**
 * Reads a resume state from JSON, checking its shape.
 *
 * @throws {ResumeError} when it is not a resume state.
 *
 * @category constructors
 */
export const decodeResumeState = (u: unknown, where = 'resume state'): ResumeState => {
  const o = u as Partial<ResumeState> | null;
  const nat = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  const ok =
    o !== null &&
    typeof o === 'object' &&
    o.version === 1 &&
    nat(o.globalStep) &&
    nat(o.epoch) &&
    nat(o.step) &&
    typeof o.fingerprint === 'object' &&
    o.fingerprint !== null &&
    ['data', 'config', 'tokenizer'].every((k) => typeof (o.fingerprint as Record<string, unknown>)[k] === 'string');
  if (!ok) throw new ResumeError(`${where} is not a resume state (version 1 with globalStep, epoch, step and data/config/tokenizer fingerprints)`);
  return o as ResumeState;
};

/**
 * Reads a resume state file.
 *
 * @category constructors
 */
export const readResumeState = async (file: string): Promise<ResumeState> => {
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
export const writeResumeState = (file: string, state: ResumeState): Promise<void> => atomicWriteFile(file, `${JSON.stringify(state, null, 2)}\n`);

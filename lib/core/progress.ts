/**
 * Progress of long work (indexing task files; later exports and far resumes), as calls that a
 * caller renders or ignores. Like {@link ReportSink} it is passed in explicitly: code that does long
 * work takes an optional `progress` and says how far it is; the command line draws it on stderr.
 *
 * @module
 */

/**
 * What `done` and `total` count.
 *
 * @category models
 */
export type ProgressUnit = 'bytes' | 'files' | 'records' | 'steps';

/**
 * One piece of long work in progress.
 *
 * @category models
 */
export interface ProgressTask {
  /** `done` units so far (of the task's `total`, when it has one); `note` says what is being worked on now. */
  readonly update: (done: number, note?: string) => void;
  /** The work is over (finished, failed or abandoned): nothing more is shown for it. Calling it again does nothing. */
  readonly end: () => void;
}

/**
 * Where long work reports how far it is.
 *
 * @example
 * const task = progress.start('indexing task files', { total: bytes, unit: 'bytes' });
 * task.update(done, 'faq.jsonl');
 * task.end();
 *
 * @category models
 */
export interface ProgressSink {
  readonly start: (label: string, options?: { readonly total?: number; readonly unit?: ProgressUnit }) => ProgressTask;
}

/**
 * A sink that shows nothing.
 *
 * @category sinks
 */
export const noProgress: ProgressSink = { start: () => ({ update: () => undefined, end: () => undefined }) };

/**
 * How the command lets V8 grow its heap. A choice between memory and speed, made per command:
 *
 * - `'lean'` (what the command starts with): a growth factor of 1.3 at each collection. V8's own
 *   factor lets the heap grow to several times what a run keeps alive while allocation is fast (the
 *   command's peak RSS on the 2 GB streaming benchmark: about 410 MB, for 130 MB live); 1.3 keeps
 *   it near 280 MB (README: At corpus scale; 1.6 gave 288–302 MB, too close to the 300 MB the
 *   command is held to). It is a growth factor, not a cap: a run that needs more memory still gets it.
 * - `'roomy'`: a factor of 2, for `dump --format arrow`, whose reader is a training process on the
 *   same machine. With the lean factor V8 marks the live heap (tokenizer, caches) two to three
 *   times as often (10 full collections against 4 in 300 steps), and the concurrent marking
 *   competes with the reader for the cores: in paired rounds the stream delivered 0.77× the
 *   pipeline's in-process rate against 0.88× with a factor of 2 (8 rounds), 0.84× against 0.86×
 *   (9 rounds; V8's own factor 0.88×). V8's own factor peaked at 436–467 MB on the streaming
 *   benchmark, 2 at 328 MB (README: At corpus scale).
 *
 * V8 reads the factor at every collection, so it can be changed while the command runs. A flag of
 * the user's own (`node --heap-growing-percent=N`) wins over both.
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8';

/** @category sinks */
export type HeapGrowth = 'lean' | 'roomy';

const setByUser = (execArgv: ReadonlyArray<string>, nodeOptions: string | undefined): boolean =>
  [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((flag) => /^--heap[-_]growing[-_]percent/.test(flag));

/**
 * Sets V8's heap growth for the rest of the run, unless the user set it (node's own flags, or
 * NODE_OPTIONS). Returns whether it did.
 *
 * @example
 * setHeapGrowth('lean'); // the command's start
 *
 * @category sinks
 */
export const setHeapGrowth = (growth: HeapGrowth, execArgv: ReadonlyArray<string> = process.execArgv, nodeOptions: string | undefined = process.env['NODE_OPTIONS']): boolean => {
  if (setByUser(execArgv, nodeOptions)) return false;
  setFlagsFromString(`--heap-growing-percent=${growth === 'lean' ? 30 : 100}`);
  return true;
};

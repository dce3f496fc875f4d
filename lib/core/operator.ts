/**
 * The one shape every stage has: `stage(options) => Op<In, Out>`, data-last, usable in ix `.pipe`,
 * fp-ts `pipe` and `flow`.
 *
 * @module
 */
import { defer } from 'ix/asynciterable';
import type { OperatorAsyncFunction } from 'ix/interfaces';

/**
 * A data-last async-iterable operator (ix's `OperatorAsyncFunction`).
 *
 * @category constructors
 */
export type Op<A, B> = OperatorAsyncFunction<A, B>;

/**
 * Lifts an async-generator body into an {@link Op}.
 *
 * **Details**: the body runs lazily, once per iteration of the result, so per-run state (counters,
 * RNG copies, open files) lives inside the body and a pipeline can be iterated any number of times
 * with the same output. The `signal` is ix's cancellation signal: long loops call
 * `signal?.throwIfAborted()`, because cancellation in ix is cooperative.
 *
 * @example
 * import { from, toArray } from 'ix/asynciterable';
 * const double = operator<number, number>(async function* (src) { for await (const x of src) yield 2 * x; });
 * await toArray(from([1, 2]).pipe(double)); // [2, 4], and again [2, 4] on a second iteration
 *
 * @category constructors
 */
export const operator =
  <A, B>(body: (source: AsyncIterable<A>, signal?: AbortSignal) => AsyncGenerator<B>): Op<A, B> =>
  (source) =>
    defer((signal) => body(source, signal));

/**
 * Mapping an async step over a stream with several items in flight, in order.
 *
 * @module
 */
import { ConfigError } from './errors.js';
import { MAX_IN_FLIGHT } from './limits.js';
import { operator, type Op } from './operator.js';

/**
 * A per-item step: `(item) => result`, sync or async. Built once per run by the factory given to
 * {@link mapConcurrent}, so per-run state lives in its closure.
 *
 * @category models
 */
export type Step<A, B> = (item: A) => B | Promise<B>;

/**
 * Applies a step to every item with up to `concurrency` items in flight, yielding results in input
 * order.
 *
 * **Details**: the step of item n+1 may start before item n's is done, so steps that wait (on a
 * native tokenizer's threads, on worker threads, on I/O) overlap. The output is exactly the
 * sequential map's: same results, same order, and an error surfaces at its item's place, after the
 * results before it. `concurrency: 1` is a plain sequential map.
 *
 * **Gotchas**: steps must not depend on each other's order of execution (each must be a function of
 * its item). When the consumer stops early, in-flight steps are awaited (their errors ignored) and
 * the upstream is closed before `return()` completes.
 *
 * @example
 * batches.pipe(mapConcurrent(4, () => async (batch) => tokenizeOne(batch)));
 *
 * @category stages
 */
export const mapConcurrent = <A, B>(concurrency: number, makeStep: () => Step<A, B>): Op<A, B> => {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new ConfigError('concurrency', `must be a positive integer, got ${concurrency}`);
  if (concurrency > MAX_IN_FLIGHT) throw new ConfigError('concurrency', `is ${concurrency}, more than the ${MAX_IN_FLIGHT} batches this library builds at once (each holds its texts and tensors; 4 already keep a native tokenizer busy)`);
  return operator(async function* (source, signal) {
    const step = makeStep();
    if (concurrency === 1) {
      for await (const item of source) {
        signal?.throwIfAborted();
        yield await step(item);
      }
      return;
    }
    const inFlight: Promise<B>[] = [];
    const iterator = source[Symbol.asyncIterator]();
    let exhausted = false;
    let upstreamFailure: { error: unknown } | null = null;
    try {
      for (;;) {
        while (!exhausted && inFlight.length < concurrency) {
          signal?.throwIfAborted();
          let next: IteratorResult<A>;
          try {
            next = await iterator.next();
          } catch (error) {
            // The items already taken still come out first, in order; the error after them.
            upstreamFailure = { error };
            exhausted = true;
            break;
          }
          if (next.done) {
            exhausted = true;
            break;
          }
          const item = next.value;
          const pending = Promise.resolve().then(() => step(item));
          // Settled later, in order; this keeps an early failure from being reported as unhandled.
          pending.catch(() => undefined);
          inFlight.push(pending);
        }
        const head = inFlight.shift();
        if (head === undefined) {
          if (upstreamFailure !== null) throw upstreamFailure.error;
          return;
        }
        yield await head;
      }
    } finally {
      await Promise.allSettled(inFlight);
      if (!exhausted) await iterator.return?.();
    }
  });
};

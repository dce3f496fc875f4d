import { ConfigError } from '../core/errors.js';
import { MAX_IN_FLIGHT } from '../core/limits.js';
import { operator, type Op } from '../core/operator.js';

/**
 * Reads ahead: keeps up to `size` items of the upstream ready while the downstream works on the
 * current one, so that I/O and tokenization of step s+1 overlap the consumer of step s.
 *
 * **Details**: the upstream is pulled one item at a time, in order, by a background loop; items,
 * their order and errors are exactly those of the upstream (an error arrives after the items
 * before it). `size: 0` passes items straight through.
 *
 * **Gotchas**: when the consumer stops early, the read-ahead loop is stopped and the upstream is
 * closed (its `finally` runs) before the consumer's `return()` completes; up to `size` items may
 * have been computed for nothing. Memory: `size` items.
 *
 * @example
 * slices.pipe(readRecords(), prefetch(4), sampleGroup(options));
 *
 * @category stages
 */
export const prefetch = <A>(size: number): Op<A, A> => {
  if (!Number.isSafeInteger(size) || size < 0) throw new ConfigError('prefetch', `must be a non-negative integer, got ${size}`);
  if (size > MAX_IN_FLIGHT) throw new ConfigError('prefetch', `is ${size}, more than the ${MAX_IN_FLIGHT} batches this library holds in flight (each holds its records, texts and tensors; a few already keep every stage busy)`);
  return operator(async function* (source, signal) {
    if (size === 0) {
      yield* source;
      return;
    }
    const buffer: A[] = [];
    let finished = false;
    let stopped = false;
    let failure: { error: unknown } | null = null;
    let wakeConsumer: (() => void) | null = null;
    let wakeProducer: (() => void) | null = null;
    const wake = (which: 'consumer' | 'producer') => {
      const f = which === 'consumer' ? wakeConsumer : wakeProducer;
      if (which === 'consumer') wakeConsumer = null;
      else wakeProducer = null;
      f?.();
    };
    const pump = (async () => {
      try {
        for await (const item of source) {
          buffer.push(item);
          wake('consumer');
          while (buffer.length >= size && !stopped) await new Promise<void>((r) => (wakeProducer = r));
          if (stopped) break;
        }
      } catch (error) {
        failure = { error };
      } finally {
        finished = true;
        wake('consumer');
      }
    })();
    try {
      for (;;) {
        signal?.throwIfAborted();
        if (buffer.length > 0) {
          const item = buffer.shift()!;
          wake('producer');
          yield item;
          continue;
        }
        if (finished) {
          if (failure !== null) throw (failure as { error: unknown }).error;
          return;
        }
        await new Promise<void>((r) => (wakeConsumer = r));
      }
    } finally {
      stopped = true;
      wake('producer');
      await pump;
    }
  });
};

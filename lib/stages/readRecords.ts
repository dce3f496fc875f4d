import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { Example, LocalBatch, LocalSlice, Located, ReplaySlice } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';

/**
 * Reads each slice's records from its task's store; a `replay` slice (before the resume point) is
 * passed on unread.
 *
 * **Details**: with an indexed store this is the only place the corpus is read after indexing: one
 * read per batch, of exactly its records. Put `prefetch(n)` after it to overlap reading with the
 * work downstream.
 *
 * @example
 * globalBatches.pipe(shardByRank({ rank, worldSize }), readRecords());
 *
 * @category stages
 */
export const readRecords = (): Op<LocalSlice, LocalBatch | ReplaySlice> =>
  operator(async function* (slices, signal) {
    for await (const slice of slices) {
      signal?.throwIfAborted();
      if (slice.replay) {
        yield { ...slice, replay: true };
        continue;
      }
      const records = (await slice.task.store.read(slice.indices)) as ReadonlyNonEmptyArray<Located<Example>>;
      yield { ...slice, replay: false, records };
    }
  });

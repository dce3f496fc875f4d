import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError, InvariantError } from '../core/errors.js';
import type { GlobalBatch, LocalSlice } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';

/**
 * Options of {@link shardByRank}.
 *
 * @category stages
 */
export interface ShardOptions {
  /** This process's rank, `0 ≤ rank < worldSize`. Default: 0. */
  readonly rank?: number;
  /** Number of ranks; must equal the `worldSize` the batches were planned with. Default: 1. */
  readonly worldSize?: number;
}

/** @internal */
export const validateShardOptions = (options: ShardOptions): { rank: number; worldSize: number } => {
  const worldSize = options.worldSize ?? 1;
  const rank = options.rank ?? 0;
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new ConfigError('world_size', `must be a positive integer, got ${worldSize}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new ConfigError('rank', `must be an integer in [0, ${worldSize - 1}] for world_size ${worldSize}, got ${rank}`);
  }
  return { rank, worldSize };
};

/**
 * The slice of a global batch that rank `rank` trains on.
 *
 * **Details**: rank r takes the contiguous positions `[r × per, (r + 1) × per)` with
 * `per = length / worldSize`, as the reference's `__getitem__` does. For every rank split, the
 * concatenation of the shards in rank order equals the global batch.
 *
 * @example
 * sliceForRank([4, 1, 7, 0], 1, 2); // [7, 0]
 *
 * @category plan
 */
export const sliceForRank = <A>(batch: ReadonlyArray<A>, rank: number, worldSize: number): ReadonlyArray<A> => {
  if (batch.length % worldSize !== 0) {
    throw new InvariantError(`a global batch of ${batch.length} cannot be split evenly across ${worldSize} ranks`);
  }
  const per = batch.length / worldSize;
  return batch.slice(rank * per, (rank + 1) * per);
};

/**
 * Keeps this rank's slice of each global batch (positions; `readRecords` reads them), with the
 * global batch's positions alongside (`globalIndices`) for stages that look across ranks.
 *
 * @example
 * globalBatches.pipe(shardByRank({ rank: 1, worldSize: 2 }));
 *
 * @category stages
 */
export const shardByRank = (options: ShardOptions): Op<GlobalBatch, LocalSlice> => {
  const { rank, worldSize } = validateShardOptions(options);
  return operator(async function* (batches, signal) {
    for await (const { indices, ...batch } of batches) {
      signal?.throwIfAborted();
      if (batch.worldSize !== worldSize) {
        throw new InvariantError(`batch planned for world_size ${batch.worldSize} reached a shard for world_size ${worldSize}`);
      }
      yield { ...batch, rank, indices: sliceForRank(indices, rank, worldSize) as ReadonlyNonEmptyArray<number>, globalIndices: indices };
    }
  });
};

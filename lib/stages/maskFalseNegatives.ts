import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError, InvariantError } from '../core/errors.js';
import type { Example, LocalBatch, Located, ReplaySlice, SampledBatch } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import { falseNegativeRows, maskGroupsOf } from '../plan/falseNegatives.js';

/**
 * Which passages a false-negative mask row covers: none (no mask: the default, and the batches are
 * exactly the reference's), this rank's (`local`: in-batch negatives), or every rank's in rank order
 * (`global`: what FlagEmbedding's `negatives_cross_device` gathers).
 *
 * @category models
 */
export type FalseNegativeScope = 'none' | 'local' | 'global';

/**
 * Options of {@link maskFalseNegatives}.
 *
 * @category stages
 */
export interface MaskFalseNegativesOptions {
  /** `--false_negative_scope`: `'none'`, `'local'` or `'global'`. Default: `'none'`. */
  readonly falseNegativeScope?: FalseNegativeScope;
  /** This process's rank (for `global`). Default: 0. */
  readonly rank?: number;
  /** Number of ranks (for `global`). Default: 1. */
  readonly worldSize?: number;
  /**
   * The pipeline's group sampler, e.g. `() => sampleGroup(options)`: one is built for this rank and,
   * with `global`, one for every other rank. It must yield one sampled batch per slice that is not a
   * replay, in order, before it asks for the next slice (as `sampleGroup` does). Required.
   */
  readonly sampler: () => Op<LocalBatch | ReplaySlice, SampledBatch>;
}

/** @internal */
export const validateMaskFalseNegativesOptions = (options: MaskFalseNegativesOptions) => {
  const scope = options.falseNegativeScope ?? 'none';
  if (scope !== 'none' && scope !== 'local' && scope !== 'global') {
    throw new ConfigError('false_negative_scope', `must be none, local or global, got ${JSON.stringify(scope)}`);
  }
  const worldSize = options.worldSize ?? 1;
  const rank = options.rank ?? 0;
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new ConfigError('world_size', `must be a positive integer, got ${worldSize}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new ConfigError('rank', `must be an integer in [0, ${worldSize - 1}] for world_size ${worldSize}, got ${rank}`);
  }
  if (typeof options.sampler !== 'function') throw new ConfigError('sampler', 'is required (the pipeline’s group sampler, e.g. () => sampleGroup(options))');
  return { scope, rank, worldSize, sampler: options.sampler };
};

/** A one-reader queue: what `push` puts in, a for-await loop takes out, in order, until `close`. */
const channel = <A>() => {
  const items: A[] = [];
  let waiting: ((r: IteratorResult<A>) => void) | null = null;
  let closed = false;
  return {
    push(item: A) {
      if (waiting !== null) {
        const w = waiting;
        waiting = null;
        w({ value: item, done: false });
      } else items.push(item);
    },
    close() {
      closed = true;
      waiting?.({ value: undefined, done: true });
      waiting = null;
    },
    iterable: {
      [Symbol.asyncIterator]: (): AsyncIterator<A> => ({
        next: () =>
          items.length > 0
            ? Promise.resolve({ value: items.shift()!, done: false })
            : closed
              ? Promise.resolve({ value: undefined, done: true })
              : new Promise((resolve) => (waiting = resolve)),
      }),
    } as AsyncIterable<A>,
  };
};

/**
 * Samples each batch with the pipeline's sampler and adds its false-negative mask: one boolean row
 * per query over the step's passages (`falseNegativeMask`), true where the passage must not count
 * as a negative for that query. The batches themselves are exactly the sampler's.
 *
 * **Details**: the rule is {@link falseNegativeRows}'s (a passage whose source text is one of the
 * query's record positives, or a copy outside the query's group of a passage in it; never the
 * query's own positive slot). With `local` a row covers this rank's passages (queries × passages
 * of the batch). With `global` it covers the whole global batch's passages in rank order, the
 * columns of FlagEmbedding's cross-device score matrix: the plan is global, so this rank builds
 * every other rank's slice from `globalIndices`, reads its records, and runs a sampler per rank over
 * every step from the start (replayed steps included), so that each rank's random stream is the one
 * that rank draws from. Nothing depends on the tokenizer, worker threads or concurrency.
 *
 * **Gotchas**: `global` reads every rank's records each step and draws every rank's groups
 * (texts are not formatted or tokenized): the cost is in the README. Slices must come from
 * `shardByRank` (they carry `globalIndices`).
 *
 * @example
 * slices.pipe(maskFalseNegatives({ falseNegativeScope: 'global', rank, worldSize, sampler: () => sampleGroup(options) }));
 *
 * @category stages
 */
export const maskFalseNegatives = (options: MaskFalseNegativesOptions): Op<LocalBatch | ReplaySlice, SampledBatch> => {
  const { scope, rank, worldSize, sampler } = validateMaskFalseNegativesOptions(options);
  if (scope === 'none') return sampler();
  const ranks = scope === 'global' ? Array.from({ length: worldSize }, (_, r) => r) : [rank];
  return operator(async function* (slices, signal) {
    // One sampler per rank, each fed its rank's slices through a channel, each with a next() always
    // pending so that it consumes replayed slices as they come (nothing piles up before a resume point).
    const lanes = ranks.map(() => {
      const input = channel<LocalBatch | ReplaySlice>();
      const output = sampler()(input.iterable)[Symbol.asyncIterator]();
      const lane = { input, output, pending: output.next() };
      lane.pending.catch(() => undefined); // awaited later; this keeps an early failure from being reported as unhandled
      return lane;
    });
    try {
      for await (const slice of slices) {
        signal?.throwIfAborted();
        const perRank = await slicesOfStep(slice, ranks, worldSize);
        perRank.forEach((s, k) => lanes[k]!.input.push(s));
        if (slice.replay) continue;
        const sampled = await Promise.all(
          lanes.map(async (lane) => {
            const result = await lane.pending;
            lane.pending = lane.output.next();
            lane.pending.catch(() => undefined);
            return result;
          }),
        );
        const batches = sampled.map((r, k) => {
          if (r.done || r.value.globalStep !== slice.globalStep || r.value.rank !== ranks[k]) {
            throw new InvariantError(`the sampler did not yield rank ${ranks[k]}'s batch of step ${slice.globalStep} in turn (it must yield one batch per slice that is not a replay)`);
          }
          return r.value;
        });
        const own = batches[ranks.indexOf(rank)]!;
        yield { ...own, falseNegativeMask: falseNegativeRows(batches.map(maskGroupsOf), scope === 'global' ? rank : 0) };
      }
    } finally {
      for (const lane of lanes) lane.input.close();
      await Promise.allSettled(lanes.map((lane) => lane.output.return?.()));
    }
  });
};

/** The step's slice of each rank in `ranks`: this rank's as it came, the others' built from `globalIndices` (records read unless a replay). */
const slicesOfStep = async (
  slice: LocalBatch | ReplaySlice,
  ranks: ReadonlyArray<number>,
  worldSize: number,
): Promise<ReadonlyArray<LocalBatch | ReplaySlice>> => {
  if (ranks.length === 1) return [slice];
  if (slice.worldSize !== worldSize) throw new InvariantError(`a slice for world_size ${slice.worldSize} reached a false-negative mask for world_size ${worldSize}`);
  const global = slice.globalIndices;
  if (global === undefined) throw new InvariantError('a global false-negative mask needs slices from shardByRank (they carry the global batch’s positions)');
  const per = global.length / worldSize;
  return Promise.all(
    ranks.map(async (r): Promise<LocalBatch | ReplaySlice> => {
      if (r === slice.rank) return slice;
      const indices = global.slice(r * per, (r + 1) * per) as unknown as ReadonlyNonEmptyArray<number>;
      const { records: _records, ...position } = slice as LocalBatch;
      if (slice.replay) return { ...position, rank: r, indices, replay: true };
      const records = (await slice.task.store.read(indices)) as ReadonlyNonEmptyArray<Located<Example>>;
      return { ...position, rank: r, indices, replay: false, records };
    }),
  );
};

/**
 * shardByRank / sliceForRank: "for every rank split, the concatenation of the shards in rank order
 * equals the global batch"; shards are pairwise disjoint and equally sized; options are checked at
 * construction; a batch planned for another world size is an invariant break.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError, InvariantError } from '../../lib/core/errors.js';
import type { GlobalBatch } from '../../lib/core/model.js';
import { shardByRank, sliceForRank } from '../../lib/stages/shardByRank.js';
import { globalBatchesOf, runnable } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { globalBatch, tasksOfSizes } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Slice = (batch: ReadonlyArray<number>, rank: number, worldSize: number) => ReadonlyArray<number>;

/** A global batch of distinct values (so disjointness by value is disjointness by position) and its world size. */
const split = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))
  .chain(([worldSize, per]) =>
    fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: worldSize * per, maxLength: worldSize * per }).map((batch) => ({ batch, worldSize })),
  );

const shardsOf = (slice: Slice, batch: ReadonlyArray<number>, worldSize: number) =>
  Array.from({ length: worldSize }, (_, rank) => slice(batch, rank, worldSize));

const concatenationIsTheBatch = (slice: Slice) =>
  fc.property(split, ({ batch, worldSize }) => isDeepStrictEqual(shardsOf(slice, batch, worldSize).flat(), batch));

const pairwiseDisjoint = (slice: Slice) =>
  fc.property(split, ({ batch, worldSize }) => {
    const shards = shardsOf(slice, batch, worldSize);
    return shards.every((a, i) => shards.every((b, j) => i === j || a.every((x) => !b.includes(x))));
  });

const equalSizes = (slice: Slice) =>
  fc.property(split, ({ batch, worldSize }) => shardsOf(slice, batch, worldSize).every((s) => s.length === batch.length / worldSize));

describe(`shardByRank (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: fc.tuple(runnable, fc.nat()),
    input: ([r]) => globalBatchesOf(r),
    op: ([r, n]) => shardByRank({ rank: n % r.options.worldSize, worldSize: r.options.worldSize }),
    numRuns: 10,
  });

  it('sliceForRank: for every rank split, the concatenation of the shards in rank order equals the global batch', () => {
    fc.assert(concatenationIsTheBatch(sliceForRank), fcParams({ numRuns: 200 }));
  });

  it('sliceForRank: shards are pairwise disjoint', () => {
    fc.assert(pairwiseDisjoint(sliceForRank), fcParams({ numRuns: 200 }));
  });

  it('sliceForRank: every shard has length / worldSize elements', () => {
    fc.assert(equalSizes(sliceForRank), fcParams({ numRuns: 200 }));
  });

  it('sliceForRank: the doc example', () => {
    assert.deepEqual(sliceForRank([4, 1, 7, 0], 1, 2), [7, 0]);
    assert.deepEqual(sliceForRank([4, 1, 7, 0], 0, 2), [4, 1]);
  });

  it('sliceForRank: a batch that does not split evenly is an InvariantError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 20 }), (worldSize, length) => {
        fc.pre(length % worldSize !== 0);
        assert.throws(() => sliceForRank(Array.from({ length }, (_, i) => i), 0, worldSize), InvariantError);
        return true;
      }),
      fcParams({ numRuns: 50 }),
    );
  });

  it('the stage: each rank gets its slice of the indices, the records at those indices, and the batch position unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(runnable, async (r) => {
        const globals = await globalBatchesOf(r);
        const worldSize = r.options.worldSize;
        for (let rank = 0; rank < worldSize; rank++) {
          const locals = await toArray(from(globals).pipe(shardByRank({ rank, worldSize })));
          if (locals.length !== globals.length) return false;
          const ok = locals.every((local, i) => {
            const global = globals[i]!;
            const per = global.indices.length / worldSize;
            const expected = global.indices.slice(rank * per, rank * per + per);
            return (
              isDeepStrictEqual([...local.indices], expected) &&
              local.rank === rank &&
              local.worldSize === worldSize &&
              local.task === global.task &&
              local.epoch === global.epoch &&
              local.step === global.step &&
              local.globalStep === global.globalStep
            );
          });
          if (!ok) return false;
        }
        return true;
      }),
      fcParams({ numRuns: 25 }),
    );
  });

  it('the stage: the shards of all ranks concatenate to the global batch, disjoint and equally sized', async () => {
    await fc.assert(
      fc.asyncProperty(runnable, async (r) => {
        const globals = await globalBatchesOf(r);
        const worldSize = r.options.worldSize;
        const perRank = await Promise.all(
          Array.from({ length: worldSize }, (_, rank) => toArray(from(globals).pipe(shardByRank({ rank, worldSize })))),
        );
        return globals.every((global, step) => {
          const shards = perRank.map((locals) => [...locals[step]!.indices]);
          const all = shards.flat();
          return isDeepStrictEqual(all, [...global.indices]) && new Set(all).size === all.length && shards.every((s) => s.length === shards[0]!.length);
        });
      }),
      fcParams({ numRuns: 25 }),
    );
  });

  it('bad rank or world_size is a ConfigError at construction', () => {
    const bad: Array<[{ rank?: number; worldSize?: number }, string]> = [
      [{ rank: 2, worldSize: 2 }, 'rank'],
      [{ rank: -1, worldSize: 2 }, 'rank'],
      [{ rank: 0.5, worldSize: 2 }, 'rank'],
      [{ rank: 1 }, 'rank'],
      [{ rank: Number.NaN, worldSize: 2 }, 'rank'],
      [{ worldSize: 0 }, 'world_size'],
      [{ worldSize: -2 }, 'world_size'],
      [{ worldSize: 1.5 }, 'world_size'],
      [{ worldSize: Number.POSITIVE_INFINITY }, 'world_size'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => shardByRank(options),
        (e: unknown) => e instanceof ConfigError && e.option === option,
        JSON.stringify(options),
      );
    }
  });

  it('every rank in [0, worldSize) is accepted, and defaults are rank 0 of 1', async () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.nat(), (worldSize, n) => {
        shardByRank({ rank: n % worldSize, worldSize });
        return true;
      }),
      fcParams({ numRuns: 50 }),
    );
    const [t] = tasksOfSizes([{ name: 'a', size: 3, batchSize: 3 }]);
    const global: GlobalBatch = globalBatch(t!, [2, 0, 1], 1);
    const [local] = await toArray(from([global]).pipe(shardByRank({})));
    assert.deepEqual(local!.indices, [2, 0, 1]);
    assert.equal(local!.rank, 0);
  });

  it('a batch planned for another world size is an InvariantError (on iteration, not at construction)', async () => {
    const [t] = tasksOfSizes([{ name: 'a', size: 8, batchSize: 2 }]);
    const planned: GlobalBatch = globalBatch(t!, [0, 1, 2, 3], 2);
    const stage = shardByRank({ rank: 0, worldSize: 4 });
    // [0, 1, 2, 3] splits evenly across 4 ranks, so only the world-size check can catch it.
    await assert.rejects(toArray(from([planned]).pipe(stage)), InvariantError);
    await assert.rejects(toArray(from([planned]).pipe(shardByRank({ rank: 0, worldSize: 1 }))), InvariantError);
  });

  it('meta: the properties catch a slice that overlaps its neighbour, one that reverses the ranks, and one that drops the last element', () => {
    const overlapping: Slice = (xs, rank, world) => {
      const per = xs.length / world;
      return xs.slice(Math.max(0, rank * per - 1), (rank + 1) * per);
    };
    const reversed: Slice = (xs, rank, world) => sliceForRank(xs, world - 1 - rank, world);
    const short: Slice = (xs, rank, world) => {
      const per = xs.length / world;
      return xs.slice(rank * per, Math.min((rank + 1) * per, xs.length - 1));
    };
    assert.equal(fc.check(concatenationIsTheBatch(overlapping), { seed: FC_SEED }).failed, true);
    assert.equal(fc.check(pairwiseDisjoint(overlapping), { seed: FC_SEED }).failed, true);
    assert.equal(fc.check(concatenationIsTheBatch(reversed), { seed: FC_SEED }).failed, true);
    assert.equal(fc.check(equalSizes(short), { seed: FC_SEED }).failed, true);
  });
});


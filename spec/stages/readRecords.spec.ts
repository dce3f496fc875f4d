/**
 * readRecords: each slice's records are its task store's records at its indices; replay slices
 * (before a resume point) pass on unread.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import type { Example, LocalBatch, LocalSlice, Located, RecordStore, ReplaySlice, Task } from '../../lib/core/model.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { readRecords } from '../../lib/stages/readRecords.js';
import { localSlicesOf, runnable } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { examples, localSlice, task } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Stage = () => Op<LocalSlice, LocalBatch | ReplaySlice>;

class ReadForbidden extends Error {}

/** A store whose metadata works but whose records cannot be read. */
const unreadable = (inner: RecordStore): RecordStore & { reads: number } => {
  const store = {
    size: inner.size,
    reads: 0,
    meta: (p: number) => inner.meta(p),
    read: async (): Promise<ReadonlyArray<Located<Example>>> => {
      store.reads += 1;
      throw new ReadForbidden('read() was called');
    },
  };
  return store;
};

/** A store that counts its reads and what they asked for. */
const counting = (inner: RecordStore) => {
  const asked: number[][] = [];
  const store: RecordStore = { size: inner.size, meta: (p) => inner.meta(p), read: (ps) => (asked.push([...ps]), inner.read(ps)) };
  return { store, asked };
};

/** Random slices of one hand-built task of 8 records, some marked replay. */
const slices = fc.array(
  fc.record({ indices: fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 4 }), replay: fc.boolean() }),
  { maxLength: 8 },
);

/** Outputs equal the slices, with records = store.read(indices) for the slices not replayed, in order. */
const readsExactly = (stage: Stage) =>
  fc.asyncProperty(runnable, fc.array(fc.boolean(), { maxLength: 5 }), async (r, replays) => {
    const input = (await localSlicesOf(r)).map((s, i) => ({ ...s, replay: replays[i] ?? false }));
    const out = await toArray(from(input).pipe(stage()));
    if (out.length !== input.length) return false;
    for (const [i, b] of out.entries()) {
      const s = input[i]!;
      if (b.replay !== s.replay) return false;
      const { records, ...rest } = b as LocalBatch;
      if (!isDeepStrictEqual(rest, s)) return false;
      if (s.replay ? records !== undefined : !isDeepStrictEqual(records, await s.task.store.read(s.indices))) return false;
    }
    return true;
  });

/** A meta-test's verdict: the property failed on a counterexample (not by running out of time or preconditions). */
const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(result.failed && result.counterexample !== null && !result.interrupted, `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips, interrupted: result.interrupted })}`);

describe(`readRecords (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: runnable,
    input: (r) => localSlicesOf(r),
    op: () => readRecords(),
    numRuns: 10,
  });

  it("each slice's records are store.read(indices) of its task; everything else is the slice; replay slices carry no records", async () => {
    await fc.assert(readsExactly(readRecords), fcParams({ numRuns: 30 }));
  });

  it('replay slices pass unread: a store whose read() throws is never read for them', async () => {
    await fc.assert(
      fc.asyncProperty(slices, async (specs) => {
        const base = task({ name: 't', records: examples(8), batchSize: 1 });
        const store = unreadable(base.store);
        const t: Task = { ...base, store };
        const input = specs.map((s, i) => localSlice(t, s.indices, i, true));
        const out = await toArray(from(input).pipe(readRecords()));
        return store.reads === 0 && isDeepStrictEqual(out, input) && out.every((b) => b.replay && !('records' in b));
      }),
      fcParams({ numRuns: 50 }),
    );
  });

  it('a slice that is not replayed is read, once, for exactly its indices in order (repeats kept); a read failure reaches the consumer', async () => {
    const base = task({ name: 't', records: examples(8), batchSize: 1 });
    const { store, asked } = counting(base.store);
    const t: Task = { ...base, store };
    const out = await toArray(from([localSlice(t, [5, 1, 5], 0, false), localSlice(t, [2], 1, true), localSlice(t, [0, 7], 2, false)]).pipe(readRecords()));
    assert.deepEqual(asked, [[5, 1, 5], [0, 7]]);
    assert.deepEqual(
      out.map((b) => (b.replay ? null : b.records.map((r) => r.value.query))),
      [['query 5', 'query 1', 'query 5'], null, ['query 0', 'query 7']],
    );
    const broken: Task = { ...base, store: unreadable(base.store) };
    await assert.rejects(toArray(from([localSlice(broken, [0], 0, false)]).pipe(readRecords())), ReadForbidden);
  });

  it('reads lazily: nothing is read before the consumer asks for a batch', async () => {
    const base = task({ name: 't', records: examples(4), batchSize: 1 });
    const { store, asked } = counting(base.store);
    const t: Task = { ...base, store };
    const iterator = from([localSlice(t, [0], 0, false), localSlice(t, [1], 1, false)]).pipe(readRecords())[Symbol.asyncIterator]();
    assert.deepEqual(asked, []);
    await iterator.next();
    assert.deepEqual(asked, [[0]]);
    await iterator.return?.();
  });

  it('meta: a stage that reads replay slices too (and passes them as read) fails the property', async () => {
    const readsAll: Stage = () =>
      operator(async function* (source) {
        for await (const s of source) yield { ...s, replay: false, records: (await s.task.store.read(s.indices)) as LocalBatch['records'] } as LocalBatch;
      });
    assertCaught(await fc.check(readsExactly(readsAll), fcParams({ numRuns: 30 })));
  });
});

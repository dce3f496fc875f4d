/**
 * mapConcurrent: the output is the sequential map's (same results, same order, errors at their
 * item's place after the results before them) for any concurrency 1–6 and any step timings; never
 * more than `concurrency` steps run at once; early exit waits for the steps in flight and closes the
 * upstream before the consumer's loop ends; a bad concurrency is a ConfigError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError } from '../../lib/core/errors.js';
import { mapConcurrent, type Step } from '../../lib/core/mapConcurrent.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

/** The stage under test, or a deliberately broken one for the meta-tests. */
type Stage = <A, B>(concurrency: number, makeStep: () => Step<A, B>) => Op<A, B>;

class Boom extends Error {
  constructor(readonly at: number) {
    super(`step ${at} failed`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lets the event loop turn `n` times (every pending microtask runs in between). */
const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

/** The function every step computes: a plain function of the item, so that the model is `items.map(f)`. */
const f = (x: number): string => `f(${x})`;

/** An item and how long its step takes (ms for setTimeout, turns for setImmediate). */
interface Item {
  readonly value: number;
  readonly delay: number;
}

const concurrency = fc.integer({ min: 1, max: 6 });
const itemsArb = fc.array(fc.record({ value: fc.integer({ min: -50, max: 50 }), delay: fc.nat({ max: 3 }) }), { maxLength: 16 });

/** What a run of steps did: how many ran at once at most, how many are still running, how many started. */
const probe = () => {
  const state = { active: 0, maxActive: 0, started: 0, finished: 0 };
  const step =
    (wait: (delay: number) => Promise<void>, failAt = -1): Step<Item & { readonly index?: number }, string> =>
    async (item) => {
      state.started += 1;
      state.active += 1;
      state.maxActive = Math.max(state.maxActive, state.active);
      try {
        await wait(item.delay);
        if (item.index === failAt) throw new Boom(failAt);
        return f(item.value);
      } finally {
        state.active -= 1;
        state.finished += 1;
      }
    };
  return { state, step };
};

/** An upstream of `items` recording whether it was opened and closed (its finally ran). */
const upstream = <A>(items: ReadonlyArray<A>, failAfter = false) => {
  const state = { started: false, closed: false, pulled: 0 };
  const iterable: AsyncIterable<A> = {
    async *[Symbol.asyncIterator]() {
      state.started = true;
      try {
        for (const item of items) {
          state.pulled += 1;
          yield item;
        }
        if (failAfter) throw new Boom(-1);
      } finally {
        state.closed = true;
      }
    },
  };
  return { iterable, state };
};

/** Equals the sequential map, with steps that take random times (timers) and at most `c` of them at once. */
const isTheSequentialMap = (stage: Stage) =>
  fc.asyncProperty(concurrency, itemsArb, async (c, items) => {
    const { state, step } = probe();
    const out = await toArray(from(items).pipe(stage(c, () => step(sleep))));
    return isDeepStrictEqual(out, items.map((i) => f(i.value))) && state.maxActive <= c && state.active === 0;
  });

/**
 * Equals the sequential map when fast-check's scheduler resolves the steps' promises in a random
 * order (every interleaving it can pick, not just the ones timers happen to give).
 */
const isTheSequentialMapUnderAnyResolutionOrder = (stage: Stage) =>
  fc.asyncProperty(fc.scheduler(), concurrency, itemsArb, async (s, c, items) => {
    const step: Step<Item, string> = (item) => s.schedule(Promise.resolve(f(item.value)), `step ${item.value}`);
    const out = await s.waitFor(toArray(from(items).pipe(stage(c, () => step))));
    return isDeepStrictEqual(out, items.map((i) => f(i.value)));
  });

/** Never more than `c` steps in flight, counted (steps wait long enough for the pool to fill). */
const boundsTheStepsInFlight = (stage: Stage) =>
  fc.asyncProperty(concurrency, fc.integer({ min: 0, max: 16 }), fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 6 }), async (c, n, delays) => {
    const { state, step } = probe();
    const items = Array.from({ length: n }, (_, i) => ({ value: i, delay: delays[i % delays.length]! }));
    await toArray(from(items).pipe(stage(c, () => step(ticks))));
    return state.maxActive <= c && state.started === n;
  });

/** A meta-test's verdict: the property failed on a counterexample (not by running out of time or preconditions). */
const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(
    result.failed && result.counterexample !== null && !result.interrupted,
    `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips, interrupted: result.interrupted })}`,
  );

describe(`mapConcurrent (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: fc.tuple(concurrency, itemsArb),
    input: ([, items]) => items,
    // c items in flight: it reads up to c − 1 inputs past the one of its k-th output.
    reads: ([c]) => ({ readAhead: c - 1 }),
    op: ([c]) => mapConcurrent(c, () => async (item: Item) => {
      await sleep(item.delay);
      return f(item.value);
    }),
    numRuns: 20,
  });

  it('equals the sequential map for random step delays (timers) and concurrency 1–6', async () => {
    await fc.assert(isTheSequentialMap(mapConcurrent), fcParams({ numRuns: 100 }));
  });

  it('equals the sequential map whatever order the steps resolve in (fast-check scheduler)', async () => {
    await fc.assert(isTheSequentialMapUnderAnyResolutionOrder(mapConcurrent), fcParams({ numRuns: 200 }));
  });

  it('never runs more than `concurrency` steps at once, and runs every step exactly once', async () => {
    await fc.assert(boundsTheStepsInFlight(mapConcurrent), fcParams({ numRuns: 100 }));
  });

  it('it does overlap: with slow steps and enough items, `concurrency` steps run at once', async () => {
    for (const c of [1, 2, 3, 6]) {
      const { state, step } = probe();
      const items = Array.from({ length: 12 }, (_, i) => ({ value: i, delay: 5 }));
      await toArray(from(items).pipe(mapConcurrent(c, () => step(ticks))));
      assert.equal(state.maxActive, c, `concurrency ${c}`);
    }
  });

  it("a step's error surfaces after the results of the items before it; no later item is yielded; no step is left running", async () => {
    await fc.assert(
      fc.asyncProperty(concurrency, itemsArb.filter((xs) => xs.length > 0), fc.nat(), async (c, raw, k0) => {
        const items = raw.map((item, index) => ({ ...item, index }));
        const k = k0 % items.length;
        const { state, step } = probe();
        const source = upstream(items);
        const got: string[] = [];
        try {
          for await (const x of from(source.iterable).pipe(mapConcurrent(c, () => step(sleep, k)))) got.push(x);
        } catch (e) {
          return (
            e instanceof Boom &&
            e.at === k &&
            isDeepStrictEqual(got, items.slice(0, k).map((i) => f(i.value))) &&
            state.active === 0 &&
            source.state.closed
          );
        }
        return false;
      }),
      fcParams({ numRuns: 100 }),
    );
  });

  it("an upstream error surfaces after the results of every item the upstream gave before it (as the sequential map's does)", async () => {
    // The sequential map yields f(x) for every item before the upstream's error. A concurrent one
    // must too: the steps already in flight when the upstream fails hold results that come first.
    await fc.assert(
      fc.asyncProperty(concurrency, itemsArb, async (c, items) => {
        const { step } = probe();
        const source = upstream(items, true);
        const got: string[] = [];
        try {
          for await (const x of from(source.iterable).pipe(mapConcurrent(c, () => step(sleep)))) got.push(x);
        } catch (e) {
          return e instanceof Boom && e.at === -1 && isDeepStrictEqual(got, items.map((i) => f(i.value)));
        }
        return false;
      }),
      fcParams({ numRuns: 100, examples: [[2, [{ value: 1, delay: 0 }, { value: 2, delay: 0 }, { value: 3, delay: 0 }]]] }),
    );
  });

  it("early exit (take(k), or break) waits for the steps in flight and closes the upstream before the consumer's loop ends", async () => {
    await fc.assert(
      fc.asyncProperty(concurrency, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 8 }), fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 5 }), fc.boolean(), async (c, n, k, delays, viaTake) => {
        const items = Array.from({ length: n }, (_, i) => ({ value: i, delay: delays[i % delays.length]! }));
        const { state, step } = probe();
        const source = upstream(items);
        const got: string[] = [];
        const stage = from(source.iterable).pipe(mapConcurrent(c, () => step(ticks)));
        if (viaTake) {
          for await (const x of stage.pipe(take(k))) got.push(x);
        } else {
          for await (const x of stage) {
            got.push(x);
            if (got.length === k) break;
          }
        }
        // Checked synchronously after the loop: nothing else has run since it ended.
        return (
          isDeepStrictEqual(got, items.slice(0, k).map((i) => f(i.value))) &&
          state.active === 0 &&
          state.started === state.finished &&
          source.state.started &&
          source.state.closed &&
          // Never more pulled than taken plus what fits in flight.
          source.state.pulled <= Math.min(n, k + c)
        );
      }),
      fcParams({ numRuns: 150 }),
    );
  });

  it('nothing is pulled and no step is built before the first next() (lazy)', async () => {
    const source = upstream([{ value: 1, delay: 0 }]);
    let built = 0;
    const pipeline = from(source.iterable).pipe(
      mapConcurrent(3, () => {
        built += 1;
        return (item: Item) => f(item.value);
      }),
    );
    await ticks(5);
    assert.equal(source.state.started, false);
    assert.equal(built, 0);
    assert.deepEqual(await toArray(pipeline), ['f(1)']);
    assert.deepEqual(await toArray(pipeline), ['f(1)']);
    assert.equal(built, 2, 'one step per run');
  });

  it('sync steps work as well as async ones', async () => {
    assert.deepEqual(await toArray(from([1, 2, 3]).pipe(mapConcurrent(2, () => (x: number) => x * 2))), [2, 4, 6]);
  });

  it('a concurrency that is not a positive integer is a ConfigError naming `concurrency`, thrown when the stage is built', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => mapConcurrent(bad, () => (x: number) => x),
        (e: unknown) => e instanceof ConfigError && e.option === 'concurrency',
        String(bad),
      );
    }
    assert.doesNotThrow(() => mapConcurrent(1, () => (x: number) => x));
  });

  it('meta: a variant that yields in completion order fails the order properties', async () => {
    const unordered: Stage = <A, B>(c: number, makeStep: () => Step<A, B>) =>
      operator<A, B>(async function* (source) {
        const step = makeStep();
        const done: B[] = [];
        const inFlight = new Set<Promise<void>>();
        for await (const item of source) {
          const p: Promise<void> = Promise.resolve(step(item)).then((b) => {
            done.push(b);
            inFlight.delete(p);
          });
          inFlight.add(p);
          if (inFlight.size >= c) await Promise.race(inFlight);
          while (done.length > 0) yield done.shift()!;
        }
        await Promise.all(inFlight);
        while (done.length > 0) yield done.shift()!;
      });
    assertCaught(await fc.check(isTheSequentialMap(unordered), fcParams({ numRuns: 100 })));
    assertCaught(await fc.check(isTheSequentialMapUnderAnyResolutionOrder(unordered), fcParams({ numRuns: 200 })));
  });

  it('meta: a variant that starts every step at once fails the in-flight bound', async () => {
    const unbounded: Stage = <A, B>(_c: number, makeStep: () => Step<A, B>) =>
      operator<A, B>(async function* (source) {
        const step = makeStep();
        const all: Promise<B>[] = [];
        for await (const item of source) all.push(Promise.resolve().then(() => step(item)));
        for (const p of all) yield await p;
      });
    assertCaught(await fc.check(boundsTheStepsInFlight(unbounded), fcParams({ numRuns: 100 })));
  });
});

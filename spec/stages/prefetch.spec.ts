/**
 * prefetch: the output is the upstream (items, order, errors after the items before them) for any
 * depth; early exit closes the upstream before the consumer's loop ends; the upstream is pulled one
 * `next()` at a time; and it does read ahead, by exactly `size` items, counted (not timed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError } from '../../lib/core/errors.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { prefetch } from '../../lib/stages/prefetch.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Stage = <A>(size: number) => Op<A, A>;

/** Lets the event loop turn `n` times (macrotasks: every pending microtask runs in between). */
const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

class Boom extends Error {}

/** An upstream of `items` that waits `delays[i]` turns before item i, optionally fails after them, and records what happened. */
const upstream = <A>(items: ReadonlyArray<A>, delays: ReadonlyArray<number> = [], fail = false) => {
  const state = { started: false, closed: false, produced: 0 };
  const iterable: AsyncIterable<A> = {
    async *[Symbol.asyncIterator]() {
      state.started = true;
      try {
        for (const [i, item] of items.entries()) {
          await ticks(delays[i % Math.max(1, delays.length)] ?? 0);
          state.produced += 1;
          yield item;
        }
        if (fail) throw new Boom('upstream failed');
      } finally {
        state.closed = true;
      }
    },
  };
  return { iterable, state };
};

/** An upstream whose iterator fails loudly when `next()` or `return()` is called while a `next()` is still pending. */
const exclusiveUpstream = <A>(items: ReadonlyArray<A>, delays: ReadonlyArray<number>) => {
  const state = { overlapped: false };
  const iterable: AsyncIterable<A> = {
    [Symbol.asyncIterator]() {
      let pending = false;
      let i = 0;
      return {
        async next(): Promise<IteratorResult<A>> {
          if (pending) {
            state.overlapped = true;
            throw new Error('next() called while a previous next() is pending');
          }
          pending = true;
          try {
            await ticks(delays[i % Math.max(1, delays.length)] ?? 0);
            return i < items.length ? { done: false, value: items[i++]! } : { done: true, value: undefined };
          } finally {
            pending = false;
          }
        },
        async return(): Promise<IteratorResult<A>> {
          if (pending) {
            state.overlapped = true;
            throw new Error('return() called while a next() is pending');
          }
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { iterable, state };
};

/** Consumes everything, waiting `delays[i]` turns after item i (a consumer of uneven speed). */
const consume = async <A>(iterable: AsyncIterable<A>, delays: ReadonlyArray<number>): Promise<A[]> => {
  const out: A[] = [];
  for await (const x of iterable) {
    out.push(x);
    await ticks(delays[out.length % Math.max(1, delays.length)] ?? 0);
  }
  return out;
};

const size = fc.integer({ min: 0, max: 5 });
const delays = fc.array(fc.nat({ max: 3 }), { maxLength: 5 });
const items = fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(undefined), fc.constant(null)), { maxLength: 20 });

/** The output is exactly the upstream, for any depth and any speeds on both sides. */
const isTheUpstream = (stage: Stage) =>
  fc.asyncProperty(size, items, delays, delays, async (n, xs, up, down) => {
    const { iterable } = upstream(xs, up);
    return isDeepStrictEqual(await consume(stage<unknown>(n)(iterable), down), xs);
  });

/** One `next()` at a time on the upstream. */
const pullsOneAtATime = (stage: Stage) =>
  fc.asyncProperty(size, items, delays, delays, async (n, xs, up, down) => {
    const { iterable, state } = exclusiveUpstream(xs, up);
    let out: unknown[];
    try {
      out = await consume(stage<unknown>(n)(iterable), down);
    } catch {
      return false;
    }
    return !state.overlapped && isDeepStrictEqual(out, xs);
  });

/** After the consumer took `c ≥ 1` items and then idled, the upstream has produced exactly min(length, c + size). */
const readsAheadBySize = (stage: Stage) =>
  fc.asyncProperty(size, fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 12 }), async (n, length, c) => {
    const xs = Array.from({ length }, (_, i) => i);
    const { iterable, state } = upstream(xs);
    const iterator = stage<number>(n)(iterable)[Symbol.asyncIterator]();
    const got: number[] = [];
    for (let i = 0; i < c; i++) {
      const r = await iterator.next();
      if (!r.done) got.push(r.value);
    }
    await ticks(50);
    const produced = state.produced;
    for (;;) {
      const r = await iterator.next();
      if (r.done) break;
      got.push(r.value);
    }
    return produced === Math.min(length, c + n) && isDeepStrictEqual(got, xs);
  });

/** A meta-test's verdict: the property failed on a counterexample (not by running out of time or preconditions). */
const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(result.failed && result.counterexample !== null && !result.interrupted, `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips, interrupted: result.interrupted })}`);

describe(`prefetch (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: fc.tuple(size, items),
    input: ([, xs]) => xs,
    op: ([n]) => prefetch<unknown>(n),
    numRuns: 40,
    reads: ([n]) => ({ readAhead: n }),
  });

  it('the output is the upstream: same items, same order, for any size 0–5 and any speeds of upstream and consumer', async () => {
    await fc.assert(isTheUpstream(prefetch), fcParams({ numRuns: 150 }));
  });

  it('an upstream error arrives after exactly the items before it', async () => {
    await fc.assert(
      fc.asyncProperty(size, items, delays, delays, async (n, xs, up, down) => {
        const { iterable } = upstream(xs, up, true);
        const got: unknown[] = [];
        try {
          for await (const x of prefetch<unknown>(n)(iterable)) {
            got.push(x);
            await ticks(down[got.length % Math.max(1, down.length)] ?? 0);
          }
        } catch (e) {
          return e instanceof Boom && isDeepStrictEqual(got, xs);
        }
        return false;
      }),
      fcParams({ numRuns: 100 }),
    );
  });

  it("early exit (take(k), or break) closes the upstream (its finally runs) before the consumer's loop ends", async () => {
    await fc.assert(
      fc.asyncProperty(size, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 8 }), delays, fc.boolean(), async (n, length, k, up, viaTake) => {
        const { iterable, state } = upstream(
          Array.from({ length }, (_, i) => i),
          up,
        );
        const got: number[] = [];
        if (viaTake) {
          for await (const x of prefetch<number>(n)(iterable).pipe(take(k))) got.push(x);
        } else {
          for await (const x of prefetch<number>(n)(iterable)) {
            got.push(x);
            if (got.length === k) break;
          }
        }
        // Checked synchronously after the loop: nothing else has run since it ended.
        return state.started && state.closed && got.length === Math.min(k, length);
      }),
      fcParams({ numRuns: 150 }),
    );
  });

  it('the upstream is never pulled concurrently (no next() or return() while a next() is pending)', async () => {
    await fc.assert(pullsOneAtATime(prefetch), fcParams({ numRuns: 150 }));
  });

  it('early exit while the upstream is slow still closes it one call at a time', async () => {
    await fc.assert(
      fc.asyncProperty(size, fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), async (n, k, up) => {
        const { iterable, state } = exclusiveUpstream(
          Array.from({ length: 10 }, (_, i) => i),
          up,
        );
        const got = await toArray(prefetch<number>(n)(iterable).pipe(take(k)));
        return !state.overlapped && isDeepStrictEqual(got, Array.from({ length: k }, (_, i) => i));
      }),
      fcParams({ numRuns: 60 }),
    );
  });

  it('it reads ahead: with a consumer that took c items and waits, the upstream has produced min(length, c + size) items (size 0: exactly c)', async () => {
    await fc.assert(readsAheadBySize(prefetch), fcParams({ numRuns: 150 }));
  });

  it('nothing is pulled before the first next() (lazy)', async () => {
    const { iterable, state } = upstream([1, 2, 3]);
    const pipeline = prefetch<number>(3)(iterable);
    await ticks(10);
    assert.equal(state.started, false);
    assert.deepEqual(await toArray(pipeline), [1, 2, 3]);
  });

  it('a negative, fractional or non-finite size is a ConfigError, thrown when the stage is built', () => {
    for (const bad of [-1, -0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => prefetch(bad),
        (e: unknown) => e instanceof ConfigError && e.option === 'prefetch',
        String(bad),
      );
    }
    assert.doesNotThrow(() => prefetch(0));
  });

  it('meta: a stage that pulls the upstream concurrently fails the one-at-a-time property', async () => {
    const greedy: Stage = <A>(n: number) =>
      operator<A, A>(async function* (source) {
        const iterator = source[Symbol.asyncIterator]();
        for (;;) {
          const results = await Promise.all(Array.from({ length: Math.max(2, n) }, () => iterator.next()));
          for (const r of results) {
            if (r.done) return;
            yield r.value;
          }
        }
      });
    assertCaught(await fc.check(pullsOneAtATime(greedy), fcParams({ numRuns: 150 })));
  });

  it('meta: a stage that does not read ahead fails the read-ahead property; one that reorders fails the identity property', async () => {
    const passThrough: Stage = <A>() => operator<A, A>(async function* (source) {
      yield* source;
    });
    assertCaught(await fc.check(readsAheadBySize(passThrough), fcParams({ numRuns: 150 })));
    const swapsPairs: Stage = <A>(n: number) =>
      operator<A, A>(async function* (source) {
        const all: A[] = [];
        for await (const x of source) all.push(x);
        for (let i = 0; i + 1 < all.length; i += 2) [all[i], all[i + 1]] = [all[i + 1]!, all[i]!];
        yield* n >= 0 ? all : [];
      });
    assertCaught(await fc.check(isTheUpstream(swapsPairs), fcParams({ numRuns: 150 })));
  });
});

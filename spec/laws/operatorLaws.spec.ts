/**
 * Tests of the laws themselves: each law holds for an honest stage and fails for a stage broken
 * in the way it is meant to catch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toArray } from 'ix/asynciterable';
import { operator, type Op } from '../../lib/core/operator.js';
import { prefetch } from '../../lib/stages/prefetch.js';
import { FC_SEED } from '../helpers/fc.js';
import { cleansUpOnEarlyExit, type ReadBound } from './operatorLaws.js';

const inputs = fc.array(fc.integer(), { maxLength: 12 });
const closesEarly = (op: () => Op<number, number>, bound?: ReadBound<number>) =>
  fc.asyncProperty(inputs, fc.nat({ max: 3 }), (input, k) => cleansUpOnEarlyExit(op(), input, k, bound));
const check = (property: fc.IAsyncPropertyWithHooks<[number[], number]>) => fc.check(property, { seed: FC_SEED, numRuns: 100 });

/** One output per input, read as it goes. */
const honest = (): Op<number, number> =>
  operator(async function* (xs) {
    for await (const x of xs) yield x * 2;
  });

/** The same outputs, but it reads its whole input first (what the law must now catch). */
const readsEverything = (): Op<number, number> =>
  operator(async function* (xs) {
    for (const x of await toArray(xs)) yield x * 2;
  });

/** Reads through its own iterator and never returns it: the upstream stays open after take(k). */
const leavesOpen = (): Op<number, number> =>
  operator(async function* (xs) {
    const iterator = xs[Symbol.asyncIterator]();
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value * 2;
    }
  });

describe(`law: take(k) closes the upstream, having read no more than k outputs need (FC_SEED=${FC_SEED})`, () => {
  it('holds for a stage that reads as it goes', async () => {
    assert.equal((await check(closesEarly(honest))).failed, false);
  });

  it('fails for a stage that reads all its input before its first output (it used to pass: its upstream ends and closes by itself)', async () => {
    assert.equal((await check(closesEarly(readsEverything))).failed, true);
  });

  it('holds for the same stage when it declares that it must read everything (groupByTask, epochShuffle)', async () => {
    assert.equal((await check(closesEarly(readsEverything, { all: true }))).failed, false);
  });

  it('fails for a stage that does not pass return() upstream', async () => {
    assert.equal((await check(closesEarly(leavesOpen))).failed, true);
  });

  it('fails for prefetch(2) taken as a stage without read-ahead, holds with its declared read-ahead of 2', async () => {
    assert.equal((await check(closesEarly(() => prefetch<number>(2)))).failed, true);
    assert.equal((await check(closesEarly(() => prefetch<number>(2), { readAhead: 2 }))).failed, false);
  });
});

/**
 * The generic laws every stage obeys, as predicates returning booleans (so that fast-check can
 * report counterexamples, and so that a broken stage makes them return false: see the meta-tests).
 */
import fc from 'fast-check';
import { defer, from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { isDeepStrictEqual } from 'node:util';
import type { Op } from '../../lib/core/operator.js';

/** Same input, same output: across two fresh pipelines, and across two iterations of one. */
export const isDeterministic = async <A, B>(makeOp: () => Op<A, B>, input: ReadonlyArray<A>): Promise<boolean> => {
  const first = await toArray(from(input).pipe(makeOp()));
  const second = await toArray(from(input).pipe(makeOp()));
  const once = from(input).pipe(makeOp());
  const [third, fourth] = [await toArray(once), await toArray(once)];
  return isDeepStrictEqual(first, second) && isDeepStrictEqual(first, third) && isDeepStrictEqual(first, fourth);
};

/** Iterating the same pipeline object twice gives the same, non-empty-if-first-was output (no one-shot generator). */
export const isReiterable = async <A, B>(op: Op<A, B>, input: ReadonlyArray<A>): Promise<boolean> => {
  const pipeline = from(input).pipe(op);
  return isDeepStrictEqual(await toArray(pipeline), await toArray(pipeline));
};

/**
 * How much of its input a stage may read for its first `k` outputs.
 *
 * - `all`: the stage reads everything before its first output, by design (`groupByTask`,
 *   `epochShuffle`: the plan needs every task); only the clean-up is checked.
 * - otherwise the inputs its first `k` outputs come from (`inputsFor`, default `k`: one output per
 *   input) plus `readAhead` (default 0; `prefetch(n)` reads `n` ahead).
 */
export interface ReadBound<A> {
  readonly all?: boolean;
  readonly readAhead?: number;
  readonly inputsFor?: (input: ReadonlyArray<A>, k: number) => number;
}

/**
 * Taking `k` outputs and stopping closes the upstream (its `finally` runs: the stage propagates
 * `return()`), and the stage has read no more of it than those outputs need (plus its declared
 * read-ahead): a stage that drains its whole input when only `k` outputs are wanted fails.
 */
export const cleansUpOnEarlyExit = async <A, B>(op: Op<A, B>, input: ReadonlyArray<A>, k: number, bound: ReadBound<A> = {}): Promise<boolean> => {
  let started = false;
  let closed = false;
  let pulled = 0;
  const upstream = defer(async function* () {
    started = true;
    try {
      for (const x of input) {
        pulled += 1;
        yield x;
      }
    } finally {
      closed = true;
    }
  });
  const taken = await toArray(upstream.pipe(op, take(k)));
  // Whatever was opened is closed (take(0) may never open the upstream at all).
  if (!(taken.length <= k && started === closed)) return false;
  if (bound.all === true) return true;
  return pulled <= (bound.inputsFor ?? ((_input, n) => n))(input, k) + (bound.readAhead ?? 0);
};

type Model = { index: number; done: boolean };
type Real = { iterator: AsyncIterator<unknown>; expected: ReadonlyArray<unknown> };

class NextCommand implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const result = await real.iterator.next();
    const shouldBeDone = model.done || model.index >= real.expected.length;
    if (shouldBeDone) {
      if (!result.done) throw new Error(`next() after the end (or after return) gave a value`);
      model.done = true;
      return;
    }
    if (result.done) throw new Error(`next() ended after ${model.index} of ${real.expected.length} values`);
    if (!isDeepStrictEqual(result.value, real.expected[model.index])) throw new Error(`next() #${model.index} differs from the full run`);
    model.index += 1;
  }
  toString = () => 'next';
}

class ReturnCommand implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const result = await real.iterator.return!();
    if (!result.done) throw new Error('return() did not finish the iterator');
    model.done = true;
  }
  toString = () => 'return';
}

/**
 * Model-based check of the async iterator protocol: any sequence of `next()` and `return()` calls
 * agrees with the full run (values in order, done after the end, done forever after `return()`).
 */
export const iteratorProtocol = <A, B>(makeOp: () => Op<A, B>, input: ReadonlyArray<A>, expected: ReadonlyArray<B>) =>
  fc.asyncProperty(fc.commands([fc.constant(new NextCommand()), fc.constant(new ReturnCommand())], { maxCommands: expected.length + 4 }), async (commands) => {
    const iterator = from(input).pipe(makeOp())[Symbol.asyncIterator]();
    await fc.asyncModelRun(() => ({ model: { index: 0, done: false }, real: { iterator, expected } }), commands);
    return true;
  });

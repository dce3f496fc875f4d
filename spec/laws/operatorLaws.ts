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

/** Taking `k` outputs and stopping runs the upstream's `finally` (the stage propagates `return()`). */
export const cleansUpOnEarlyExit = async <A, B>(op: Op<A, B>, input: ReadonlyArray<A>, k: number): Promise<boolean> => {
  let started = false;
  let closed = false;
  const upstream = defer(async function* () {
    started = true;
    try {
      yield* input;
    } finally {
      closed = true;
    }
  });
  const taken = await toArray(upstream.pipe(op, take(k)));
  // Whatever was opened is closed (take(0) may never open the upstream at all).
  return taken.length <= k && started === closed;
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

/** Registers the four generic stage laws (STYLE §8.8) for one stage. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import type { Op } from '../../lib/core/operator.js';
import { fcParams } from '../helpers/fc.js';
import { cleansUpOnEarlyExit, isDeterministic, isReiterable, iteratorProtocol, type ReadBound } from './operatorLaws.js';

export interface LawSubject<S, A, B> {
  /** Random samples (options, corpora, …). */
  readonly sample: fc.Arbitrary<S>;
  /** The stage's input sequence for a sample. */
  readonly input: (sample: S) => Promise<ReadonlyArray<A>> | ReadonlyArray<A>;
  /** A fresh stage for a sample. */
  readonly op: (sample: S) => Op<A, B>;
  readonly numRuns?: number;
  /** How much input the stage may read for k outputs (see `ReadBound`), per sample. Default: one input per output, no read-ahead. */
  readonly reads?: ReadBound<A> | ((sample: S) => ReadBound<A>);
}

export const checkOperatorLaws = <S, A, B>(subject: LawSubject<S, A, B>): void => {
  const numRuns = subject.numRuns ?? 20;
  const law = (name: string, predicate: (s: S, input: ReadonlyArray<A>, k: number) => Promise<boolean>, runs = numRuns) =>
    it(`law: ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(subject.sample, fc.nat({ max: 3 }), async (s, k) => predicate(s, await subject.input(s), k)),
        fcParams({ numRuns: runs }),
      );
    });
  law('deterministic (two fresh runs, two iterations of one pipeline)', (s, input) => isDeterministic(() => subject.op(s), input));
  law('re-iterable', (s, input) => isReiterable(subject.op(s), input));
  law('take(k) closes the upstream, having read no more than k outputs need', (s, input, k) => cleansUpOnEarlyExit(subject.op(s), input, k, typeof subject.reads === 'function' ? subject.reads(s) : subject.reads));
  law(
    'next/return protocol agrees with the full run (model-based)',
    async (s, input) => {
      const expected = await toArray(from(input).pipe(subject.op(s)));
      const result = await fc.check(iteratorProtocol(() => subject.op(s), input, expected), { seed: 1, numRuns: 8 });
      assert.equal(result.failed, false, fc.defaultReportMessage(result) ?? '');
      return true;
    },
    Math.min(numRuns, 8),
  );
};

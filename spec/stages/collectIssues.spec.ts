/**
 * collectIssues: Rights pass through in order; each Left is left out and reported, in order, as one
 * `recordDropped` event with exactly its issues.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import type { Issue } from '../../lib/core/errors.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { collectReport, type ReportSink } from '../../lib/core/report.js';
import { collectIssues } from '../../lib/stages/collectIssues.js';
import { items, type Item } from '../arbitraries/issues.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Policy = (options: { readonly report: ReportSink }) => Op<Item, number>;

/** Model: output = the Rights in order; events = one recordDropped per Left, in order, with its issues. */
const dropsAndReportsLefts = (policy: Policy) =>
  fc.asyncProperty(items, async (input) => {
    const report = collectReport();
    const out = await toArray(from(input).pipe(policy({ report })));
    const rights = input.flatMap((x) => (E.isRight(x) ? [x.right] : []));
    const dropped = input.flatMap((x) => (E.isLeft(x) ? [{ kind: 'recordDropped', issues: x.left }] : []));
    return isDeepStrictEqual(out, rights) && isDeepStrictEqual(report.events, dropped);
  });

describe(`collectIssues (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: items,
    input: (xs) => xs,
    op: () => collectIssues<number>({ report: collectReport() }),
    // Lefts are dropped: k outputs come from the inputs up to the k-th Right.
    reads: { inputsFor: (input, k) => (k === 0 ? 0 : input.findIndex((_x, i) => input.slice(0, i + 1).filter(E.isRight).length === k) + 1 || input.length) },
    numRuns: 40,
  });

  it('passes the Rights through in order and reports each Left as recordDropped with exactly its issues', async () => {
    await fc.assert(dropsAndReportsLefts(collectIssues), fcParams({ numRuns: 200 }));
  });

  it('reports a Left when it is reached, not before (events interleave with the output)', async () => {
    const report = collectReport();
    const left: ReadonlyNonEmptyArray<Issue> = [{ file: 'a.jsonl', line: 2, field: 'pos', message: 'is empty' }];
    const iterator = from<Item>([E.right(1), E.left(left), E.right(2)]).pipe(collectIssues<number>({ report }))[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { done: false, value: 1 });
    assert.equal(report.events.length, 0);
    assert.deepEqual(await iterator.next(), { done: false, value: 2 });
    assert.deepEqual(report.events, [{ kind: 'recordDropped', issues: left }]);
    assert.equal((await iterator.next()).done, true);
  });

  it('meta: the property catches a policy that reports only the first issue, one that drops nothing from the report, and one that reorders', async () => {
    const firstIssue: Policy = ({ report }) =>
      operator(async function* (src) {
        for await (const x of src) {
          if (E.isLeft(x)) report.add({ kind: 'recordDropped', issues: [x.left[0]] });
          else yield x.right;
        }
      });
    const silent: Policy = () =>
      operator(async function* (src) {
        for await (const x of src) if (E.isRight(x)) yield x.right;
      });
    const reordering: Policy = ({ report }) =>
      operator(async function* (src) {
        const rights: number[] = [];
        for await (const x of src) {
          if (E.isLeft(x)) report.add({ kind: 'recordDropped', issues: x.left });
          else rights.push(x.right);
        }
        yield* rights.reverse();
      });
    for (const broken of [firstIssue, silent, reordering]) {
      assert.equal((await fc.check(dropsAndReportsLefts(broken), { seed: FC_SEED, numRuns: 200 })).failed, true);
    }
  });
});

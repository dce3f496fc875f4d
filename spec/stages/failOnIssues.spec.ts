/**
 * failOnIssues: Rights pass through in order until the first Left, which stops the run with a
 * RecordError carrying exactly that Left's issues.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { RecordError, type Issue } from '../../lib/core/errors.js';
import { operator, type Op } from '../../lib/core/operator.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';
import { failOnIssues } from '../../lib/stages/failOnIssues.js';
import { corpus, sourced } from '../arbitraries/corpus.js';
import { items, type Item } from '../arbitraries/issues.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Policy = () => Op<Item, number>;

/** Runs the stage and returns what it yielded before stopping, and the error it stopped with (if any). */
const outcome = async (stage: Op<Item, number>, input: ReadonlyArray<Item>) => {
  const yielded: number[] = [];
  try {
    for await (const x of from(input).pipe(stage)) yielded.push(x);
    return { yielded, error: undefined as unknown };
  } catch (error) {
    return { yielded, error };
  }
};

/** Model: the Rights before the first Left, then a RecordError with that Left's issues (none if no Left). */
const stopsAtTheFirstLeft = (policy: Policy) =>
  fc.asyncProperty(items, async (input) => {
    const { yielded, error } = await outcome(policy(), input);
    const firstLeft = input.findIndex(E.isLeft);
    const before = (firstLeft < 0 ? input : input.slice(0, firstLeft)).map((x) => (x as E.Right<number>).right);
    if (!isDeepStrictEqual(yielded, before)) return false;
    if (firstLeft < 0) return error === undefined;
    const left = (input[firstLeft] as E.Left<ReadonlyNonEmptyArray<Issue>>).left;
    return error instanceof RecordError && isDeepStrictEqual(error.issues, left) && error.file === left[0].file && error.line === left[0].line;
  });

describe(`failOnIssues (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: corpus(),
    input: (c) => sourced(c).map((r) => E.right<ReadonlyNonEmptyArray<Issue>, SourcedExample>(r)),
    op: () => failOnIssues<SourcedExample>(),
  });

  it('yields the Rights before the first Left in order, then throws a RecordError with exactly its issues', async () => {
    await fc.assert(stopsAtTheFirstLeft(() => failOnIssues<number>()), fcParams({ numRuns: 200 }));
  });

  it('a stream of Rights only passes through unchanged (same objects, same order)', async () => {
    await fc.assert(
      fc.asyncProperty(corpus(), async (c) => {
        const records = sourced(c);
        const out = await toArray(from(records.map((r) => E.right(r))).pipe(failOnIssues<SourcedExample>()));
        return out.length === records.length && out.every((r, i) => r === records[i]);
      }),
      fcParams({ numRuns: 30 }),
    );
  });

  it('the error message lists every issue as file:line: field: message', async () => {
    const left: ReadonlyNonEmptyArray<Issue> = [
      { file: 'a.jsonl', line: 3, field: 'query', message: 'required field is missing' },
      { file: 'a.jsonl', line: 3, message: 'malformed JSON' },
    ];
    await assert.rejects(toArray(from<Item>([E.right(1), E.left(left), E.right(2)]).pipe(failOnIssues<number>())), (e: unknown) => {
      assert.ok(e instanceof RecordError);
      assert.equal(e.message, 'a.jsonl:3: query: required field is missing\na.jsonl:3: malformed JSON');
      assert.equal(e.field, 'query');
      return true;
    });
  });

  it('meta: the property catches a policy that skips Lefts, one that keeps only the first issue, and one that fails one record late', async () => {
    const skipping: Policy = () =>
      operator(async function* (src) {
        for await (const x of src) if (E.isRight(x)) yield x.right;
      });
    const firstIssueOnly: Policy = () =>
      operator(async function* (src) {
        for await (const x of src) {
          if (E.isLeft(x)) throw new RecordError([x.left[0]]);
          yield x.right;
        }
      });
    const late: Policy = () =>
      operator(async function* (src) {
        let pending: ReadonlyNonEmptyArray<Issue> | undefined;
        for await (const x of src) {
          if (E.isLeft(x)) pending ??= x.left;
          else yield x.right;
          if (pending && E.isRight(x)) throw new RecordError(pending);
        }
        if (pending) throw new RecordError(pending);
      });
    for (const broken of [skipping, firstIssueOnly, late]) {
      assert.equal((await fc.check(stopsAtTheFirstLeft(broken), { seed: FC_SEED, numRuns: 200 })).failed, true);
    }
  });
});

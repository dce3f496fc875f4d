/** Streams of decoded records and bad records (issue lists), for the issue-policy stages. */
import * as E from 'fp-ts/lib/Either.js';
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import fc from 'fast-check';
import type { Issue } from '../../lib/core/errors.js';

export type Item = E.Either<ReadonlyNonEmptyArray<Issue>, number>;

export const issue: fc.Arbitrary<Issue> = fc.record(
  {
    file: fc.constantFrom('a.jsonl', 'dir/b.json', 'c d.jsonl'),
    line: fc.integer({ min: 1, max: 1000 }),
    field: fc.constantFrom('query', 'pos', 'neg.2', 'pos_scores'),
    message: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ['file', 'line', 'message'] },
);

export const issues = fc.array(issue, { minLength: 1, maxLength: 4 }) as fc.Arbitrary<unknown> as fc.Arbitrary<ReadonlyNonEmptyArray<Issue>>;

/** A stream of records (numbers) and bad records (issue lists), Lefts about a quarter of the time. */
export const items: fc.Arbitrary<Item[]> = fc.array(
  fc.oneof({ weight: 3, arbitrary: fc.integer().map((n): Item => E.right(n)) }, { weight: 1, arbitrary: issues.map((i): Item => E.left(i)) }),
  { maxLength: 12 },
);


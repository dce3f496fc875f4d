import * as E from 'fp-ts/lib/Either.js';
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { RecordError, type Issue } from '../core/errors.js';
import { operator, type Op } from '../core/operator.js';

/**
 * The strict issue policy: the first bad record stops the run with a {@link RecordError} carrying
 * all of that record's issues (file, line, field each).
 *
 * **Details**: this is the reference's behaviour made explicit; it also crashes on bad data, only
 * less clearly. Use `collectIssues` to skip bad records instead.
 *
 * @example
 * fromTaskFiles(['examples/data/retrieval']).pipe(failOnIssues());
 *
 * @category stages
 */
export const failOnIssues = <A>(): Op<E.Either<ReadonlyNonEmptyArray<Issue>, A>, A> =>
  operator(async function* (source, signal) {
    for await (const item of source) {
      signal?.throwIfAborted();
      if (E.isLeft(item)) throw new RecordError(item.left);
      yield item.right;
    }
  });

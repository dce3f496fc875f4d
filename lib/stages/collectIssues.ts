import * as E from 'fp-ts/lib/Either.js';
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { Issue } from '../core/errors.js';
import { operator, type Op } from '../core/operator.js';
import type { ReportSink } from '../core/report.js';

/**
 * The lenient issue policy: bad records are left out, and each is reported to `report` as a
 * `recordDropped` event with its issues.
 *
 * **Gotchas**: leaving records out changes task sizes and therefore every random draw after it, so
 * the batches no longer match the reference's (which would crash on such data). Use it to survey a
 * corpus, not for parity runs.
 *
 * @example
 * const report = collectReport();
 * fromTaskFiles(['examples/data']).pipe(collectIssues({ report }));
 *
 * @category stages
 */
export const collectIssues = <A>(options: { readonly report: ReportSink }): Op<E.Either<ReadonlyNonEmptyArray<Issue>, A>, A> =>
  operator(async function* (source, signal) {
    for await (const item of source) {
      signal?.throwIfAborted();
      if (E.isLeft(item)) options.report.add({ kind: 'recordDropped', issues: item.left });
      else yield item.right;
    }
  });

/**
 * The streaming source: `train_data` as indexed task files whose records are read on demand.
 *
 * @module
 */
import { defer, type AsyncIterableX } from 'ix/asynciterable';
import type { TaskFile } from '../core/model.js';
import type { ReportSink } from '../core/report.js';
import { indexedStore, loadTaskFileIndex, type IndexOptions } from './taskIndex.js';
import { listTaskFiles } from './taskFiles.js';

/**
 * Options of {@link indexTaskFiles}.
 *
 * @category models
 */
export interface IndexTaskFilesOptions extends IndexOptions {
  /** Receives `fileIndexed`, `fileSkipped` and (with `badRecords: 'skip'`) `recordDropped` events. */
  readonly report?: ReportSink;
}

/**
 * Every task file of `train_data`, in load order, indexed (or its index read from the cache), with
 * a store that reads records by position.
 *
 * **Details**: one pass per changed file builds its index (see `indexTaskFile`); afterwards a run
 * holds only indexes and the batches in flight, not the corpus. Bad records fail here, before the
 * first batch, with file, line and field (or are skipped and reported with `badRecords: 'skip'`).
 * Lazy and re-iterable.
 *
 * @example
 * indexTaskFiles(['examples/data/retrieval'], { indexCacheDir: '.cache' }).pipe(groupByTask(options));
 *
 * @category constructors
 */
export const indexTaskFiles = (trainData: ReadonlyArray<string>, options: IndexTaskFilesOptions = {}): AsyncIterableX<TaskFile> =>
  defer(async function* (signal?: AbortSignal) {
    for (const { file, origin } of await listTaskFiles(trainData, options.report)) {
      signal?.throwIfAborted();
      const { index, cached } = await loadTaskFileIndex(file, options);
      options.report?.add({ kind: 'fileIndexed', file, records: index.columns.line.length, cached });
      for (const issues of index.skipped) options.report?.add({ kind: 'recordDropped', issues });
      yield { file, origin, summary: index.summary, store: indexedStore(index, options), fingerprint: index.fingerprint };
    }
  });

/**
 * What the pipeline skipped, merged, subsampled and dropped, as data. FlagEmbedding does these
 * things silently; here every one is an event a caller can count, print or assert on.
 *
 * @module
 */
import type { Issue } from './errors.js';

/**
 * One thing worth knowing about a run.
 *
 * - `fileSkipped`: a `train_data` file or folder entry that is not `.json`/`.jsonl`, a folder entry
 *   that is not a regular file, or a file with no records; in a Hugging Face dataset folder (research
 *   flavor), a file of another format than its split's (`other-format`) or one no split pattern
 *   names (`no-split`), which `load_dataset` passes over without a word.
 * - `fileSubsampled`: a file above `max_example_num_per_dataset` kept a random subset.
 * - `taskDropped`: a file below `small_threshold` named directly, or a folder's merged small files
 *   below `drop_threshold`.
 * - `tailDropped`: the incomplete last batch of a task in an epoch.
 * - `recordDropped`: a bad record that `collectIssues` (or an index with `badRecords: 'skip'`) left out.
 * - `fileIndexed`: a task file's index was built (one pass over the file) or read from the cache.
 * - `unknownType`: a warning: a file's records have a `type` the reference does not know; it trains
 *   them as `normal` (and a type containing "symmetric" halves the batch size), and so does this
 *   library. `known` lists the types it knows.
 * - `cacheEntryRejected`: a warning: a cached index (or a `.gz` file's decompressed copy) failed its
 *   checks (checksum, size, owner, …) and was rebuilt; `reason` says which.
 * - `lockWaited`: another process held the lock of a file's index (it was building it) and this run
 *   waited for it, or took the lock over because its holder was gone (`reason`).
 * - `saveSkipped`: research flavor, `save_to_disk` into a folder that already has the module's `.log`
 *   (the module prints "already exists" and does not write).
 *
 * @category models
 */
export type ReportEvent =
  | {
      readonly kind: 'fileSkipped';
      readonly file: string;
      readonly reason: 'not-json' | 'not-a-file' | 'empty' | 'other-format' | 'no-split';
    }
  | { readonly kind: 'fileSubsampled'; readonly file: string; readonly records: number; readonly kept: number }
  | {
      readonly kind: 'taskDropped';
      readonly files: ReadonlyArray<string>;
      readonly records: number;
      readonly reason: 'small_threshold' | 'drop_threshold';
    }
  | { readonly kind: 'tailDropped'; readonly epoch: number; readonly task: string; readonly records: number }
  | { readonly kind: 'recordDropped'; readonly issues: ReadonlyArray<Issue> }
  | { readonly kind: 'fileIndexed'; readonly file: string; readonly records: number; readonly cached: boolean }
  | { readonly kind: 'unknownType'; readonly file: string; readonly line: number; readonly type: string; readonly known: ReadonlyArray<string> }
  | { readonly kind: 'cacheEntryRejected'; readonly file: string; readonly cacheFile: string; readonly reason: string }
  | {
      readonly kind: 'lockWaited';
      readonly file: string;
      readonly lock: string;
      readonly holder: { readonly pid: number; readonly host: string } | null;
      readonly seconds: number;
      readonly outcome: 'released' | 'taken-over';
      readonly reason?: string;
    }
  | { readonly kind: 'saveSkipped'; readonly dir: string; readonly reason: 'log-exists' };

/**
 * Where stages put {@link ReportEvent}s. Passed in explicitly; a stage without one reports nothing.
 *
 * @category models
 */
export interface ReportSink {
  readonly add: (event: ReportEvent) => void;
}

/**
 * A sink that keeps every event in order, with a tally.
 *
 * @example
 * const report = collectReport();
 * await toArray(take(flagEmbeddingBatches({ ...options, report }), 10));
 * report.events.filter((e) => e.kind === 'tailDropped');
 *
 * @category sinks
 */
export const collectReport = (): ReportSink & { readonly events: ReadonlyArray<ReportEvent> } => {
  const events: ReportEvent[] = [];
  return { events, add: (event) => void events.push(event) };
};

/**
 * A sink that passes every event to each of `sinks`, in order (an absent one is left out).
 *
 * @example
 * const kept = collectReport();
 * indexTaskFiles(trainData, { report: teeReport(kept, options.report) });
 *
 * @category sinks
 */
export const teeReport = (...sinks: ReadonlyArray<ReportSink | undefined>): ReportSink => ({
  add: (event) => {
    for (const sink of sinks) sink?.add(event);
  },
});

import { ConfigError } from '../core/errors.js';
import type { Example, Located, Task, TaskFile } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import type { ReportSink } from '../core/report.js';
import { buildTaskList, validateTaskListOptions, type TaskListOptions } from '../plan/taskList.js';
import type { SourcedExample } from '../sources/taskFiles.js';

/**
 * Options of {@link groupByTask}: the reference's load options, plus a report sink.
 *
 * @category stages
 */
export interface GroupByTaskOptions extends TaskListOptions {
  /** Receives `fileSubsampled`, `taskDropped` and `fileSkipped` events. */
  readonly report?: ReportSink;
}

/**
 * Groups records into tasks: one per file, or one per folder's merged small files, as
 * FlagEmbedding's same-dataset loader does (see `buildTaskList` for the exact rules).
 *
 * **Details**: records of a file are grouped by their `file` and `train_data` entry,
 * in first-seen order (the load order `fromTaskFiles` yields).
 *
 * **Gotchas**: buffers every record before yielding the first task: subsampling needs a file's
 * size, small-file merging a folder's, and the reference's column rules the whole corpus. A run
 * where no task has records is a {@link ConfigError}.
 *
 * @example
 * fromTaskFiles(trainData).pipe(failOnIssues(), groupByTask({ seed: 42, perDeviceTrainBatchSize: 8 }));
 *
 * @category stages
 */
export const groupByTask = (options: GroupByTaskOptions): Op<SourcedExample, Task> => {
  validateTaskListOptions(options);
  return operator(async function* (records, signal) {
    const files = new Map<string, { file: string; origin: TaskFile['origin']; records: Located<Example>[] }>();
    for await (const { origin, ...record } of records) {
      signal?.throwIfAborted();
      // Keyed by entry too: a file named twice in train_data is two tasks in the reference.
      const key = `${origin.entryIndex}\u0000${record.file}`;
      const file = files.get(key);
      if (file) file.records.push(record);
      else files.set(key, { file: record.file, origin, records: [record] });
    }
    const { tasks, events } = buildTaskList([...files.values()], options);
    for (const event of events) options.report?.add(event);
    if (tasks.length === 0) {
      throw new ConfigError('train_data', 'no task has any records left (empty files, or all below small_threshold / drop_threshold)');
    }
    yield* tasks;
  });
};

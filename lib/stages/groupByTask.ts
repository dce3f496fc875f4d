import { ConfigError } from '../core/errors.js';
import type { Task, TaskFile } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import type { ReportSink } from '../core/report.js';
import { KNOWN_TYPES } from '../plan/taskChecks.js';
import { buildTaskList, validateTaskListOptions, type TaskListOptions } from '../plan/taskList.js';

/**
 * Options of {@link groupByTask}: the reference's load options, plus a report sink.
 *
 * @category stages
 */
export interface GroupByTaskOptions extends TaskListOptions {
  /** Receives `fileSubsampled`, `taskDropped`, `fileSkipped` and `unknownType` events. */
  readonly report?: ReportSink;
}

/**
 * Groups task files into tasks: one per file, or one per folder's merged small files, as
 * FlagEmbedding's same-dataset loader does (see `buildTaskList` for the exact rules).
 *
 * **Details**: files arrive in load order (from `indexTaskFiles`, or `toTaskFiles` for records
 * from elsewhere); only their summaries and record metadata are used, never their texts.
 *
 * **Gotchas**: waits for every file before yielding the first task: the reference's column rules
 * need the whole corpus. A run where no task has records is a {@link ConfigError}. A file whose
 * `type` the reference does not know is reported (`unknownType`) and trained as the reference
 * trains it; follow with `checkTasks` to fail now on what would fail a batch later.
 *
 * @example
 * indexTaskFiles(trainData).pipe(groupByTask({ seed: 42, perDeviceTrainBatchSize: 8 }));
 *
 * @category stages
 */
export const groupByTask = (options: GroupByTaskOptions): Op<TaskFile, Task> => {
  validateTaskListOptions(options);
  return operator(async function* (source, signal) {
    const files: TaskFile[] = [];
    for await (const file of source) {
      signal?.throwIfAborted();
      files.push(file);
    }
    for (const file of files) {
      const type = file.summary.type;
      if (type !== undefined && !KNOWN_TYPES.includes(type) && file.store.size > 0) {
        options.report?.add({ kind: 'unknownType', file: file.file, line: file.store.meta(0).line, type, known: KNOWN_TYPES });
      }
    }
    const { tasks, events } = buildTaskList(files, options);
    for (const event of events) options.report?.add(event);
    if (tasks.length === 0) {
      throw new ConfigError('train_data', 'no task has any records left (empty files, or all below small_threshold / drop_threshold)');
    }
    yield* tasks;
  });
};

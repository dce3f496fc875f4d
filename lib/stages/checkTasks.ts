import type { Task } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import { checkSymmetricBudget, iclBudgets } from '../plan/iclBudgets.js';
import { checkStepSize, checkTask, type TaskCheckOptions } from '../plan/taskChecks.js';
import type { TokenizerPort } from '../tokenizers/port.js';
import { SYMMETRIC_PASSAGE_TYPES } from './formatPrompt.js';

/**
 * Options of {@link checkTasks}, with the reference's argument names and defaults.
 *
 * @category stages
 */
export interface CheckTasksOptions extends TaskCheckOptions {
  /** `per_device_train_batch_size`, checked with `train_group_size` against the step cap. Default: 8. */
  readonly perDeviceTrainBatchSize?: number;
  /** With a tokenizer, the token budgets are checked too (`query_max_len`, and `passage_max_len` for symmetric tasks). */
  readonly tokenizer?: TokenizerPort;
  /** `query_max_len`. Default: 32. */
  readonly queryMaxLen?: number;
  /** `passage_max_len`. Default: 128. */
  readonly passageMaxLen?: number;
  /** `icl_suffix_str`. Default: `'\nResponse:'`. */
  readonly iclSuffixStr?: string;
}

/**
 * Passes tasks on once nothing in them would fail a batch later: the record checks of `checkTask`
 * (prompts where the reference would format `None`, records without negatives in batches that need
 * some, steps too large) and, with a tokenizer, the token budgets (a query budget of at least one
 * token after BOS and the ICL suffix; for `symmetric_sts` / `symmetric_clustering` tasks, a passage
 * budget of at least one).
 *
 * **Details**: the same errors as the stages that would hit them (`formatPrompt`, `sampleGroup`,
 * `augmentIcl`), before the first batch: the composed pipeline and the plan report run it right
 * after `groupByTask`, so that `plan` and `dump` fail on the same data, at once.
 *
 * @throws {RecordError} naming file, line and field; `ConfigError` naming the option.
 *
 * @example
 * indexTaskFiles(trainData).pipe(groupByTask(options), checkTasks(options));
 *
 * @category stages
 */
export const checkTasks = (options: CheckTasksOptions): Op<Task, Task> => {
  // The options' own step size fails at construction.
  checkStepSize('train_group_size', options.perDeviceTrainBatchSize ?? 8, options.trainGroupSize ?? 8);
  return operator(async function* (tasks, signal) {
    const settings = { queryMaxLen: options.queryMaxLen ?? 32, passageMaxLen: options.passageMaxLen ?? 128, iclSuffixStr: options.iclSuffixStr ?? '\nResponse:' };
    let passageBudget: number | null = null;
    for await (const task of tasks) {
      signal?.throwIfAborted();
      checkTask(task, options);
      if (options.tokenizer !== undefined) {
        passageBudget ??= (await iclBudgets(options.tokenizer, settings)).passage;
        if (task.columns.type && SYMMETRIC_PASSAGE_TYPES.has(task.type ?? '')) checkSymmetricBudget(settings, passageBudget);
      }
      yield task;
    }
  });
};

/**
 * The checks that would otherwise fail a batch late in a run (the reference crashes there, or
 * formats `None` into the text), made on the tasks before the first batch, from the index alone:
 * so that `plan` and `dump` fail on the same data, at once.
 *
 * @module
 */
import { ConfigError, RecordError, type Issue } from '../core/errors.js';
import { MAX_PASSAGES_PER_STEP } from '../core/limits.js';
import type { RecordMeta, Task, TaskTraits } from '../core/model.js';

/**
 * The `type`s the reference knows (FlagEmbedding 1.4's ICL dataset and collator). Any other is
 * trained as `normal`, except that a type containing "symmetric" halves the batch size.
 *
 * @category plan
 */
export const KNOWN_TYPES: ReadonlyArray<string> = ['normal', 'only_1neg', 'symmetric_sts', 'symmetric_class', 'symmetric_clustering'];

/** Why a record without a prompt cannot be formatted when the corpus has a prompt column. */
export const PROMPT_MISSING_IN_COLUMN =
  'is missing while other task files have prompts; FlagEmbedding would put the text "None" in its place (its prompt column is null here). Give every file a prompt, or none and set query_instruction_for_retrieval';
/** Why a record without a prompt cannot be formatted when no default instruction is set. */
export const PROMPT_MISSING_NO_DEFAULT = 'is missing and query_instruction_for_retrieval is not set; FlagEmbedding would put the text "None" in its place';

/**
 * The reference's `_get_train_group_size` for a batch led by `leader` (the batch's first record):
 * by the task's type when the corpus has a type column, else by the record's own
 * `train_group_size`.
 *
 * @example
 * leaderGroupSize(task, task.store.meta(batch.indices[0]), 8); // 2 for an only_1neg task
 *
 * @category plan
 */
export const leaderGroupSize = (
  task: Pick<Task, 'columns' | 'type'>,
  leader: Pick<RecordMeta, 'trainGroupSize' | 'negatives'>,
  trainGroupSize: number,
): number => {
  if (!task.columns.type) return leader.trainGroupSize ?? trainGroupSize;
  if (task.type === 'only_1neg') return 2;
  if (task.type === 'symmetric_class') return Math.min(leader.negatives + 1, trainGroupSize);
  return trainGroupSize;
};

/**
 * Options of {@link checkTasks}.
 *
 * @category plan
 */
export interface TaskCheckOptions {
  /** `train_group_size`. Default: 8. */
  readonly trainGroupSize?: number;
  /** `query_instruction_for_retrieval`. Default: none. */
  readonly queryInstructionForRetrieval?: string | null;
}

/**
 * A step of `batchSize` queries with `groupSize` passages each must fit {@link MAX_PASSAGES_PER_STEP}.
 *
 * @category plan
 */
export const checkStepSize = (option: string, batchSize: number, groupSize: number, where = ''): void => {
  if (batchSize * groupSize > MAX_PASSAGES_PER_STEP) {
    throw new ConfigError(
      option,
      `${where}a step of ${batchSize} queries × ${groupSize} passages is ${batchSize * groupSize} passages per rank, more than the ${MAX_PASSAGES_PER_STEP} (2^18) this library builds in one step (each is tokenized and padded); lower per_device_train_batch_size or train_group_size`,
    );
  }
};

const fail = (issue: Issue): never => {
  throw new RecordError([issue]);
};

/**
 * Checks a task for what would fail one of its batches later, throwing what that batch would:
 * - a record without `prompt` where the reference would format `None` into the query (the corpus
 *   has a prompt column and this record lacks one, or no record has one and
 *   `query_instruction_for_retrieval` is not set);
 * - a record with no negatives that can land in a batch whose group size needs some (the
 *   reference divides by zero): its own group size as the batch's first record is over 1, or
 *   (with a per-device batch of 2 or more) another record of the task leads batches that need
 *   negatives;
 * - a batch size × largest group size over {@link MAX_PASSAGES_PER_STEP}.
 *
 * **Details**: reads the task's {@link TaskTraits} and, only for a task with a record without
 * negatives (or without traits), its records' metadata (after subsampling, so only records that
 * can be drawn count).
 *
 * **Gotchas**: stricter than the reference, which fails only when such a batch comes (with a
 * shuffled plan, in some epoch) and trains on the text "None" without a word; a prompt missing in
 * a record that subsampling leaves out is an error too (the file is inconsistent). A task without
 * traits (built by hand) is not checked for prompts here.
 *
 * @throws {RecordError} naming file, line and field; {@link ConfigError} for the step size.
 *
 * @example
 * for (const task of tasks) checkTask(task, { trainGroupSize: 8, queryInstructionForRetrieval: null });
 *
 * @category plan
 */
export const checkTask = (task: Task, options: TaskCheckOptions = {}): void => {
  const trainGroupSize = options.trainGroupSize ?? 8;
  const defaultInstruction = options.queryInstructionForRetrieval ?? null;
  const traits = task.traits;
  // Prompts.
  if (task.columns.prompt) {
    if (traits?.withoutPrompt != null) fail({ ...traits.withoutPrompt, field: 'prompt', message: PROMPT_MISSING_IN_COLUMN });
  } else if (defaultInstruction === null && traits !== undefined && task.store.size > 0) {
    const first = task.store.meta(0);
    fail({ file: first.file, line: first.line, field: 'prompt', message: PROMPT_MISSING_NO_DEFAULT });
  }
  // Step size: the largest group a batch of this task can have.
  const largestGroup = !task.columns.type ? Math.max(trainGroupSize, traits?.largestTrainGroupSize ?? 0) : task.type === 'only_1neg' ? 2 : trainGroupSize;
  if (traits !== undefined) checkStepSize('train_group_size', task.batchSize, largestGroup, `task ${task.name}: `);
  // Negatives.
  if (traits !== undefined && !traits.anyWithoutNegatives) return;
  const groups = new Int32Array(task.store.size);
  let leadersWithNegatives = 0;
  let largest = 0;
  for (let i = 0; i < task.store.size; i++) {
    groups[i] = leaderGroupSize(task, task.store.meta(i), trainGroupSize);
    if (groups[i]! > 1) leadersWithNegatives++;
    largest = Math.max(largest, groups[i]!);
  }
  for (let i = 0; i < task.store.size; i++) {
    const meta = task.store.meta(i);
    if (meta.negatives > 0) continue;
    const own = groups[i]! > 1;
    const others = leadersWithNegatives - (own ? 1 : 0) > 0 && task.batchSize >= 2;
    if (!own && !others) continue;
    const needed = own ? groups[i]! : largest;
    fail({
      file: meta.file,
      line: meta.line,
      field: 'neg',
      message: `is empty, but ${own ? 'a batch this record leads' : 'a batch led by another record of its task'} needs ${needed - 1} negatives per query (group size ${needed}); the reference divides by zero there`,
    });
  }
};

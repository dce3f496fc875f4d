/**
 * The reference's load step as a pure function: task files in, tasks out (subsampled, filtered,
 * small files merged, batch sizes and flags decided), with every skip and drop returned as data.
 *
 * @module
 */
import type { ReadonlyNonEmptyArray } from 'fp-ts/ReadonlyNonEmptyArray';
import { ConfigError, RecordError, type Issue } from '../core/errors.js';
import type { DatasetColumns, Example, Located, Task, TaskFile } from '../core/model.js';
import type { ReportEvent } from '../core/report.js';
import { PythonRandom } from '../random/pythonRandom.js';
import { parseSeed, type Seed } from '../random/seed.js';

/**
 * Options of {@link buildTaskList}, with the reference's names in the docs.
 *
 * @category plan
 */
export interface TaskListOptions {
  /** The run's seed. The reference calls `random.seed(seed)` before loading; subsampling draws from it. */
  readonly seed: Seed;
  /** `per_device_train_batch_size`: the per-device batch size of tasks that do not set their own. */
  readonly perDeviceTrainBatchSize: number;
  /** `max_example_num_per_dataset`: a file with more records keeps a random subset. Default: 100000000. */
  readonly maxExampleNumPerDataset?: number;
  /** `small_threshold`: files below it are merged per folder (or skipped when named directly). Default: 0. */
  readonly smallThreshold?: number;
  /** `drop_threshold`: a folder's merged small files are kept only with at least this many records. Default: 0. */
  readonly dropThreshold?: number;
}

/**
 * Tasks plus what was left out on the way.
 *
 * @category plan
 */
export interface TaskList {
  readonly tasks: ReadonlyArray<Task>;
  readonly events: ReadonlyArray<ReportEvent>;
}

const positiveInteger = (option: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(option, `must be a positive integer, got ${value}`);
  return value;
};
const nonNegativeInteger = (option: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(option, `must be a non-negative integer, got ${value}`);
  return value;
};

/** @internal */
export const validateTaskListOptions = (options: TaskListOptions): Required<TaskListOptions> => ({
  // CPython's random.seed takes |seed|.
  seed: (parseSeed(options.seed, { allowNegative: true }), options.seed),
  perDeviceTrainBatchSize: positiveInteger('per_device_train_batch_size', options.perDeviceTrainBatchSize),
  maxExampleNumPerDataset: positiveInteger('max_example_num_per_dataset', options.maxExampleNumPerDataset ?? 100_000_000),
  smallThreshold: nonNegativeInteger('small_threshold', options.smallThreshold ?? 0),
  dropThreshold: nonNegativeInteger('drop_threshold', options.dropThreshold ?? 0),
});

/** A loaded file: its records after subsampling, plus what the reference reads off the whole file. */
interface LoadedFile {
  readonly file: string;
  readonly records: ReadonlyArray<Located<Example>>;
  readonly columns: DatasetColumns;
  readonly type: string | undefined;
  readonly batchSize: number;
}

const NO_COLUMNS: DatasetColumns = {
  prompt: false,
  type: false,
  category: false,
  trainGroupSize: false,
  posScores: false,
  negScores: false,
};

const unionColumns = (a: DatasetColumns, b: DatasetColumns): DatasetColumns => ({
  prompt: a.prompt || b.prompt,
  type: a.type || b.type,
  category: a.category || b.category,
  trainGroupSize: a.trainGroupSize || b.trainGroupSize,
  posScores: a.posScores || b.posScores,
  negScores: a.negScores || b.negScores,
});

const columnsOf = (records: ReadonlyArray<Located<Example>>): DatasetColumns =>
  records.reduce<DatasetColumns>(
    (columns, { value }) =>
      unionColumns(columns, {
        prompt: value.prompt !== undefined,
        type: value.type !== undefined,
        category: value.category !== undefined,
        trainGroupSize: value.trainGroupSize !== undefined,
        posScores: value.posScores !== undefined,
        negScores: value.negScores !== undefined,
      }),
    NO_COLUMNS,
  );

const issueAt = (at: Located<Example>, field: string, message: string): Issue => ({ file: at.file, line: at.line, field, message });

/**
 * The reference asserts that a batch has one type and crashes on a missing batch size or partial
 * teacher scores; batches come from one task, so we require every task to be uniform up front.
 */
const checkUniform = (records: ReadonlyArray<Located<Example>>, what: string): void => {
  const first = records[0];
  if (first === undefined) return;
  const type = first.value.type;
  const scored = first.value.posScores !== undefined;
  for (const record of records) {
    if (record.value.type !== type) {
      throw new RecordError([
        issueAt(
          record,
          'type',
          `is ${JSON.stringify(record.value.type ?? null)} but ${first.file}:${first.line} has ${JSON.stringify(type ?? null)}; ` +
            `every record of ${what} must have the same type (the reference asserts one type per batch)`,
        ),
      ]);
    }
    if ((record.value.posScores !== undefined) !== scored) {
      throw new RecordError([
        issueAt(
          record,
          'pos_scores',
          `${scored ? 'is missing' : 'is present'} but ${first.file}:${first.line} ${scored ? 'has' : 'has no'} teacher scores; ` +
            `with knowledge distillation every record of ${what} must have scores, or none (the reference fails on partial scores)`,
        ),
      ]);
    }
  }
};

const checkCategories = (records: ReadonlyArray<Located<Example>>): void => {
  for (const record of records) {
    if (record.value.type === 'symmetric_clustering' && record.value.category === undefined) {
      throw new RecordError([
        issueAt(record, 'category', 'is missing; symmetric_clustering records use their category as the in-context example answer'),
      ]);
    }
  }
};

const loadFile = (
  file: TaskFile,
  options: Required<TaskListOptions>,
  random: PythonRandom,
  events: ReportEvent[],
): LoadedFile => {
  checkUniform(file.records, `a file (${file.file})`);
  checkCategories(file.records);
  // Columns come from the whole file: Arrow infers them before `select` subsamples.
  const columns = columnsOf(file.records);
  let records = file.records;
  if (records.length > options.maxExampleNumPerDataset) {
    const kept = random.samplePositions(records.length, options.maxExampleNumPerDataset);
    records = kept.map((i) => file.records[i]!);
    events.push({ kind: 'fileSubsampled', file: file.file, records: file.records.length, kept: kept.length });
  }
  const first = records[0]!;
  let batchSize: number;
  if (file.records.some((r) => r.value.batchSize !== undefined)) {
    if (first.value.batchSize === undefined) {
      throw new RecordError([
        issueAt(first, 'batch_size', 'is missing on the file\'s first record while other records set it; the reference reads the first record\'s batch_size'),
      ]);
    }
    batchSize = first.value.batchSize;
  } else if (first.value.type?.includes('symmetric')) {
    batchSize = Math.floor(options.perDeviceTrainBatchSize / 2);
    if (batchSize === 0) {
      throw new ConfigError(
        'per_device_train_batch_size',
        `is ${options.perDeviceTrainBatchSize}, and symmetric tasks (${file.file}) use half of it, which is 0; use at least 2`,
      );
    }
  } else {
    batchSize = options.perDeviceTrainBatchSize;
  }
  return { file: file.file, records, columns, type: first.value.type, batchSize };
};

/** The reference reads the flag from the path text: a folder's name, or a file's name before its extension. */
const noInBatchNegFlag = (entry: string, inFolder: boolean): boolean => {
  if (inFolder) return entry.endsWith('no_in_batch_neg');
  const parts = entry.split('.');
  return (parts[parts.length - 2] ?? '').endsWith('no_in_batch_neg');
};

/**
 * Builds the task list exactly as FlagEmbedding's `AbsEmbedderSameDatasetTrainDataset.__init__` does.
 *
 * **Details**, in the reference's order:
 * 1. Files are taken in `train_data` order (folders already listed in name order). A file with more
 *    than `max_example_num_per_dataset` records keeps `random.sample(range(n), max)` of them, in the
 *    sampled order (drawn from `random.seed(seed)`, also for files dropped later).
 * 2. A file named directly is a task unless it has fewer than `small_threshold` records. In a folder,
 *    such small files are concatenated (in name order) into one task after the folder's other files,
 *    with the smallest of their batch sizes, kept only with at least `drop_threshold` records.
 * 3. Batch size: a first record's `batch_size` wins; else a `type` containing "symmetric" halves
 *    `per_device_train_batch_size` (integer division); else the default.
 * 4. `no_in_batch_neg`: a folder whose path ends with it, or a file whose path before the last `.`
 *    ends with it.
 * 5. Offsets follow the reference's concatenation order; columns are the union over kept tasks.
 *
 * **Gotchas**: stricter than the reference where it would crash or mix garbage into a batch: every
 * task must have one `type` and (with knowledge distillation) scores on all records or none, and
 * `symmetric_clustering` records need a `category` ({@link RecordError}). A `no_in_batch_neg` folder
 * given with a trailing slash is not flagged, exactly as in the reference.
 *
 * @example
 * const { tasks, events } = buildTaskList(files, { seed: 42, perDeviceTrainBatchSize: 4 });
 *
 * @category plan
 */
export const buildTaskList = (files: ReadonlyArray<TaskFile>, rawOptions: TaskListOptions): TaskList => {
  const options = validateTaskListOptions(rawOptions);
  const random = PythonRandom.fromSeed(options.seed);
  const events: ReportEvent[] = [];
  const kept: { name: string; files: ReadonlyArray<string>; records: ReadonlyArray<Located<Example>>; batchSize: number; noInBatchNeg: boolean; type: string | undefined; columns: DatasetColumns }[] = [];

  const byEntry = new Map<number, TaskFile[]>();
  for (const file of files) {
    const group = byEntry.get(file.origin.entryIndex);
    if (group) group.push(file);
    else byEntry.set(file.origin.entryIndex, [file]);
  }

  for (const group of byEntry.values()) {
    const small: LoadedFile[] = [];
    const { entry, inFolder } = group[0]!.origin;
    const noInBatchNeg = noInBatchNegFlag(entry, inFolder);
    for (const taskFile of group) {
      if (taskFile.records.length === 0) {
        events.push({ kind: 'fileSkipped', file: taskFile.file, reason: 'empty' });
        continue;
      }
      const loaded = loadFile(taskFile, options, random, events);
      if (loaded.records.length >= options.smallThreshold) {
        kept.push({ ...loaded, name: loaded.file, files: [loaded.file], noInBatchNeg });
      } else if (inFolder) {
        small.push(loaded);
      } else {
        events.push({ kind: 'taskDropped', files: [loaded.file], records: loaded.records.length, reason: 'small_threshold' });
      }
    }
    if (small.length > 0) {
      const records = small.flatMap((f) => f.records);
      const files = small.map((f) => f.file);
      if (records.length >= options.dropThreshold) {
        checkUniform(records, `the merged small files of ${entry}`);
        kept.push({
          name: `${entry} (merged small files)`,
          files,
          records,
          batchSize: Math.min(...small.map((f) => f.batchSize)),
          noInBatchNeg,
          type: records[0]!.value.type,
          columns: small.map((f) => f.columns).reduce(unionColumns),
        });
      } else {
        events.push({ kind: 'taskDropped', files, records: records.length, reason: 'drop_threshold' });
      }
    }
  }

  const columns = kept.map((t) => t.columns).reduce(unionColumns, NO_COLUMNS);
  let offset = 0;
  const tasks = kept.map((t, index): Task => {
    const task: Task = {
      index,
      name: t.name,
      files: t.files,
      offset,
      batchSize: t.batchSize,
      noInBatchNeg: t.noInBatchNeg,
      type: t.type,
      columns,
      records: t.records as ReadonlyNonEmptyArray<Located<Example>>,
    };
    offset += t.records.length;
    return task;
  });
  return { tasks, events };
};

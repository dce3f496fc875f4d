/**
 * The reference's load step as a pure function: task files in, tasks out (subsampled, filtered,
 * small files merged, batch sizes and flags decided), with every skip and drop returned as data.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ConfigError, RecordError } from '../core/errors.js';
import type { RecordStore, Task, TaskFile, TaskTraits } from '../core/model.js';
import type { ReportEvent } from '../core/report.js';
import { concatStores, selectStore } from '../core/store.js';
import { NO_COLUMNS, unionColumns } from './fileSummary.js';
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
  readonly file: TaskFile;
  readonly store: RecordStore;
  readonly batchSize: number;
}

const loadFile = (file: TaskFile, options: Required<TaskListOptions>, random: PythonRandom, events: ReportEvent[]): LoadedFile => {
  let store = file.store;
  if (store.size > options.maxExampleNumPerDataset) {
    store = selectStore(store, random.samplePositions(store.size, options.maxExampleNumPerDataset));
    events.push({ kind: 'fileSubsampled', file: file.file, records: file.store.size, kept: store.size });
  }
  // The reference reads these off the (subsampled) file's first row.
  const first = store.meta(0);
  let batchSize: number;
  if (file.summary.anyBatchSize) {
    if (first.batchSize === undefined) {
      throw new RecordError([
        {
          file: file.file,
          line: first.line,
          field: 'batch_size',
          message: "is missing on the file's first record while other records set it; the reference reads the first record's batch_size",
        },
      ]);
    }
    batchSize = first.batchSize;
  } else if (file.summary.type?.includes('symmetric')) {
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
  return { file, store, batchSize };
};

/** Merged small files become one task, so they must agree on what every task must be uniform in. */
const checkMergeable = (files: ReadonlyArray<LoadedFile>, entry: string): void => {
  const [first, ...rest] = files;
  for (const other of rest) {
    const a = first!.file.summary;
    const b = other.file.summary;
    const field = a.type !== b.type ? 'type' : a.scored !== b.scored ? 'pos_scores' : undefined;
    if (field === undefined) continue;
    const what = field === 'type' ? `type ${JSON.stringify(b.type ?? null)}` : b.scored ? 'teacher scores' : 'no teacher scores';
    const theirs = field === 'type' ? `type ${JSON.stringify(a.type ?? null)}` : a.scored ? 'teacher scores' : 'no teacher scores';
    throw new RecordError([
      {
        file: other.file.file,
        line: other.store.meta(0).line,
        field,
        message: `has ${what} but ${first!.file.file} has ${theirs}; the merged small files of ${entry} form one task, and every record of a task must agree (the reference asserts one type per batch and fails on partial scores)`,
      },
    ]);
  }
};

const traitsOf = (files: ReadonlyArray<TaskFile>): TaskTraits => {
  const withoutPrompt = files.find((f) => f.summary.firstWithoutPrompt !== null);
  return {
    withoutPrompt: withoutPrompt === undefined ? null : { file: withoutPrompt.file, line: withoutPrompt.summary.firstWithoutPrompt! },
    anyWithoutNegatives: files.some((f) => f.summary.firstWithoutNegatives !== null),
    largestTrainGroupSize: Math.max(0, ...files.map((f) => f.summary.maxTrainGroupSize)),
  };
};

const hashOf = (parts: ReadonlyArray<string>): string => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/** The reference reads the flag from the path text: a folder's name, or a file's name before its extension. */
const noInBatchNegFlag = (entry: string, inFolder: boolean): boolean => {
  if (inFolder) return entry.endsWith('no_in_batch_neg');
  // A compressed file is read as the file it compresses (the reference has no .gz files).
  const parts = entry.replace(/\.gz$/, '').split('.');
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
  const kept: { name: string; files: ReadonlyArray<TaskFile>; store: RecordStore; batchSize: number; noInBatchNeg: boolean }[] = [];

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
      if (taskFile.store.size === 0) {
        events.push({ kind: 'fileSkipped', file: taskFile.file, reason: 'empty' });
        continue;
      }
      const loaded = loadFile(taskFile, options, random, events);
      if (loaded.store.size >= options.smallThreshold) {
        kept.push({ name: taskFile.file, files: [taskFile], store: loaded.store, batchSize: loaded.batchSize, noInBatchNeg });
      } else if (inFolder) {
        small.push(loaded);
      } else {
        events.push({ kind: 'taskDropped', files: [taskFile.file], records: loaded.store.size, reason: 'small_threshold' });
      }
    }
    if (small.length > 0) {
      const store = concatStores(small.map((f) => f.store));
      if (store.size >= options.dropThreshold) {
        checkMergeable(small, entry);
        kept.push({
          name: `${entry} (merged small files)`,
          files: small.map((f) => f.file),
          store,
          batchSize: Math.min(...small.map((f) => f.batchSize)),
          noInBatchNeg,
        });
      } else {
        events.push({ kind: 'taskDropped', files: small.map((f) => f.file.file), records: store.size, reason: 'drop_threshold' });
      }
    }
  }

  const columns = kept.flatMap((t) => t.files.map((f) => f.summary.columns)).reduce(unionColumns, NO_COLUMNS);
  let offset = 0;
  const tasks = kept.map((t, index): Task => {
    const task: Task = {
      index,
      name: t.name,
      files: t.files.map((f) => f.file),
      offset,
      batchSize: t.batchSize,
      noInBatchNeg: t.noInBatchNeg,
      type: t.files[0]!.summary.type,
      columns,
      store: t.store,
      fingerprint: hashOf(t.files.map((f) => f.fingerprint)),
      traits: traitsOf(t.files),
    };
    offset += t.store.size;
    return task;
  });
  return { tasks, events };
};

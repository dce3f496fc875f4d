/**
 * The task list's own checks (not the stage around it; merging, thresholds, subsampling and flags
 * are spec/stages/groupByTask.spec.ts's): option validation, and the records the reference would
 * crash on or mix into one batch, each a located RecordError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, RecordError } from '../../lib/core/errors.js';
import { taskFile as handBuiltTaskFile } from '../helpers/handBuilt.js';
import type { Example, Located, TaskFile, TaskFileOrigin } from '../../lib/core/model.js';
import { buildTaskList, validateTaskListOptions, type TaskListOptions } from '../../lib/plan/taskList.js';

const example = (i: number, extra: Partial<Example> = {}): Example => ({
  query: `query ${i}`,
  pos: [`positive ${i}`],
  neg: [`negative ${i}.0`, `negative ${i}.1`],
  ...extra,
});

/** A task file of the given records, each on its own line (line = position + 1). */
const taskFile = (file: string, origin: TaskFileOrigin, values: ReadonlyArray<Example>): TaskFile => handBuiltTaskFile(file, origin, values);

const direct = (entry: string, entryIndex = 0): TaskFileOrigin => ({ entry, entryIndex, inFolder: false });
const inFolder = (entry: string, entryIndex = 0): TaskFileOrigin => ({ entry, entryIndex, inFolder: true });

const BASE: TaskListOptions = { seed: 42, perDeviceTrainBatchSize: 4 };

/** The RecordError that `buildTaskList` must throw. */
const recordErrorOf = (files: ReadonlyArray<TaskFile>, options: TaskListOptions = BASE): RecordError => {
  let caught: unknown;
  try {
    buildTaskList(files, options);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof RecordError, `expected a RecordError, got ${String(caught)}`);
  return caught;
};

describe('validateTaskListOptions', () => {
  const bad: ReadonlyArray<readonly [string, Partial<TaskListOptions>]> = [
    ['per_device_train_batch_size', { perDeviceTrainBatchSize: 0 }],
    ['per_device_train_batch_size', { perDeviceTrainBatchSize: -2 }],
    ['per_device_train_batch_size', { perDeviceTrainBatchSize: 1.5 }],
    ['per_device_train_batch_size', { perDeviceTrainBatchSize: Number.NaN }],
    ['max_example_num_per_dataset', { maxExampleNumPerDataset: 0 }],
    ['max_example_num_per_dataset', { maxExampleNumPerDataset: 2.5 }],
    ['max_example_num_per_dataset', { maxExampleNumPerDataset: Number.POSITIVE_INFINITY }],
    ['small_threshold', { smallThreshold: -1 }],
    ['small_threshold', { smallThreshold: 0.5 }],
    ['drop_threshold', { dropThreshold: -1 }],
    ['drop_threshold', { dropThreshold: Number.NaN }],
  ];
  for (const [option, patch] of bad) {
    const value = Object.values(patch)[0];
    it(`${option} = ${String(value)} is a ConfigError naming ${option}`, () => {
      assert.throws(
        () => validateTaskListOptions({ ...BASE, ...patch }),
        (e: unknown) => e instanceof ConfigError && e.option === option && e.message.startsWith(`${option}: `),
      );
      // buildTaskList validates the same way, before looking at any file.
      assert.throws(() => buildTaskList([], { ...BASE, ...patch }), (e: unknown) => e instanceof ConfigError && e.option === option);
    });
  }

  it('defaults: max_example_num_per_dataset 100000000, thresholds 0; zero thresholds are allowed', () => {
    assert.deepEqual(validateTaskListOptions(BASE), {
      seed: 42,
      perDeviceTrainBatchSize: 4,
      maxExampleNumPerDataset: 100_000_000,
      smallThreshold: 0,
      dropThreshold: 0,
    });
    assert.doesNotThrow(() => validateTaskListOptions({ ...BASE, perDeviceTrainBatchSize: 1, maxExampleNumPerDataset: 1, smallThreshold: 0, dropThreshold: 0 }));
  });
});

describe('buildTaskList: records the reference would crash on are located RecordErrors', () => {
  it('a file whose first record has no batch_size while a later one has it', () => {
    const file = taskFile('a.jsonl', direct('a.jsonl'), [example(0), example(1), example(2, { batchSize: 2 })]);
    const error = recordErrorOf([file]);
    assert.equal(error.issues.length, 1);
    assert.equal(error.file, 'a.jsonl');
    assert.equal(error.line, 1);
    assert.equal(error.field, 'batch_size');
    assert.match(error.message, /first record/);
  });

  it('the same file with batch_size on its first record is fine, and the first record decides', () => {
    const file = taskFile('a.jsonl', direct('a.jsonl'), [example(0, { batchSize: 2 }), example(1), example(2, { batchSize: 3 })]);
    const { tasks } = buildTaskList([file], BASE);
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]!.batchSize, 2);
  });

  // These two are checked as a file is read (fileSummary, used by the index and toTaskFiles), before any task list.
  const fileErrorOf = (build: () => unknown): RecordError => {
    try {
      build();
    } catch (e) {
      if (e instanceof RecordError) return e;
      throw e;
    }
    return assert.fail('expected a RecordError');
  };

  it('teacher scores on some records of a file and not on others (knowledge distillation)', () => {
    const scored = (i: number) => example(i, { posScores: [1], negScores: [0.5, 0.25] });
    const error = fileErrorOf(() => taskFile('kd.jsonl', direct('kd.jsonl'), [scored(0), scored(1), example(2), scored(3)]));
    assert.equal(error.file, 'kd.jsonl');
    assert.equal(error.line, 3);
    assert.equal(error.field, 'pos_scores');
    assert.match(error.message, /kd\.jsonl:1/, 'names the record it differs from');
  });

  it('the other way round: a file without scores, then a scored record', () => {
    const error = fileErrorOf(() => taskFile('kd.jsonl', direct('kd.jsonl'), [example(0), example(1, { posScores: [1], negScores: [0.5, 0.25] })]));
    assert.equal(error.line, 2);
    assert.equal(error.field, 'pos_scores');
  });

  it("a folder's merged small files with different types: the first record of the other type is named", () => {
    const folder = 'dir';
    const files = [
      taskFile('dir/a.jsonl', inFolder(folder), [example(0, { type: 'normal' }), example(1, { type: 'normal' })]),
      taskFile('dir/b.jsonl', inFolder(folder), [example(2, { type: 'only_1neg' }), example(3, { type: 'only_1neg' })]),
    ];
    const error = recordErrorOf(files, { ...BASE, smallThreshold: 5 });
    assert.equal(error.issues.length, 1);
    assert.equal(error.file, 'dir/b.jsonl');
    assert.equal(error.line, 1);
    assert.equal(error.field, 'type');
    assert.match(error.message, /only_1neg/);
    assert.match(error.message, /dir\/a\.jsonl has type "normal"/, 'names the file whose type it differs from');
    assert.match(error.message, /merged small files/);
  });

  it('a typed and an untyped small file in one folder differ too', () => {
    const files = [
      taskFile('dir/a.jsonl', inFolder('dir'), [example(0), example(1)]),
      taskFile('dir/b.jsonl', inFolder('dir'), [example(2, { type: 'normal' })]),
    ];
    const error = recordErrorOf(files, { ...BASE, smallThreshold: 5 });
    assert.equal(error.file, 'dir/b.jsonl');
    assert.equal(error.field, 'type');
  });

  it('files of different types are fine when they are not merged (each is its own task)', () => {
    const files = [
      taskFile('dir/a.jsonl', inFolder('dir'), [example(0, { type: 'normal' }), example(1, { type: 'normal' })]),
      taskFile('dir/b.jsonl', inFolder('dir'), [example(2, { type: 'only_1neg' }), example(3, { type: 'only_1neg' })]),
    ];
    const { tasks } = buildTaskList(files, BASE);
    assert.deepEqual(
      tasks.map((t) => t.type),
      ['normal', 'only_1neg'],
    );
  });
});

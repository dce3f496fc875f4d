/**
 * groupByTask and its pure core buildTaskList: small files merged per folder (or dropped), files
 * above max_example_num_per_dataset subsampled with CPython's `random.sample` drawn per file in
 * load order, batch sizes, the no_in_batch_neg flag read from the path text, cumulative offsets and
 * corpus-wide columns.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError, RecordError } from '../../lib/core/errors.js';
import type { DatasetColumns, Example, Task, TaskFile, TaskFileOrigin } from '../../lib/core/model.js';
import { toTaskFiles } from '../../lib/stages/toTaskFiles.js';
import { collectReport, type ReportEvent } from '../../lib/core/report.js';
import { buildTaskList, type TaskListOptions } from '../../lib/plan/taskList.js';
import { PythonRandom } from '../../lib/random/pythonRandom.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';
import { groupByTask } from '../../lib/stages/groupByTask.js';
import { runnable } from '../arbitraries/batches.js';
import { corpus, sourced } from '../arbitraries/corpus.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { allRecords, example, examples, origin, sourcedOf, taskFile } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Build = typeof buildTaskList;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** What a test compares of a task: its name, files, records as file#record, batch size. */
const shape = (t: Task) => ({
  name: t.name,
  files: [...t.files],
  records: range(t.store.size).map((i) => `${t.store.meta(i).file}#${t.store.meta(i).record}`),
  batchSize: t.batchSize,
});

const runStage = async (records: ReadonlyArray<SourcedExample>, options: TaskListOptions) => {
  const report = collectReport();
  const tasks = await toArray(from(records).pipe(toTaskFiles(), groupByTask({ ...options, report })));
  return { tasks, events: report.events };
};

// ---------------------------------------------------------------------------------------------
// small_threshold / drop_threshold

/** One folder of 1–5 files (some empty, some with their own batch_size), then a directly named file. */
const folderCase = fc.record({
  folder: fc.array(fc.record({ size: fc.integer({ min: 0, max: 8 }), batchSize: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }) }), {
    minLength: 1,
    maxLength: 5,
  }),
  direct: fc.integer({ min: 0, max: 8 }),
  smallThreshold: fc.integer({ min: 0, max: 8 }),
  dropThreshold: fc.integer({ min: 0, max: 16 }),
});
type FolderCase = typeof folderCase extends fc.Arbitrary<infer C> ? C : never;

const PER_DEVICE = 4;

const filesOfFolderCase = (c: FolderCase): TaskFile[] => [
  ...c.folder.map((f, i) =>
    taskFile(
      `dir/f${i}.jsonl`,
      origin('dir', 0, true),
      examples(f.size, f.batchSize === undefined ? {} : { batchSize: f.batchSize }),
    ),
  ),
  taskFile('x.jsonl', origin('x.jsonl', 1, false), examples(c.direct)),
];

/** The documented rules, written out simply. */
const expectedFolderCase = (c: FolderCase) => {
  const tasks: ReturnType<typeof shape>[] = [];
  const events: ReportEvent[] = [];
  const small: { file: string; size: number; batchSize: number }[] = [];
  c.folder.forEach((f, i) => {
    const file = `dir/f${i}.jsonl`;
    const batchSize = f.batchSize ?? PER_DEVICE;
    if (f.size === 0) events.push({ kind: 'fileSkipped', file, reason: 'empty' });
    else if (f.size >= c.smallThreshold) tasks.push({ name: file, files: [file], records: range(f.size).map((r) => `${file}#${r}`), batchSize });
    else small.push({ file, size: f.size, batchSize });
  });
  if (small.length > 0) {
    const total = small.reduce((n, f) => n + f.size, 0);
    const files = small.map((f) => f.file);
    if (total >= c.dropThreshold) {
      tasks.push({
        name: 'dir (merged small files)',
        files,
        records: small.flatMap((f) => range(f.size).map((r) => `${f.file}#${r}`)),
        batchSize: Math.min(...small.map((f) => f.batchSize)),
      });
    } else {
      events.push({ kind: 'taskDropped', files, records: total, reason: 'drop_threshold' });
    }
  }
  if (c.direct === 0) events.push({ kind: 'fileSkipped', file: 'x.jsonl', reason: 'empty' });
  else if (c.direct >= c.smallThreshold) tasks.push({ name: 'x.jsonl', files: ['x.jsonl'], records: range(c.direct).map((r) => `x.jsonl#${r}`), batchSize: PER_DEVICE });
  else events.push({ kind: 'taskDropped', files: ['x.jsonl'], records: c.direct, reason: 'small_threshold' });
  return { tasks, events };
};

const thresholdsFollowTheModel = (build: Build) =>
  fc.property(folderCase, (c) => {
    const { tasks, events } = build(filesOfFolderCase(c), {
      seed: 0,
      perDeviceTrainBatchSize: PER_DEVICE,
      smallThreshold: c.smallThreshold,
      dropThreshold: c.dropThreshold,
    });
    return isDeepStrictEqual({ tasks: tasks.map(shape), events }, expectedFolderCase(c));
  });

// ---------------------------------------------------------------------------------------------
// Subsampling

/** Files named directly, some above max_example_num_per_dataset, some of them below small_threshold after subsampling. */
const subsampleCase = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
  max: fc.integer({ min: 1, max: 25 }),
  smallThreshold: fc.integer({ min: 0, max: 25 }),
  seed: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String)),
});
type SubsampleCase = typeof subsampleCase extends fc.Arbitrary<infer C> ? C : never;

const filesOfSubsampleCase = (c: SubsampleCase): TaskFile[] =>
  c.sizes.map((n, i) => taskFile(`f${i}.jsonl`, origin(`f${i}.jsonl`, i, false), examples(n)));

/** One CPython stream from `random.seed(seed)`; each file above the maximum draws `sample(range(n), max)` in load order. */
const subsamplingFollowsTheModel = (build: Build) =>
  fc.property(subsampleCase, (c) => {
    const { tasks, events } = build(filesOfSubsampleCase(c), {
      seed: c.seed,
      perDeviceTrainBatchSize: 2,
      maxExampleNumPerDataset: c.max,
      smallThreshold: c.smallThreshold,
    });
    const random = PythonRandom.fromSeed(c.seed);
    const expectedTasks: ReturnType<typeof shape>[] = [];
    const expectedEvents: ReportEvent[] = [];
    c.sizes.forEach((n, i) => {
      const file = `f${i}.jsonl`;
      const kept = n > c.max ? random.samplePositions(n, c.max) : range(n);
      if (n > c.max) expectedEvents.push({ kind: 'fileSubsampled', file, records: n, kept: c.max });
      if (kept.length >= c.smallThreshold) expectedTasks.push({ name: file, files: [file], records: kept.map((r) => `${file}#${r}`), batchSize: 2 });
      else expectedEvents.push({ kind: 'taskDropped', files: [file], records: kept.length, reason: 'small_threshold' });
    });
    return isDeepStrictEqual(tasks.map(shape), expectedTasks) && isDeepStrictEqual(events, expectedEvents);
  });

// ---------------------------------------------------------------------------------------------
// no_in_batch_neg

const FLAG = 'no_in_batch_neg';
const segment = fc.constantFrom('data', 'a.b', 'v1.2', `x_${FLAG}`, FLAG, `${FLAG}.d`, 'tmp');
const directEntry = fc
  .tuple(fc.array(segment, { maxLength: 3 }), fc.constantFrom('task', `task_${FLAG}`, FLAG, `x.${FLAG}`, `${FLAG}.v2`, `a.${FLAG}.b`), fc.constantFrom('.jsonl', '.json'))
  .map(([dirs, name, ext]) => [...dirs, name].join('/') + ext);
const folderEntry = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([dirs, slash]) => dirs.join('/') + (slash ? '/' : ''));

const flagOf = (build: Build, entry: string, inFolder: boolean, fileName = 'a.jsonl'): boolean => {
  const file = inFolder ? `${entry.replace(/\/$/, '')}/${fileName}` : entry;
  return build([taskFile(file, origin(entry, 0, inFolder), examples(2))], { seed: 0, perDeviceTrainBatchSize: 2 }).tasks[0]!.noInBatchNeg;
};

/** Model: a directly named file is flagged iff its path before the last '.' ends with the suffix. */
const directFlagFollowsTheModel = (build: Build) =>
  fc.property(directEntry, (entry) => flagOf(build, entry, false) === entry.slice(0, entry.lastIndexOf('.')).endsWith(FLAG));

/** Model: a folder is flagged iff the entry text ends with the suffix (so not with a trailing slash); its files' names do not matter. */
const folderFlagFollowsTheModel = (build: Build) =>
  fc.property(folderEntry, fc.constantFrom('a.jsonl', `a_${FLAG}.jsonl`), (entry, fileName) => flagOf(build, entry, true, fileName) === entry.endsWith(FLAG));

// ---------------------------------------------------------------------------------------------
// Random corpora through the stage

const corpusCase = fc.record({
  corpus: corpus({ kd: true }),
  seed: fc.nat(),
  perDeviceTrainBatchSize: fc.integer({ min: 2, max: 6 }),
  smallThreshold: fc.constantFrom(0, 3, 8),
  dropThreshold: fc.constantFrom(0, 5, 12),
  maxExampleNumPerDataset: fc.constantFrom(100_000_000, 5),
});
type CorpusCase = typeof corpusCase extends fc.Arbitrary<infer C> ? C : never;

/** Runs the stage; a corpus with no task left is not what these properties are about. */
const tasksOfCase = async (c: CorpusCase) => {
  try {
    return await runStage(sourced(c.corpus), c);
  } catch (e) {
    if (e instanceof ConfigError && e.option === 'train_data') fc.pre(false);
    throw e;
  }
};

const columnsOfRecords = (records: ReadonlyArray<Example>): DatasetColumns => ({
  prompt: records.some((r) => r.prompt !== undefined),
  type: records.some((r) => r.type !== undefined),
  category: records.some((r) => r.category !== undefined),
  trainGroupSize: records.some((r) => r.trainGroupSize !== undefined),
  posScores: records.some((r) => r.posScores !== undefined),
  negScores: records.some((r) => r.negScores !== undefined),
});

describe(`groupByTask / buildTaskList (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: runnable,
    input: (r) => toArray(from(sourced(r.corpus)).pipe(toTaskFiles())),
    op: (r) => groupByTask(r.options),
    reads: { all: true }, // the reference's column rules need the whole corpus
  });

  describe(`small_threshold and drop_threshold (FC_SEED=${FC_SEED})`, () => {
    it('files below small_threshold in a folder become one task after the folder\'s other files: files in order, records concatenated, the smallest batch size, named "<folder> (merged small files)"', () => {
      const files = [
        taskFile('dir/a.jsonl', origin('dir', 0, true), examples(2, { batchSize: 5 })),
        taskFile('dir/b.jsonl', origin('dir', 0, true), examples(6)),
        taskFile('dir/c.jsonl', origin('dir', 0, true), examples(3, { batchSize: 3 })),
        taskFile('dir/d.jsonl', origin('dir', 0, true), examples(7)),
      ];
      const { tasks, events } = buildTaskList(files, { seed: 0, perDeviceTrainBatchSize: 8, smallThreshold: 4 });
      assert.deepEqual(tasks.map(shape), [
        { name: 'dir/b.jsonl', files: ['dir/b.jsonl'], records: range(6).map((i) => `dir/b.jsonl#${i}`), batchSize: 8 },
        { name: 'dir/d.jsonl', files: ['dir/d.jsonl'], records: range(7).map((i) => `dir/d.jsonl#${i}`), batchSize: 8 },
        {
          name: 'dir (merged small files)',
          files: ['dir/a.jsonl', 'dir/c.jsonl'],
          records: ['dir/a.jsonl#0', 'dir/a.jsonl#1', 'dir/c.jsonl#0', 'dir/c.jsonl#1', 'dir/c.jsonl#2'],
          batchSize: 3,
        },
      ]);
      assert.deepEqual(events, []);
    });

    it('merged small files below drop_threshold are dropped and reported as taskDropped', async () => {
      const files = [
        taskFile('dir/a.jsonl', origin('dir', 0, true), examples(2)),
        taskFile('dir/b.jsonl', origin('dir', 0, true), examples(6)),
        taskFile('dir/c.jsonl', origin('dir', 0, true), examples(3)),
      ];
      const { tasks, events } = await runStage(files.flatMap(sourcedOf), { seed: 0, perDeviceTrainBatchSize: 2, smallThreshold: 4, dropThreshold: 6 });
      assert.deepEqual(tasks.map((t) => t.name), ['dir/b.jsonl']);
      assert.deepEqual(events, [{ kind: 'taskDropped', files: ['dir/a.jsonl', 'dir/c.jsonl'], records: 5, reason: 'drop_threshold' }]);
    });

    it('a small file named directly is skipped (taskDropped, small_threshold), not merged with anything', () => {
      const files = [
        taskFile('a.jsonl', origin('a.jsonl', 0, false), examples(2)),
        taskFile('b.jsonl', origin('b.jsonl', 1, false), examples(2)),
        taskFile('c.jsonl', origin('c.jsonl', 2, false), examples(5)),
      ];
      const { tasks, events } = buildTaskList(files, { seed: 0, perDeviceTrainBatchSize: 2, smallThreshold: 3 });
      assert.deepEqual(tasks.map((t) => t.name), ['c.jsonl']);
      assert.deepEqual(events, [
        { kind: 'taskDropped', files: ['a.jsonl'], records: 2, reason: 'small_threshold' },
        { kind: 'taskDropped', files: ['b.jsonl'], records: 2, reason: 'small_threshold' },
      ]);
    });

    it('for random folders: kept files in order, then the merged small files if they reach drop_threshold; every skip and drop reported', () => {
      fc.assert(thresholdsFollowTheModel(buildTaskList), fcParams({ numRuns: 300 }));
    });
  });

  describe(`subsampling (max_example_num_per_dataset) (FC_SEED=${FC_SEED})`, () => {
    it('CPython vector: seed 0, a 30-record file, max 7 keeps records [27, 12, 24, 13, 1, 8, 16] in that order', async () => {
      const file = taskFile('big.jsonl', origin('big.jsonl', 0, false), examples(30));
      const report = collectReport();
      const [t] = await toArray(from(sourcedOf(file)).pipe(toTaskFiles(), groupByTask({ seed: 0, perDeviceTrainBatchSize: 2, maxExampleNumPerDataset: 7, report })));
      const kept = await allRecords(t!);
      assert.deepEqual(
        kept.map((r) => r.record),
        [27, 12, 24, 13, 1, 8, 16],
      );
      assert.deepEqual(
        kept.map((r) => r.value.query),
        [27, 12, 24, 13, 1, 8, 16].map((i) => `query ${i}`),
      );
      assert.deepEqual(report.events, [{ kind: 'fileSubsampled', file: 'big.jsonl', records: 30, kept: 7 }]);
    });

    it('draws happen per file in load order, also for files dropped afterwards', () => {
      const random = PythonRandom.fromSeed(5);
      const draws = [random.samplePositions(10, 5), random.samplePositions(12, 5), random.samplePositions(8, 5)];
      const files = [
        taskFile('dropped.jsonl', origin('dropped.jsonl', 0, false), examples(10)),
        taskFile('dir/b.jsonl', origin('dir', 1, true), examples(12)),
        taskFile('dir/c.jsonl', origin('dir', 1, true), examples(8)),
      ];
      const { tasks, events } = buildTaskList(files, { seed: 5, perDeviceTrainBatchSize: 2, maxExampleNumPerDataset: 5, smallThreshold: 6 });
      assert.deepEqual(tasks.map(shape), [
        {
          name: 'dir (merged small files)',
          files: ['dir/b.jsonl', 'dir/c.jsonl'],
          records: [...draws[1]!.map((i) => `dir/b.jsonl#${i}`), ...draws[2]!.map((i) => `dir/c.jsonl#${i}`)],
          batchSize: 2,
        },
      ]);
      assert.deepEqual(events, [
        { kind: 'fileSubsampled', file: 'dropped.jsonl', records: 10, kept: 5 },
        { kind: 'taskDropped', files: ['dropped.jsonl'], records: 5, reason: 'small_threshold' },
        { kind: 'fileSubsampled', file: 'dir/b.jsonl', records: 12, kept: 5 },
        { kind: 'fileSubsampled', file: 'dir/c.jsonl', records: 8, kept: 5 },
      ]);
    });

    it('for random files: each file above the maximum keeps PythonRandom.fromSeed(seed).samplePositions(n, max), one stream in load order', () => {
      fc.assert(subsamplingFollowsTheModel(buildTaskList), fcParams({ numRuns: 200 }));
    });
  });

  describe(`batch size (FC_SEED=${FC_SEED})`, () => {
    it("the first record's batch_size wins, also over a symmetric type", () => {
      const files = [
        taskFile('a.jsonl', origin('a.jsonl', 0, false), [5, 3, 7].map((batchSize, i) => example(i, { batchSize }))),
        taskFile('b.jsonl', origin('b.jsonl', 1, false), [6, 1].map((batchSize, i) => example(i, { batchSize, type: 'symmetric_sts', prompt: 'p' }))),
      ];
      const { tasks } = buildTaskList(files, { seed: 0, perDeviceTrainBatchSize: 8 });
      assert.deepEqual(tasks.map((t) => t.batchSize), [5, 6]);
    });

    it('a type containing "symmetric" halves per_device_train_batch_size (integer division); other types keep it', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 41 }),
          fc.constantFrom('symmetric_sts', 'symmetric_class', 'symmetric_clustering', 'my_symmetric_task'),
          fc.constantFrom('normal', 'only_1neg', 'retrieval'),
          (perDevice, symmetric, other) => {
            const files = [
              taskFile('s.jsonl', origin('s.jsonl', 0, false), examples(2, { type: symmetric, category: 'c' })),
              taskFile('o.jsonl', origin('o.jsonl', 1, false), examples(2, { type: other })),
              taskFile('u.jsonl', origin('u.jsonl', 2, false), examples(2)),
            ];
            const { tasks } = buildTaskList(files, { seed: 0, perDeviceTrainBatchSize: perDevice });
            return isDeepStrictEqual(
              tasks.map((t) => t.batchSize),
              [(perDevice - (perDevice % 2)) / 2, perDevice, perDevice],
            );
          },
        ),
        fcParams({ numRuns: 100 }),
      );
    });

    it('halving per_device_train_batch_size 1 to 0 is a ConfigError (when the symmetric file is read)', async () => {
      const file = taskFile('s.jsonl', origin('s.jsonl', 0, false), examples(4, { type: 'symmetric_sts' }));
      const isHalvingError = (e: unknown) => e instanceof ConfigError && e.option === 'per_device_train_batch_size';
      assert.throws(() => buildTaskList([file], { seed: 0, perDeviceTrainBatchSize: 1 }), isHalvingError);
      const stage = groupByTask({ seed: 0, perDeviceTrainBatchSize: 1 });
      await assert.rejects(toArray(from(sourcedOf(file)).pipe(toTaskFiles(), stage)), isHalvingError);
      // With its own batch_size the file never halves.
      const own = taskFile('s.jsonl', origin('s.jsonl', 0, false), examples(4, { type: 'symmetric_sts', batchSize: 2 }));
      assert.equal(buildTaskList([own], { seed: 0, perDeviceTrainBatchSize: 1 }).tasks[0]!.batchSize, 2);
    });

    it('a batch_size on later records but not on the first is a RecordError at the first record', () => {
      const file = taskFile('a.jsonl', origin('a.jsonl', 0, false), [example(0), example(1, { batchSize: 3 })]);
      assert.throws(
        () => buildTaskList([file], { seed: 0, perDeviceTrainBatchSize: 2 }),
        (e: unknown) => e instanceof RecordError && e.file === 'a.jsonl' && e.line === 1 && e.field === 'batch_size',
      );
    });
  });

  describe(`no_in_batch_neg (FC_SEED=${FC_SEED})`, () => {
    it('examples: a folder ending with it; a file whose path before the last "." ends with it; not a folder with a trailing slash', () => {
      assert.equal(flagOf(buildTaskList, 'data/msmarco_no_in_batch_neg', true), true);
      assert.equal(flagOf(buildTaskList, 'data/msmarco_no_in_batch_neg/', true), false, "the reference's gotcha");
      assert.equal(flagOf(buildTaskList, 'data/msmarco', true, 'a_no_in_batch_neg.jsonl'), false, 'the folder decides, not the file name');
      assert.equal(flagOf(buildTaskList, 'data/msmarco_no_in_batch_neg.jsonl', false), true);
      assert.equal(flagOf(buildTaskList, 'data.v1/msmarco_no_in_batch_neg.json', false), true);
      assert.equal(flagOf(buildTaskList, 'data/msmarco_no_in_batch_neg.v2.jsonl', false), false);
      assert.equal(flagOf(buildTaskList, 'data_no_in_batch_neg/msmarco.jsonl', false), false);
      assert.equal(flagOf(buildTaskList, 'data/msmarco.jsonl', false), false);
    });

    it('a directly named file is flagged iff its path before the last "." ends with no_in_batch_neg', () => {
      fc.assert(directFlagFollowsTheModel(buildTaskList), fcParams({ numRuns: 200 }));
    });

    it('a folder is flagged iff the entry ends with no_in_batch_neg (a trailing slash unflags it), whatever its files are called', () => {
      fc.assert(folderFlagFollowsTheModel(buildTaskList), fcParams({ numRuns: 200 }));
    });

    it('the merged small files of a flagged folder are flagged too', () => {
      const files = [taskFile('d_no_in_batch_neg/a.jsonl', origin('d_no_in_batch_neg', 0, true), examples(1))];
      const { tasks } = buildTaskList(files, { seed: 0, perDeviceTrainBatchSize: 2, smallThreshold: 2 });
      assert.deepEqual(tasks.map((t) => [t.name, t.noInBatchNeg]), [['d_no_in_batch_neg (merged small files)', true]]);
    });
  });

  describe(`offsets, columns, load order (FC_SEED=${FC_SEED})`, () => {
    it('indices count tasks in order and offsets are cumulative record counts in task order', async () => {
      await fc.assert(
        fc.asyncProperty(corpusCase, async (c) => {
          const { tasks } = await tasksOfCase(c);
          let offset = 0;
          return tasks.every((t, i) => {
            const ok = t.index === i && t.offset === offset;
            offset += t.store.size;
            return ok;
          });
        }),
        fcParams({ numRuns: 60 }),
      );
    });

    it("every task's columns are the union over the kept tasks' files (all their records, before subsampling)", async () => {
      await fc.assert(
        fc.asyncProperty(corpusCase, async (c) => {
          const records = sourced(c.corpus);
          const { tasks } = await tasksOfCase(c);
          const keptFiles = new Set(tasks.flatMap((t) => t.files));
          const expected = columnsOfRecords(records.filter((r) => keptFiles.has(r.file)).map((r) => r.value));
          return tasks.every((t) => isDeepStrictEqual(t.columns, expected));
        }),
        fcParams({ numRuns: 60 }),
      );
    });

    it('columns: a column seen only on a record removed by subsampling counts; a dropped file does not', async () => {
      const a = taskFile('a.jsonl', origin('a.jsonl', 0, false), [example(0), example(1), example(2, { prompt: 'only here' })]);
      const b = taskFile('b.jsonl', origin('b.jsonl', 1, false), [example(3, { trainGroupSize: 4 })]);
      const { tasks } = buildTaskList([a, b], { seed: 7, perDeviceTrainBatchSize: 2, maxExampleNumPerDataset: 2, smallThreshold: 2 });
      assert.deepEqual(tasks.map((t) => t.name), ['a.jsonl']);
      // Seed 7 keeps records 1 and 0 of a.jsonl (random.sample(range(3), 2)): the prompt's record is gone.
      const kept = await allRecords(tasks[0]!);
      assert.deepEqual(kept.map((r) => r.record), [1, 0]);
      assert.ok(kept.every((r) => r.value.prompt === undefined));
      assert.equal(tasks[0]!.columns.prompt, true, 'Arrow infers the column before subsampling');
      assert.equal(tasks[0]!.columns.trainGroupSize, false, 'the dropped b.jsonl does not add its column');
      const both = buildTaskList([a, b], { seed: 0, perDeviceTrainBatchSize: 2 });
      assert.deepEqual(both.tasks.map((t) => [t.columns.prompt, t.columns.trainGroupSize]), [[true, true], [true, true]]);
    });

    it('a file named twice in train_data gives two tasks with the same records', async () => {
      const values = examples(3);
      const records = [
        ...sourcedOf(taskFile('a.jsonl', origin('a.jsonl', 0, false), values)),
        ...sourcedOf(taskFile('a.jsonl', origin('a.jsonl', 1, false), values)),
      ];
      const { tasks } = await runStage(records, { seed: 0, perDeviceTrainBatchSize: 2 });
      assert.deepEqual(tasks.map(shape), [0, 1].map(() => ({ name: 'a.jsonl', files: ['a.jsonl'], records: range(3).map((i) => `a.jsonl#${i}`), batchSize: 2 })));
      assert.deepEqual(tasks.map((t) => t.offset), [0, 3]);
    });

    it('the stage equals buildTaskList on the records grouped by file and entry in load order, and reports its events', async () => {
      await fc.assert(
        fc.asyncProperty(corpusCase, async (c) => {
          const records = sourced(c.corpus);
          // Model grouping: consecutive records of the same (entry, file) form one task file.
          const groups: { file: string; origin: TaskFileOrigin; values: Example[] }[] = [];
          for (const { origin: from_, ...r } of records) {
            const last = groups[groups.length - 1];
            if (last && last.file === r.file && last.origin.entryIndex === from_.entryIndex) last.values.push(r.value);
            else groups.push({ file: r.file, origin: from_, values: [r.value] });
          }
          const files = groups.map((g) => taskFile(g.file, g.origin, g.values));
          const expected = buildTaskList(files, c);
          fc.pre(expected.tasks.length > 0);
          const { tasks, events } = await runStage(records, c);
          return isDeepStrictEqual(tasks.map(shape), expected.tasks.map(shape)) && isDeepStrictEqual(events, expected.events);
        }),
        fcParams({ numRuns: 40 }),
      );
    });

    it('records of one file arriving interleaved with another file are still grouped per file, in first-seen order', async () => {
      const a = sourcedOf(taskFile('dir/a.jsonl', origin('dir', 0, true), examples(3)));
      const b = sourcedOf(taskFile('dir/b.jsonl', origin('dir', 0, true), examples(2)));
      const { tasks } = await runStage([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!], { seed: 0, perDeviceTrainBatchSize: 2 });
      assert.deepEqual(tasks.map((t) => [t.name, range(t.store.size).map((i) => t.store.meta(i).record)]), [
        ['dir/a.jsonl', [0, 1, 2]],
        ['dir/b.jsonl', [0, 1]],
      ]);
    });
  });

  describe(`errors (FC_SEED=${FC_SEED})`, () => {
    it('bad options are a ConfigError at construction', () => {
      const bad: Array<[Partial<TaskListOptions>, string]> = [
        [{ perDeviceTrainBatchSize: 0 }, 'per_device_train_batch_size'],
        [{ perDeviceTrainBatchSize: 1.5 }, 'per_device_train_batch_size'],
        [{ maxExampleNumPerDataset: 0 }, 'max_example_num_per_dataset'],
        [{ smallThreshold: -1 }, 'small_threshold'],
        [{ dropThreshold: 0.5 }, 'drop_threshold'],
      ];
      for (const [options, option] of bad) {
        assert.throws(
          () => groupByTask({ seed: 0, perDeviceTrainBatchSize: 2, ...options }),
          (e: unknown) => e instanceof ConfigError && e.option === option,
          JSON.stringify(options),
        );
      }
    });

    it('a malformed seed is a ConfigError at construction, before anything is read (STYLE §8.3)', () => {
      for (const seed of [1.5, '4e2', 2 ** 60]) {
        assert.throws(() => groupByTask({ seed, perDeviceTrainBatchSize: 2 }), (e: unknown) => e instanceof ConfigError && e.option === 'seed', String(seed));
      }
    });

    it('a malformed seed is a ConfigError when iterated at the latest (buildTaskList checks it)', async () => {
      const file = taskFile('a.jsonl', origin('a.jsonl', 0, false), examples(2));
      for (const seed of [1.5, '4e2', 2 ** 60]) {
        assert.throws(() => buildTaskList([file], { seed, perDeviceTrainBatchSize: 2 }), (e: unknown) => e instanceof ConfigError && e.option === 'seed');
        await assert.rejects(
          async () => toArray(from(sourcedOf(file)).pipe(toTaskFiles(), groupByTask({ seed, perDeviceTrainBatchSize: 2 }))),
          (e: unknown) => e instanceof ConfigError && e.option === 'seed',
          String(seed),
        );
      }
    });

    it('no task left is a ConfigError (train_data) when iterated', async () => {
      const file = taskFile('a.jsonl', origin('a.jsonl', 0, false), examples(2));
      const stage = groupByTask({ seed: 0, perDeviceTrainBatchSize: 2, smallThreshold: 3 });
      await assert.rejects(toArray(from(sourcedOf(file)).pipe(toTaskFiles(), stage)), (e: unknown) => e instanceof ConfigError && e.option === 'train_data');
      await assert.rejects(toArray(from<SourcedExample>([]).pipe(toTaskFiles(), stage)), (e: unknown) => e instanceof ConfigError && e.option === 'train_data');
    });

    it('a task must be uniform: one type, scores on all records or none; clustering records need a category', () => {
      const cases: Array<[Example[], string]> = [
        [[example(0, { type: 'normal' }), example(1, { type: 'only_1neg' })], 'type'],
        [[example(0, { posScores: [1], negScores: [1, 2, 3] }), example(1)], 'pos_scores'],
        [[example(0, { type: 'symmetric_clustering', category: 'c' }), example(1, { type: 'symmetric_clustering' })], 'category'],
      ];
      for (const [values, field] of cases) {
        assert.throws(
          () => buildTaskList([taskFile('a.jsonl', origin('a.jsonl', 0, false), values)], { seed: 0, perDeviceTrainBatchSize: 2 }),
          (e: unknown) => e instanceof RecordError && e.field === field && e.line === 2,
          field,
        );
      }
    });
  });

  it('meta: the properties catch a merged task placed first, a max batch size, a fresh random stream per file, and a flag read after trimming the slash', () => {
    const mapTasks =
      (f: (tasks: ReadonlyArray<Task>) => ReadonlyArray<Task>): Build =>
      (files, options) => {
        const list = buildTaskList(files, options);
        return { ...list, tasks: f(list.tasks) };
      };
    const mergedFirst = mapTasks((tasks) => [...tasks].sort((a, b) => Number(b.name.endsWith('(merged small files)')) - Number(a.name.endsWith('(merged small files)'))));
    const maxBatch = mapTasks((tasks) => tasks.map((t) => (t.files.length > 1 ? { ...t, batchSize: t.batchSize + 1 } : t)));
    const freshStreamPerFile: Build = (files, options) => {
      const lists = files.map((f) => buildTaskList([f], options));
      return { tasks: lists.flatMap((l) => l.tasks), events: lists.flatMap((l) => l.events) };
    };
    const trimmed: Build = (files, options) => buildTaskList(files.map((f) => ({ ...f, origin: { ...f.origin, entry: f.origin.entry.replace(/\/$/, '') } })), options);
    const opts = { seed: FC_SEED, numRuns: 300 };
    assert.equal(fc.check(thresholdsFollowTheModel(mergedFirst), opts).failed, true);
    assert.equal(fc.check(thresholdsFollowTheModel(maxBatch), opts).failed, true);
    assert.equal(fc.check(subsamplingFollowsTheModel(freshStreamPerFile), opts).failed, true);
    assert.equal(fc.check(folderFlagFollowsTheModel(trimmed), opts).failed, true);
  });
});

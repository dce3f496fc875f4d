/**
 * Stage inputs built by hand (tasks, task files, local batches), for the example-based specs of
 * single stages: small enough to reason about, with every field a test may want to pin.
 */
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { RecordError } from '../../lib/core/errors.js';
import type { DatasetColumns, Example, GlobalBatch, LocalBatch, LocalSlice, Located, ResumeState, Task, TaskFile, TaskFileOrigin } from '../../lib/core/model.js';
import { memoryStore } from '../../lib/core/store.js';
import { NO_COLUMNS, fileSummary } from '../../lib/plan/fileSummary.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';

/** A task file (or task) with its records at hand, for assertions. */
export type WithRecords<A> = A & { readonly records: ReadonlyArray<Located<Example>> };

/** Every record of a store-backed task or file, in order. */
export const allRecords = (owner: { readonly store: { readonly size: number; read(ps: ReadonlyArray<number>): Promise<ReadonlyArray<Located<Example>>> } }) =>
  owner.store.read(Array.from({ length: owner.store.size }, (_, i) => i));

/** A resume state for hand-built batches (fingerprints empty, as stages get them by default). */
export const resumeAt = (globalStep: number, epoch = 0, step = globalStep): ResumeState => ({
  version: 2,
  globalStep,
  epoch,
  step,
  fingerprint: { data: '', config: '', tokenizer: '' },
  plan: { worldSize: 1, perDeviceTrainBatchSize: null, globalBatchSizes: [] },
});

/** No optional column anywhere; override the ones a test needs. */
export const columns = (present: Partial<DatasetColumns> = {}): DatasetColumns => ({ ...NO_COLUMNS, ...present });

/** A valid record: `query i`, one positive `pos i`, `negatives` negatives `neg i.j`, plus `extra`. */
export const example = (i: number, extra: Partial<Example> = {}, negatives = 3): Example => ({
  query: `query ${i}`,
  pos: [`pos ${i}`],
  neg: Array.from({ length: negatives }, (_, j) => `neg ${i}.${j}`),
  ...extra,
});

/** `value` as the `record`-th record of `file` (line = record + 1). */
export const located = (file: string, record: number, value: Example): Located<Example> => ({ file, line: record + 1, record, value });

/** How `train_data` named a file. */
export const origin = (entry: string, entryIndex: number, inFolder: boolean): TaskFileOrigin => ({ entry, entryIndex, inFolder });

/** A task file of the given records (located in order), checked as `toTaskFiles` checks files. */
export const taskFile = (file: string, from: TaskFileOrigin, values: ReadonlyArray<Example>): WithRecords<TaskFile> => {
  const records = values.map((value, i) => located(file, i, value));
  const summary = fileSummary();
  for (const r of records) {
    const issue = summary.add(r);
    if (issue !== undefined) throw new RecordError([issue]);
  }
  return { file, origin: from, summary: summary.summary(), store: memoryStore(records), fingerprint: `hand:${file}`, records };
};

/** A task file's records as `fromTaskFiles` would yield them. */
export const sourcedOf = (file: WithRecords<TaskFile>): SourcedExample[] => file.records.map((r) => ({ ...r, origin: file.origin }));

/** `n` records `example(0..n-1)` with `extra` each. */
export const examples = (n: number, extra: Partial<Example> = {}, negatives = 3): Example[] =>
  Array.from({ length: n }, (_, i) => example(i, extra, negatives));

export interface HandTask {
  readonly name: string;
  readonly records: ReadonlyArray<Example>;
  readonly batchSize: number;
  readonly index?: number;
  readonly offset?: number;
  readonly noInBatchNeg?: boolean;
  readonly columns?: DatasetColumns;
}

/** A task as `groupByTask` would yield it (type from the first record). */
export const task = (t: HandTask): WithRecords<Task> => {
  const records = t.records.map((value, i) => located(t.name, i, value));
  return {
  index: t.index ?? 0,
  name: t.name,
  files: [t.name],
  offset: t.offset ?? 0,
  batchSize: t.batchSize,
  noInBatchNeg: t.noInBatchNeg ?? false,
  type: t.records[0]?.type,
  columns: t.columns ?? columns({ type: t.records.some((r) => r.type !== undefined) }),
  store: memoryStore(records),
  fingerprint: `hand:${t.name}`,
  records,
  };
};

/** Tasks of the given sizes and batch sizes, indexed and offset in order (records are `example(i)`). */
export const tasksOfSizes = (specs: ReadonlyArray<{ readonly name: string; readonly size: number; readonly batchSize: number }>): WithRecords<Task>[] => {
  let offset = 0;
  return specs.map((s, index) => {
    const t = task({ name: s.name, records: examples(s.size), batchSize: s.batchSize, index, offset });
    offset += s.size;
    return t;
  });
};

/** Rank 0's local slice (world size 1) of `t` at `indices`, as `shardByRank` yields it. */
export const localSlice = (t: Task, indices: ReadonlyArray<number>, step = 0, replay = false): LocalSlice => ({
  epoch: 0,
  step,
  globalStep: step,
  task: t,
  rank: 0,
  worldSize: 1,
  indices: indices as unknown as ReadonlyNonEmptyArray<number>,
  replay,
  resume: resumeAt(step + 1),
});

/** Rank 0's local batch (world size 1) holding all of `t`'s records at `indices` (default: all). */
export const localBatch = (t: WithRecords<Task>, indices: ReadonlyArray<number> = t.records.map((_, i) => i), step = 0): LocalBatch => ({
  ...localSlice(t, indices, step),
  replay: false,
  records: indices.map((i) => t.records[i]!) as unknown as ReadonlyNonEmptyArray<Located<Example>>,
});

/** A global batch of `t` at `indices`, as `epochShuffle` yields it (not a replay). */
export const globalBatch = (t: Task, indices: ReadonlyArray<number>, worldSize: number, step = 0): GlobalBatch => ({
  epoch: 0,
  step,
  globalStep: step,
  task: t,
  indices: indices as unknown as ReadonlyNonEmptyArray<number>,
  worldSize,
  replay: false,
  resume: resumeAt(step + 1),
});

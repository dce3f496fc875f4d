/**
 * Stage inputs built by hand (tasks, task files, local batches), for the example-based specs of
 * single stages: small enough to reason about, with every field a test may want to pin.
 */
import type { ReadonlyNonEmptyArray } from 'fp-ts/ReadonlyNonEmptyArray';
import type { DatasetColumns, Example, LocalBatch, Located, Task, TaskFile, TaskFileOrigin } from '../../lib/core/model.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';

/** No optional column anywhere; override the ones a test needs. */
export const columns = (present: Partial<DatasetColumns> = {}): DatasetColumns => ({
  prompt: false,
  type: false,
  category: false,
  trainGroupSize: false,
  posScores: false,
  negScores: false,
  ...present,
});

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

/** A task file of the given records (located in order). */
export const taskFile = (file: string, from: TaskFileOrigin, values: ReadonlyArray<Example>): TaskFile => ({
  file,
  origin: from,
  records: values.map((value, i) => located(file, i, value)),
});

/** A task file's records as `fromTaskFiles` would yield them. */
export const sourcedOf = (file: TaskFile): SourcedExample[] => file.records.map((r) => ({ ...r, origin: file.origin }));

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
export const task = (t: HandTask): Task => ({
  index: t.index ?? 0,
  name: t.name,
  files: [t.name],
  offset: t.offset ?? 0,
  batchSize: t.batchSize,
  noInBatchNeg: t.noInBatchNeg ?? false,
  type: t.records[0]?.type,
  columns: t.columns ?? columns({ type: t.records.some((r) => r.type !== undefined) }),
  records: t.records.map((value, i) => located(t.name, i, value)) as unknown as ReadonlyNonEmptyArray<Located<Example>>,
});

/** Tasks of the given sizes and batch sizes, indexed and offset in order (records are `example(i)`). */
export const tasksOfSizes = (specs: ReadonlyArray<{ readonly name: string; readonly size: number; readonly batchSize: number }>): Task[] => {
  let offset = 0;
  return specs.map((s, index) => {
    const t = task({ name: s.name, records: examples(s.size), batchSize: s.batchSize, index, offset });
    offset += s.size;
    return t;
  });
};

/** Rank 0's local batch (world size 1) holding all of `t`'s records at `indices` (default: all). */
export const localBatch = (t: Task, indices: ReadonlyArray<number> = t.records.map((_, i) => i), step = 0): LocalBatch => ({
  epoch: 0,
  step,
  globalStep: step,
  task: t,
  rank: 0,
  worldSize: 1,
  indices: indices as unknown as ReadonlyNonEmptyArray<number>,
  records: indices.map((i) => t.records[i]!) as unknown as ReadonlyNonEmptyArray<Located<Example>>,
});

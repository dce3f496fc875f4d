/**
 * What a run will do, from the index alone (no tokenizer, no texts): tasks, batch and group
 * sizes, steps per epoch, and everything dropped on the way, by cause.
 *
 * @module
 */
import { toArray } from 'ix/asynciterable';
import type { Task } from '../core/model.js';
import { collectReport, teeReport, type ReportEvent } from '../core/report.js';
import { noStepsError } from '../plan/epochPlan.js';
import { indexTaskFiles, type IndexTaskFilesOptions } from '../sources/indexTaskFiles.js';
import { checkTasks, type CheckTasksOptions } from '../stages/checkTasks.js';
import { groupByTask, type GroupByTaskOptions } from '../stages/groupByTask.js';
import { validateSampleGroupOptions } from '../stages/sampleGroup.js';

/**
 * A task's group size: fixed, or decided per batch by its first record (`symmetric_class`:
 * `min(len(neg) + 1, train_group_size)`; untyped corpora: the record's own `train_group_size`),
 * given then as the range over the task's records.
 *
 * @category models
 */
export type GroupSizeRule =
  | { readonly kind: 'fixed'; readonly size: number }
  | { readonly kind: 'firstRecord'; readonly rule: string; readonly min: number; readonly max: number };

/**
 * One task in a {@link PlanReport}.
 *
 * @category models
 */
export interface PlannedTask {
  readonly index: number;
  readonly name: string;
  readonly files: ReadonlyArray<string>;
  readonly type: string | null;
  readonly records: number;
  readonly batchSize: number;
  readonly globalBatchSize: number;
  readonly groupSize: GroupSizeRule;
  readonly batchesPerEpoch: number;
  /** Records of the incomplete last global batch, dropped every epoch. */
  readonly droppedPerEpoch: number;
  readonly noInBatchNeg: boolean;
}

/**
 * A run's plan.
 *
 * @category models
 */
export interface PlanReport {
  readonly worldSize: number;
  readonly perDeviceTrainBatchSize: number;
  readonly tasks: ReadonlyArray<PlannedTask>;
  readonly stepsPerEpoch: number;
  readonly recordsPerEpoch: number;
  readonly dropped: {
    /** Records left out of every epoch as incomplete last batches. */
    readonly incompleteLastBatchPerEpoch: number;
    readonly smallThreshold: ReadonlyArray<{ readonly files: ReadonlyArray<string>; readonly records: number }>;
    readonly dropThreshold: ReadonlyArray<{ readonly files: ReadonlyArray<string>; readonly records: number }>;
    readonly subsampling: ReadonlyArray<{ readonly file: string; readonly records: number; readonly kept: number }>;
    readonly skippedFiles: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
    readonly badRecords: number;
  };
}

/**
 * Options of {@link planReport}.
 *
 * @category models
 */
export interface PlanReportOptions extends GroupByTaskOptions, IndexTaskFilesOptions, Omit<CheckTasksOptions, 'tokenizer' | 'perDeviceTrainBatchSize'> {
  readonly worldSize?: number;
  readonly trainGroupSize?: number;
}

/** The range of a per-record group size over a task's records: `fixed` when every record agrees. */
export const groupSizeRange = (records: number, sizeOf: (i: number) => number, rule: string): GroupSizeRule => {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < records; i++) {
    const size = sizeOf(i);
    min = Math.min(min, size);
    max = Math.max(max, size);
  }
  return min === max ? { kind: 'fixed', size: min } : { kind: 'firstRecord', rule, min, max };
};

const groupSizeRule = (task: Task, trainGroupSize: number): GroupSizeRule => {
  const range = (sizeOf: (i: number) => number, rule: string) => groupSizeRange(task.store.size, sizeOf, rule);
  if (!task.columns.type) return range((i) => task.store.meta(i).trainGroupSize ?? trainGroupSize, "the first record's train_group_size");
  if (task.type === 'only_1neg') return { kind: 'fixed', size: 2 };
  if (task.type === 'symmetric_class') {
    return range((i) => Math.min(task.store.meta(i).negatives + 1, trainGroupSize), 'min(len(neg of the first record) + 1, train_group_size)');
  }
  return { kind: 'fixed', size: trainGroupSize };
};

/** What a plan reads of a task, whichever flavor grouped it. */
type PlannableTask = Pick<Task, 'index' | 'name' | 'files' | 'type' | 'batchSize'> & { readonly store: { readonly size: number } };

/** A task's line in a plan: its global batch, batches per epoch and the tail every epoch leaves out. */
export const plannedTask = (task: PlannableTask, worldSize: number, groupSize: GroupSizeRule, noInBatchNeg: boolean): PlannedTask => {
  const globalBatchSize = task.batchSize * worldSize;
  const batchesPerEpoch = Math.floor(task.store.size / globalBatchSize);
  return {
    index: task.index,
    name: task.name,
    files: task.files,
    type: task.type ?? null,
    records: task.store.size,
    batchSize: task.batchSize,
    globalBatchSize,
    groupSize,
    batchesPerEpoch,
    droppedPerEpoch: task.store.size - batchesPerEpoch * globalBatchSize,
    noInBatchNeg,
  };
};

/** The plan's totals, and every drop the run's report events name, by cause. */
export const assemblePlan = (worldSize: number, perDeviceTrainBatchSize: number, tasks: ReadonlyArray<PlannedTask>, events: ReadonlyArray<ReportEvent>): PlanReport => {
  const dropped = (reason: 'small_threshold' | 'drop_threshold') =>
    events.flatMap((e) => (e.kind === 'taskDropped' && e.reason === reason ? [{ files: e.files, records: e.records }] : []));
  return {
    worldSize,
    perDeviceTrainBatchSize,
    tasks,
    stepsPerEpoch: tasks.reduce((n, t) => n + t.batchesPerEpoch, 0),
    recordsPerEpoch: tasks.reduce((n, t) => n + t.batchesPerEpoch * t.globalBatchSize, 0),
    dropped: {
      incompleteLastBatchPerEpoch: tasks.reduce((n, t) => n + t.droppedPerEpoch, 0),
      smallThreshold: dropped('small_threshold'),
      dropThreshold: dropped('drop_threshold'),
      subsampling: events.flatMap((e) => (e.kind === 'fileSubsampled' ? [{ file: e.file, records: e.records, kept: e.kept }] : [])),
      skippedFiles: events.flatMap((e) => (e.kind === 'fileSkipped' ? [{ file: e.file, reason: e.reason }] : [])),
      badRecords: events.filter((e) => e.kind === 'recordDropped').length,
    },
  };
};

/**
 * The plan of a run, from the task files' indexes (built or read from the cache).
 *
 * @example
 * const plan = await planReport(['examples/data'], { seed: 42, perDeviceTrainBatchSize: 8, worldSize: 2 });
 * plan.stepsPerEpoch;
 *
 * @category constructors
 */
export const planReport = async (trainData: ReadonlyArray<string>, options: PlanReportOptions): Promise<PlanReport> => {
  const { trainGroupSize } = validateSampleGroupOptions({ seed: options.seed, trainGroupSize: options.trainGroupSize });
  const worldSize = options.worldSize ?? 1;
  const kept = collectReport();
  const report = teeReport(kept, options.report);
  const tasks = await toArray(indexTaskFiles(trainData, { ...options, report }).pipe(groupByTask({ ...options, report }), checkTasks(options)));
  const planned = tasks.map((task) => plannedTask(task, worldSize, groupSizeRule(task, trainGroupSize), task.noInBatchNeg));
  // dump fails here, before its first batch: so does plan.
  if (planned.every((t) => t.batchesPerEpoch === 0)) throw noStepsError(planned.map((t) => ({ name: t.name, size: t.records, globalBatchSize: t.globalBatchSize })));
  return assemblePlan(worldSize, options.perDeviceTrainBatchSize, planned, kept.events);
};

const describeGroupSize = (g: GroupSizeRule): string => (g.kind === 'fixed' ? String(g.size) : `${g.min}–${g.max} (${g.rule})`);

/**
 * A plan report for people: one line per task, then the totals and every drop by cause.
 *
 * @category sinks
 */
export const formatPlanReport = (plan: PlanReport): string => {
  const lines = [
    `${plan.tasks.length} tasks, world size ${plan.worldSize}, per-device batch ${plan.perDeviceTrainBatchSize}: ${plan.stepsPerEpoch} steps per epoch (${plan.recordsPerEpoch} records per epoch)`,
    '',
    ...plan.tasks.map(
      (t) =>
        `#${t.index} ${t.name}${t.files.length > 1 ? ` [${t.files.join(', ')}]` : ''}\n` +
        `    ${t.type ?? 'untyped'}, ${t.records} records, batch ${t.batchSize} per device (${t.globalBatchSize} global), group ${describeGroupSize(t.groupSize)}, ` +
        `${t.batchesPerEpoch} batches per epoch, ${t.droppedPerEpoch} dropped per epoch (incomplete last batch), in-batch negatives ${t.noInBatchNeg ? 'off (no_in_batch_neg)' : 'on'}`,
    ),
    '',
    'dropped:',
    `  incomplete last batches: ${plan.dropped.incompleteLastBatchPerEpoch} records per epoch`,
    ...plan.dropped.subsampling.map((s) => `  subsampling (max_example_num_per_dataset): ${s.file} keeps ${s.kept} of ${s.records}`),
    ...plan.dropped.smallThreshold.map((d) => `  small_threshold: ${d.files.join(', ')} (${d.records} records)`),
    ...plan.dropped.dropThreshold.map((d) => `  drop_threshold: merged ${d.files.join(', ')} (${d.records} records)`),
    ...plan.dropped.skippedFiles.map((f) => `  skipped file: ${f.file} (${f.reason})`),
    ...(plan.dropped.badRecords > 0 ? [`  bad records skipped: ${plan.dropped.badRecords}`] : []),
  ];
  return lines.join('\n');
};

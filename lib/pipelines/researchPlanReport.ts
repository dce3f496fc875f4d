/**
 * The research flavor's plan: what a run will do, from the dataset's index (no tokenizer, no texts).
 *
 * @module
 */
import { toArray } from 'ix/asynciterable';
import { collectReport, type ReportEvent } from '../core/report.js';
import { loadDatasetSplits, type DatasetSplitsOptions } from '../sources/datasetSplits.js';
import { batchBySplit, type BatchBySplitOptions } from '../stages/batchBySplit.js';
import type { GroupSizeRule, PlanReport, PlannedTask } from './planReport.js';
import { researchGroupSize, researchMessages } from './researchRules.js';

/**
 * Options of {@link researchPlanReport}: the research flavor's data and batch-size arguments.
 *
 * @category models
 */
export type ResearchPlanOptions = DatasetSplitsOptions & BatchBySplitOptions;

/**
 * The plan of a research-flavor run, in the ICL flavor's {@link PlanReport} shape (print it with
 * `formatPlanReport`): one task per split with the module's batch size, its group size (by the type
 * of a batch's first record: the range over the split's types when they differ), batches and tail per
 * epoch; "in-batch negatives off" where the module's `messages` say `not in-batch`.
 *
 * **Gotchas**: reads the dataset's index (every row decoded once, as a run does), and applies the
 * checks a run makes before its first batch (the same errors). With `save_to_disk` it saves, as a run would.
 *
 * @example
 * const plan = await researchPlanReport({ trainData: 'examples/research/jsonl-configs', perDeviceTrainBatchSize: 6, symmetricBatchSize: 12, worldSize: 2 });
 *
 * @category constructors
 */
export const researchPlanReport = async (options: ResearchPlanOptions): Promise<PlanReport> => {
  const worldSize = options.worldSize ?? 1;
  const report = collectReport();
  const forward = (e: ReportEvent) => {
    report.add(e);
    options.report?.add(e);
  };
  const tasks = await toArray(loadDatasetSplits({ ...options, report: { add: forward } }).pipe(batchBySplit(options)));
  const planned = tasks.map((task): PlannedTask => {
    const globalBatchSize = task.batchSize * worldSize;
    const batchesPerEpoch = Math.floor(task.store.size / globalBatchSize);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < task.store.size; i++) {
      const size = researchGroupSize(task.store.meta(i).type ?? '', options);
      min = Math.min(min, size);
      max = Math.max(max, size);
    }
    const groupSize: GroupSizeRule = min === max ? { kind: 'fixed', size: min } : { kind: 'firstRecord', rule: "by the type of the batch's first record", min, max };
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
      noInBatchNeg: researchMessages(task.type ?? '', 1)[0] === 'not in-batch',
    };
  });
  return {
    worldSize,
    perDeviceTrainBatchSize: options.perDeviceTrainBatchSize,
    tasks: planned,
    stepsPerEpoch: planned.reduce((n, t) => n + t.batchesPerEpoch, 0),
    recordsPerEpoch: planned.reduce((n, t) => n + t.batchesPerEpoch * t.globalBatchSize, 0),
    dropped: {
      incompleteLastBatchPerEpoch: planned.reduce((n, t) => n + t.droppedPerEpoch, 0),
      smallThreshold: [],
      dropThreshold: [],
      subsampling: [],
      skippedFiles: report.events.flatMap((e) => (e.kind === 'fileSkipped' ? [{ file: e.file, reason: e.reason }] : [])),
      badRecords: 0,
    },
  };
};

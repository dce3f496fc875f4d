/**
 * The research flavor's plan: what a run will do, from the dataset's index (no tokenizer, no texts).
 *
 * @module
 */
import { toArray } from 'ix/asynciterable';
import { loadDatasetSplits, type DatasetSplitsOptions } from '../sources/datasetSplits.js';
import { batchBySplit, type BatchBySplitOptions } from '../stages/batchBySplit.js';
import { collectReport, teeReport } from '../core/report.js';
import { assemblePlan, groupSizeRange, plannedTask, type PlanReport } from './planReport.js';
import { researchGroupSize, researchMessages } from '../plan/researchRules.js';

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
  const kept = collectReport();
  const tasks = await toArray(loadDatasetSplits({ ...options, report: teeReport(kept, options.report) }).pipe(batchBySplit(options)));
  const planned = tasks.map((task) => {
    const type = (i: number) => task.store.meta(i).type ?? '';
    const groupSize = groupSizeRange(task.store.size, (i) => researchGroupSize(type(i), options), "by the type of the batch's first record");
    return plannedTask(task, worldSize, groupSize, researchMessages(task.type ?? '', 1)[0] === 'not in-batch');
  });
  return assemblePlan(worldSize, options.perDeviceTrainBatchSize, planned, kept.events);
};

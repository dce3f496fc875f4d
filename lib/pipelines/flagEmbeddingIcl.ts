/**
 * FlagEmbedding's decoder-only ICL training data path, composed from the stages.
 *
 * @module
 */
import { from, type AsyncIterableX } from 'ix/asynciterable';
import type { LocalBatch, PaddedBatch, ReplaySlice, TaskFile } from '../core/model.js';
import type { Op } from '../core/operator.js';
import type { ReportSink } from '../core/report.js';
import { configFingerprint } from '../core/resume.js';
import { indexTaskFiles, type IndexTaskFilesOptions } from '../sources/indexTaskFiles.js';
import type { SourcedExample } from '../sources/taskFiles.js';
import { mapConcurrent } from '../core/mapConcurrent.js';
import type { AugmentIclOptions } from '../stages/augmentIcl.js';
import { workerBatches } from '../workers/workerBatches.js';
import { batchBuilder } from '../stages/batchBuilder.js';
import { checkTasks } from '../stages/checkTasks.js';
import { researchBatches, type ResearchOptions } from './research.js';
import { epochShuffle, type EpochShuffleOptions } from '../stages/epochShuffle.js';
import type { FormatPromptOptions } from '../stages/formatPrompt.js';
import { groupByTask, type GroupByTaskOptions } from '../stages/groupByTask.js';
import { maskFalseNegatives, type MaskFalseNegativesOptions } from '../stages/maskFalseNegatives.js';
import { prefetch } from '../stages/prefetch.js';
import { readRecords } from '../stages/readRecords.js';
import { sampleGroup, type SampleGroupOptions } from '../stages/sampleGroup.js';
import { shardByRank, type ShardOptions } from '../stages/shardByRank.js';
import { toTaskFiles } from '../stages/toTaskFiles.js';
import type { TokenizerPort } from '../tokenizers/port.js';

/**
 * Everything the FlagEmbedding-equivalent pipeline reads: the reference's data arguments (camelCase),
 * its training arguments that matter for data (seed, per-device batch size, world size, rank,
 * sub-batch size), the tokenizer, and this library's own knobs (index cache, resume, prefetch).
 *
 * @category models
 */
export interface FlagEmbeddingOptions
  extends GroupByTaskOptions,
    EpochShuffleOptions,
    ShardOptions,
    SampleGroupOptions,
    FormatPromptOptions,
    AugmentIclOptions,
    IndexTaskFilesOptions,
    Omit<MaskFalseNegativesOptions, 'sampler'> {
  /** Selects this flavor, FlagEmbedding 1.4's ICL dataset (the default); `'research'` takes {@link ResearchOptions}. */
  readonly flavor?: 'icl';
  /** `train_data`: task files and folders of task files. */
  readonly trainData: ReadonlyArray<string>;
  /** `per_device_train_batch_size`: records per rank and step, for tasks that do not set their own. */
  readonly perDeviceTrainBatchSize: number;
  /** Loaded with `add_eos_token=True` and the run's `additional_special_tokens`, as the ICL runner loads it. */
  readonly tokenizer: TokenizerPort;
  /** `pad_to_multiple_of`. Default: none. */
  readonly padToMultipleOf?: number | null;
  /** `sub_batch_size`: pad the collated batch in chunks of this many rows. Default: none. */
  readonly subBatchSize?: number | null;
  /** Batches read ahead, after reading records and after padding (output is the same for any value). Default: 2. */
  readonly prefetch?: number;
  /**
   * Worker threads that build texts, ids and tensors (`formatPrompt` … `pad`) for several batches
   * at once; 0 keeps everything in this thread. Output is the same for any value. Default: 0.
   */
  readonly workers?: number;
  /**
   * Batches whose texts and tensors are built at once in this thread: their tokenizer calls overlap,
   * which pays with the native backend (it computes on its own threads; 4 is a good value). Output is
   * the same for any value. Default: 1.
   */
  readonly concurrency?: number;
  /** Receives every skip and drop (`fileSkipped`, `fileSubsampled`, `taskDropped`, `tailDropped`, `recordDropped`). */
  readonly report?: ReportSink;
}

/**
 * The options that decide the output (the resume fingerprint's "config"): not the rank (one state
 * resumes every rank), the world size or per-device batch size (the resume state's plan carries the
 * global batch sizes, so that a run can resume on another number of ranks), the report, the cache
 * folder, the prefetch depth, `epochs`, or the false-negative mask (it adds to the batches and
 * changes none of them).
 */
const outputOptions = (o: FlagEmbeddingOptions) => {
  const { perDeviceTrainBatchSize: _p, worldSize: _w, ...rest } = legacyOutputOptions(o);
  return rest;
};

/** The configuration fingerprint's options in version 1 resume states (with the world size and batch size). Frozen. */
const legacyOutputOptions = (o: FlagEmbeddingOptions) => ({
  seed: String(o.seed),
  perDeviceTrainBatchSize: o.perDeviceTrainBatchSize,
  worldSize: o.worldSize ?? 1,
  maxExampleNumPerDataset: o.maxExampleNumPerDataset ?? null,
  smallThreshold: o.smallThreshold ?? null,
  dropThreshold: o.dropThreshold ?? null,
  trainGroupSize: o.trainGroupSize ?? null,
  shuffleRatio: o.shuffleRatio ?? null,
  knowledgeDistillation: o.knowledgeDistillation ?? false,
  retrievalUseExamples: o.retrievalUseExamples ?? null,
  queryInstructionForRetrieval: o.queryInstructionForRetrieval ?? null,
  queryInstructionFormat: o.queryInstructionFormat ?? null,
  passageInstructionForRetrieval: o.passageInstructionForRetrieval ?? null,
  passageInstructionFormat: o.passageInstructionFormat ?? null,
  queryMaxLen: o.queryMaxLen ?? null,
  passageMaxLen: o.passageMaxLen ?? null,
  exampleQueryMaxLen: o.exampleQueryMaxLen ?? null,
  examplePassageMaxLen: o.examplePassageMaxLen ?? null,
  iclSuffixStr: o.iclSuffixStr ?? null,
  exampleBudgetReserve: o.exampleBudgetReserve ?? null,
  padToMultipleOf: o.padToMultipleOf ?? null,
  subBatchSize: o.subBatchSize ?? null,
  badRecords: o.badRecords ?? 'fail',
});

/**
 * Everything after the source: task files in, padded batches out. For files from `indexTaskFiles`,
 * or records from anywhere through `toTaskFiles()` (see {@link flagEmbeddingBatchesFromRecords}).
 *
 * @example
 * indexTaskFiles(trainData).pipe(flagEmbeddingStages(options));
 *
 * @category stages
 */
export const flagEmbeddingStages = (options: FlagEmbeddingOptions): Op<TaskFile, PaddedBatch> => {
  // Built here, once, so that bad options throw before anything is read.
  const fingerprint = {
    config: configFingerprint(outputOptions(options)),
    legacyConfig: configFingerprint(legacyOutputOptions(options)),
    tokenizer: options.tokenizer.fingerprint,
  };
  const toTasks = groupByTask(options);
  const checked = checkTasks(options);
  const toGlobalBatches = epochShuffle({ ...options, fingerprint });
  const toSlices = shardByRank(options);
  const read = readRecords();
  const readAhead = prefetch<LocalBatch | ReplaySlice>(options.prefetch ?? 2);
  // The draws; with a false-negative mask, the mask too (global scope: every rank's draws, to see the whole step).
  const sample = () => sampleGroup(options);
  const toSampled = (options.falseNegativeScope ?? 'none') === 'none' ? sample() : maskFalseNegatives({ ...options, sampler: sample });
  // Texts, ids and tensors: on worker threads, or here with several batches in flight.
  const toTensors =
    (options.workers ?? 0) > 0 ? workerBatches({ ...options, workers: options.workers! }) : mapConcurrent(options.concurrency ?? 1, batchBuilder(options));
  const tensorsAhead = prefetch<PaddedBatch>(options.prefetch ?? 2);
  return (files) =>
    from(files)
      .pipe(toTasks, checked, toGlobalBatches, toSlices, read, readAhead)
      .pipe(toSampled, toTensors, tensorsAhead);
};

/**
 * The batches FlagEmbedding's `DecoderOnlyEmbedderICLSameDatasetTrainDataset` +
 * `AbsEmbedderSameDatasetCollator` yield for one rank, step by step, token for token.
 *
 * **Details**: read top to bottom ({@link flagEmbeddingStages}), it is the reference's data path:
 * index every task file (reading each once; cached), group files into tasks, plan each epoch's
 * global batches, keep this rank's slice, read its records, draw positives/negatives/examples,
 * apply instructions, add in-context examples and cut to budget, tokenize, pad. Every batch
 * carries `resume`, the state to continue after it; pass one as `resumeFrom` to continue a run
 * exactly. Every stage is exported on its own for custom pipelines.
 *
 * **Gotchas**: infinite unless `epochs` is set (the reference refreshes epochs forever); take what you
 * need. Option errors throw here, before anything is read. With `flavor: 'research'` this is
 * `researchBatches` (the research module's dataset; see lib/pipelines/research.ts).
 *
 * @example
 * const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
 * const batches = flagEmbeddingBatches({ trainData: ['examples/data/retrieval'], tokenizer, seed: 42, perDeviceTrainBatchSize: 4 });
 * for await (const batch of batches.pipe(take(3))) console.log(batch.queries[0]);
 *
 * @category constructors
 */
export const flagEmbeddingBatches = (options: FlagEmbeddingOptions | ResearchOptions): AsyncIterableX<PaddedBatch> =>
  options.flavor === 'research' ? researchBatches(options) : indexTaskFiles(options.trainData, options).pipe(flagEmbeddingStages(options));

/**
 * The same pipeline over records from any source (already decoded and located), held in memory.
 *
 * @example
 * flagEmbeddingBatchesFromRecords(fromTaskFiles(paths).pipe(failOnIssues()), options);
 *
 * @category constructors
 */
export const flagEmbeddingBatchesFromRecords = (records: AsyncIterable<SourcedExample>, options: FlagEmbeddingOptions): AsyncIterableX<PaddedBatch> =>
  from(records).pipe(toTaskFiles(), flagEmbeddingStages(options));

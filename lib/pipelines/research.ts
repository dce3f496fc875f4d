/**
 * The research flavor: FlagEmbedding's research/llm_dense_retriever/finetune/data.py
 * (`SameDatasetTrainDataset` + `get_query_prompt` + `SameEmbedCollator`, set up as its run.py sets
 * them up), composed from the same stages as the ICL flavor.
 *
 * @module
 */
import { defer, from, type AsyncIterableX } from 'ix/asynciterable';
import type { LocalBatch, PaddedBatch, ReplaySlice } from '../core/model.js';
import { mapConcurrent } from '../core/mapConcurrent.js';
import type { Op } from '../core/operator.js';
import type { ReportSink } from '../core/report.js';
import { configFingerprint } from '../core/resume.js';
import { researchPromptFormat, researchTexts } from '../plan/researchRules.js';
import { loadDatasetSplits, prepareResearchDataset, type DatasetSplitsOptions } from '../sources/datasetSplits.js';
import type { DatasetSplit } from '../sources/researchDataset.js';
import { batchBySplit } from '../stages/batchBySplit.js';
import { epochShuffle } from '../stages/epochShuffle.js';
import { prefetch } from '../stages/prefetch.js';
import { readRecords } from '../stages/readRecords.js';
import { sampleGroup } from '../stages/sampleGroup.js';
import { shardByRank } from '../stages/shardByRank.js';
import type { TokenizerPort } from '../tokenizers/port.js';
import type { ResumeState, ResumeStateV1 } from '../core/model.js';
import { maskFalseNegatives, type FalseNegativeScope } from '../stages/maskFalseNegatives.js';
import type { Seed } from '../random/seed.js';
import { workerBatches } from '../workers/workerBatches.js';
import { batchBuilder, type BatchBuilderOptions } from '../stages/batchBuilder.js';

/**
 * Everything the research flavor reads: the research module's `DataArguments` (camelCase, its
 * defaults), the training arguments that matter for data, the tokenizer, and this library's knobs.
 *
 * @category models
 */
export interface ResearchOptions extends DatasetSplitsOptions {
  /** Selects this flavor in `flagEmbeddingBatches`. */
  readonly flavor: 'research';
  /** Loaded with `add_eos_token=True`, pad = unk (else eos), left padding, and with `use_special_tokens` the three special tokens, as run.py loads it. */
  readonly tokenizer: TokenizerPort;
  /** The run's seed (`set_seed`; the Trainer reseeds before training, so the per-batch draws start from it). */
  readonly seed: Seed;
  /** Number of ranks (`num_processes`). Default: 1. */
  readonly worldSize?: number;
  /** This process's rank (`process_index`). Default: 0. */
  readonly rank?: number;
  /** `use_special_tokens`: `<instruct>…\n<query>…` prompts and `\n<response>`, else `Instruct: …\nQuery: …` and `\nResponse:`. Default: true. */
  readonly useSpecialTokens?: boolean;
  /** `train_group_size`. Default: 8. */
  readonly trainGroupSize?: number;
  /** `symmetric_train_group_size`. Default: 8. */
  readonly symmetricTrainGroupSize?: number;
  /** `max_class_neg`. Default: 1000. */
  readonly maxClassNeg?: number;
  /** `symmetric_batch_size`: global batch of symmetric splits. Default: 128. */
  readonly symmetricBatchSize?: number;
  /** `query_max_len`. Default: 32. */
  readonly queryMaxLen?: number;
  /** `passage_max_len`. Default: 128. */
  readonly passageMaxLen?: number;
  /** `example_query_max_len`. Default: 64. */
  readonly exampleQueryMaxLen?: number;
  /** `example_passage_max_len`. Default: 96. */
  readonly examplePassageMaxLen?: number;
  /** `retrieval_use_examples`. Default: true. */
  readonly retrievalUseExamples?: boolean;
  /** `pad_to_multiple_of`: run.py passes 8. Default: 8. */
  readonly padToMultipleOf?: number | null;
  /** `sub_batch_size` (None or ≤ 0: whole batches). Default: none. */
  readonly subBatchSize?: number | null;
  /** `exit_after_save`: with `save_to_disk`, write and stop (no batches). Default: false. */
  readonly exitAfterSave?: boolean;
  /** `shuffle_ratio`: stored by the module and never used; accepted and ignored. */
  readonly shuffleRatio?: number;
  /** `cache_path`: `datasets`' cache folder; accepted and ignored (this library indexes files in place). */
  readonly cachePath?: string | null;
  /** `nli_all_prompt`: accepted; the module's data path does not read it. */
  readonly nliAllPrompt?: boolean;
  /** `max_example_num_per_dataset`, `query_instruction_for_retrieval`, `passage_instruction_for_retrieval`: accepted; unused by the module. */
  readonly maxExampleNumPerDataset?: number;
  readonly queryInstructionForRetrieval?: string | null;
  readonly passageInstructionForRetrieval?: string | null;
  /** Stop after this many epochs. Default: never. */
  readonly epochs?: number;
  /** Continue exactly after this state (also elastically, as the icl flavor: see `epochShuffle`). */
  readonly resumeFrom?: ResumeState | ResumeStateV1 | null;
  /** A false-negative mask with every batch (beyond the reference; see `maskFalseNegatives`). Default: `'none'`. */
  readonly falseNegativeScope?: FalseNegativeScope;
  /** Batches read ahead. Default: 2. */
  readonly prefetch?: number;
  /** Worker threads for texts and tensors. Default: 0. */
  readonly workers?: number;
  /** Batches built at once in this thread. Default: 1. */
  readonly concurrency?: number;
  readonly report?: ReportSink;
}

/**
 * The generic stage options the research module's arguments amount to: `typeRules: 'research'`,
 * `get_query_prompt`'s format, the literal suffix and prefix texts, run.py's `pad_to_multiple_of=8`.
 *
 * @category constructors
 */
export const researchStageOptions = (options: ResearchOptions) => {
  const useSpecialTokens = options.useSpecialTokens ?? RESEARCH_DEFAULTS.useSpecialTokens;
  const texts = researchTexts(useSpecialTokens);
  return {
    ...options,
    typeRules: 'research' as const,
    queryInstructionFormat: researchPromptFormat(useSpecialTokens),
    queryInstructionForRetrieval: null,
    passageInstructionForRetrieval: null,
    iclSuffixStr: texts.suffix,
    exampleJoinStr: texts.exampleJoin,
    budgetTexts: { prefix: texts.budgetPrefix, suffix: texts.budgetSuffix },
    shuffleRatio: 0,
    knowledgeDistillation: false,
    padToMultipleOf: options.padToMultipleOf === undefined ? RESEARCH_DEFAULTS.padToMultipleOf : options.padToMultipleOf,
  } satisfies BatchBuilderOptions & Record<string, unknown>;
};

/**
 * The research module's defaults (its DataArguments, and run.py's `pad_to_multiple_of=8`): one list
 * for the pipeline, its resume fingerprint and the command line.
 *
 * @category models
 */
export const RESEARCH_DEFAULTS = {
  useSpecialTokens: true,
  trainGroupSize: 8,
  symmetricTrainGroupSize: 8,
  maxClassNeg: 1000,
  symmetricBatchSize: 128,
  queryMaxLen: 32,
  passageMaxLen: 128,
  exampleQueryMaxLen: 64,
  examplePassageMaxLen: 96,
  retrievalUseExamples: true,
  padToMultipleOf: 8,
  subBatchSize: null,
  loadFromDisk: false,
} as const;

/**
 * The options that decide the output (the resume fingerprint's "config"): not the rank, and, as for
 * the icl flavor, not the world size or per-device batch size (the resume state's plan holds those,
 * so that a run can resume elastically). The keys' order is the fingerprint's: keep it.
 */
const outputOptions = (o: ResearchOptions) => {
  const d = RESEARCH_DEFAULTS;
  return {
    flavor: 'research',
    seed: String(o.seed),
    useSpecialTokens: o.useSpecialTokens ?? d.useSpecialTokens,
    trainGroupSize: o.trainGroupSize ?? d.trainGroupSize,
    symmetricTrainGroupSize: o.symmetricTrainGroupSize ?? d.symmetricTrainGroupSize,
    maxClassNeg: o.maxClassNeg ?? d.maxClassNeg,
    symmetricBatchSize: o.symmetricBatchSize ?? d.symmetricBatchSize,
    queryMaxLen: o.queryMaxLen ?? d.queryMaxLen,
    passageMaxLen: o.passageMaxLen ?? d.passageMaxLen,
    exampleQueryMaxLen: o.exampleQueryMaxLen ?? d.exampleQueryMaxLen,
    examplePassageMaxLen: o.examplePassageMaxLen ?? d.examplePassageMaxLen,
    retrievalUseExamples: o.retrievalUseExamples ?? d.retrievalUseExamples,
    padToMultipleOf: o.padToMultipleOf === undefined ? d.padToMultipleOf : o.padToMultipleOf,
    subBatchSize: o.subBatchSize ?? d.subBatchSize,
    loadFromDisk: o.loadFromDisk ?? d.loadFromDisk,
  };
};

/**
 * Everything after the source: the splits in, padded batches out.
 *
 * @example
 * loadDatasetSplits(options).pipe(researchStages(options));
 *
 * @category stages
 */
export const researchStages = (options: ResearchOptions): Op<DatasetSplit, PaddedBatch> => {
  const research = researchStageOptions(options);
  // No legacy (version 1) config: research-flavor states were never written in version 1.
  const fingerprint = { config: configFingerprint(outputOptions(options)), legacyConfig: '', tokenizer: options.tokenizer.fingerprint };
  const toTasks = batchBySplit(research);
  const toGlobalBatches = epochShuffle({ ...research, fingerprint });
  const toSlices = shardByRank(research);
  const read = readRecords();
  const readAhead = prefetch<LocalBatch | ReplaySlice>(options.prefetch ?? 2);
  // The draws; with a false-negative mask, the mask too (global scope: every rank's draws).
  const sample = () => sampleGroup(research);
  const toSampled = (options.falseNegativeScope ?? 'none') === 'none' ? sample() : maskFalseNegatives({ ...research, sampler: sample });
  const toTensors =
    (options.workers ?? 0) > 0 ? workerBatches({ ...research, workers: options.workers! }) : mapConcurrent(options.concurrency ?? 1, batchBuilder(research));
  const tensorsAhead = prefetch<PaddedBatch>(options.prefetch ?? 2);
  return (splits) =>
    from(splits)
      .pipe(toTasks, toGlobalBatches, toSlices, read, readAhead)
      .pipe(toSampled, toTensors, tensorsAhead);
};

/**
 * The batches the research module's `SameDatasetTrainDataset` + `SameEmbedCollator` yield for one
 * rank, step by step, token for token.
 *
 * **Details**, read top to bottom ({@link researchStages}): load the dataset's splits as
 * `datasets.load_dataset` does (or a `load_from_disk` folder; `save_to_disk` first if asked), one
 * task per split with the module's batch sizes, then the ICL flavor's own stages — epoch plan, rank
 * slice, reads — and with `typeRules: 'research'` its draws, prompts, examples, truncations and
 * `messages`; tokenize and pad as the collator does.
 *
 * **Gotchas**: infinite unless `epochs` is set. With `exitAfterSave` it saves and yields nothing.
 *
 * @example
 * const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
 * const batches = researchBatches({ flavor: 'research', trainData: 'examples/research/jsonl-configs', tokenizer, seed: 42, perDeviceTrainBatchSize: 6, symmetricBatchSize: 12 });
 *
 * @category constructors
 */
export const researchBatches = (options: ResearchOptions): AsyncIterableX<PaddedBatch> => {
  if (options.exitAfterSave && options.saveToDisk) {
    return defer(async function* () {
      await prepareResearchDataset(options);
    }) as AsyncIterableX<PaddedBatch>;
  }
  return loadDatasetSplits(options).pipe(researchStages(options));
};

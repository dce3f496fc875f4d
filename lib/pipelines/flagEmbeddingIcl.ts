/**
 * FlagEmbedding's decoder-only ICL training data path, composed from the stages.
 *
 * @module
 */
import { from, type AsyncIterableX } from 'ix/asynciterable';
import type { Op } from '../core/operator.js';
import type { PaddedBatch } from '../core/model.js';
import type { ReportSink } from '../core/report.js';
import { fromTaskFiles, type SourcedExample } from '../sources/taskFiles.js';
import { augmentIcl, type AugmentIclOptions } from '../stages/augmentIcl.js';
import { epochShuffle, type EpochShuffleOptions } from '../stages/epochShuffle.js';
import { failOnIssues } from '../stages/failOnIssues.js';
import { formatPrompt, type FormatPromptOptions } from '../stages/formatPrompt.js';
import { groupByTask, type GroupByTaskOptions } from '../stages/groupByTask.js';
import { pad } from '../stages/pad.js';
import { sampleGroup, type SampleGroupOptions } from '../stages/sampleGroup.js';
import { shardByRank, type ShardOptions } from '../stages/shardByRank.js';
import { tokenize } from '../stages/tokenize.js';
import type { TokenizerPort } from '../tokenizers/port.js';

/**
 * Everything the FlagEmbedding-equivalent pipeline reads: the reference's data arguments (camelCase),
 * its training arguments that matter for data (seed, per-device batch size, world size, rank,
 * sub-batch size), and the tokenizer.
 *
 * @category models
 */
export interface FlagEmbeddingOptions
  extends GroupByTaskOptions,
    EpochShuffleOptions,
    ShardOptions,
    SampleGroupOptions,
    FormatPromptOptions,
    AugmentIclOptions {
  /** `train_data`: task files and folders of task files. */
  readonly trainData: ReadonlyArray<string>;
  /** Loaded with `add_eos_token=True` and the run's `additional_special_tokens`, as the ICL runner loads it. */
  readonly tokenizer: TokenizerPort;
  /** `pad_to_multiple_of`. Default: none. */
  readonly padToMultipleOf?: number | null;
  /** `sub_batch_size`: pad the collated batch in chunks of this many rows. Default: none. */
  readonly subBatchSize?: number | null;
  /** Receives every skip and drop (`fileSkipped`, `fileSubsampled`, `taskDropped`, `tailDropped`). */
  readonly report?: ReportSink;
}

/**
 * Everything after loading: records in, padded batches out (group by task, epoch shuffle, rank
 * shard, group sampling, prompt format, ICL augmentation, tokenize, pad). For custom sources: any
 * `AsyncIterable<SourcedExample>` works, e.g. records from a database or a generator in a test.
 *
 * @example
 * from(myRecords).pipe(flagEmbeddingStages({ tokenizer, seed: 42, perDeviceTrainBatchSize: 4, trainData: [] }));
 *
 * @category stages
 */
export const flagEmbeddingStages = (options: FlagEmbeddingOptions): Op<SourcedExample, PaddedBatch> => {
  // Built here, once, so that bad options throw before anything is read.
  const toTasks = groupByTask(options);
  const toGlobalBatches = epochShuffle(options);
  const toLocalBatches = shardByRank(options);
  const toSampled = sampleGroup(options);
  const toPrompted = formatPrompt(options);
  const toTexts = augmentIcl(options);
  const toIds = tokenize(options);
  const toPadded = pad({ ...options, padTokenId: options.tokenizer.padTokenId, paddingSide: options.tokenizer.paddingSide });
  return (records) =>
    from(records).pipe(toTasks, toGlobalBatches, toLocalBatches, toSampled, toPrompted, toTexts, toIds, toPadded);
};

/**
 * The batches FlagEmbedding's `DecoderOnlyEmbedderICLSameDatasetTrainDataset` +
 * `AbsEmbedderSameDatasetCollator` yield for one rank, step by step, token for token.
 *
 * **Details**: read top to bottom, it is the reference's data path: load and decode every task file,
 * stop at the first bad record, then {@link flagEmbeddingStages}: group records into tasks, plan
 * each epoch's global batches, keep this rank's slice, draw positives/negatives/examples, apply
 * instructions, add in-context examples and cut to budget, tokenize, pad. Every stage is exported on
 * its own for custom pipelines.
 *
 * **Gotchas**: infinite unless `epochs` is set (the reference refreshes epochs forever); take what you
 * need. Option errors throw here, before anything is read.
 *
 * @example
 * const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
 * const batches = flagEmbeddingBatches({ trainData: ['examples/data/retrieval'], tokenizer, seed: 42, perDeviceTrainBatchSize: 4 });
 * for await (const batch of batches.pipe(take(3))) console.log(batch.queries[0]);
 *
 * @category constructors
 */
export const flagEmbeddingBatches = (options: FlagEmbeddingOptions): AsyncIterableX<PaddedBatch> =>
  fromTaskFiles(options.trainData, options).pipe(failOnIssues(), flagEmbeddingStages(options));

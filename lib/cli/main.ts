/**
 * The `llm-retriever-data` command.
 *
 * @module
 */
import type { Writable } from 'node:stream';
import { take } from 'ix/asynciterable/operators';
import { ConfigError, RecordError, TokenizerError } from '../core/errors.js';
import type { PaddedBatch, PaddedTensor } from '../core/model.js';
import { flagEmbeddingBatches, type FlagEmbeddingOptions } from '../pipelines/flagEmbeddingIcl.js';
import { loadTokenizer, defaultTokenizerDir } from '../tokenizers/transformers.js';
import { parseArguments, usage, type ParsedArguments } from './args.js';

/**
 * The pipeline options an argument list means, with the reference's defaults.
 *
 * @category constructors
 */
export const optionsFromArguments = (
  args: ParsedArguments,
  tokenizer: FlagEmbeddingOptions['tokenizer'],
): FlagEmbeddingOptions => {
  if (args.train_data === undefined) throw new ConfigError('train_data', 'is required');
  if (args.same_dataset_within_batch === false) {
    throw new ConfigError('same_dataset_within_batch', 'must be true: this library builds same-task batches (the ICL dataset path)');
  }
  return {
    trainData: args.train_data,
    tokenizer,
    seed: args.seed ?? '42',
    perDeviceTrainBatchSize: args.per_device_train_batch_size ?? 8,
    worldSize: args.world_size ?? 1,
    rank: args.rank ?? 0,
    trainGroupSize: args.train_group_size ?? 8,
    queryMaxLen: args.query_max_len ?? 32,
    passageMaxLen: args.passage_max_len ?? 128,
    padToMultipleOf: args.pad_to_multiple_of ?? null,
    maxExampleNumPerDataset: args.max_example_num_per_dataset ?? 100_000_000,
    queryInstructionForRetrieval: args.query_instruction_for_retrieval ?? null,
    queryInstructionFormat: args.query_instruction_format ?? '{}{}',
    passageInstructionForRetrieval: args.passage_instruction_for_retrieval ?? null,
    passageInstructionFormat: args.passage_instruction_format ?? '{}{}',
    knowledgeDistillation: args.knowledge_distillation ?? false,
    shuffleRatio: args.shuffle_ratio ?? 0,
    smallThreshold: args.small_threshold ?? 0,
    dropThreshold: args.drop_threshold ?? 0,
    exampleQueryMaxLen: args.example_query_max_len ?? 64,
    examplePassageMaxLen: args.example_passage_max_len ?? 96,
    retrievalUseExamples: args.retrieval_use_examples ?? true,
    iclSuffixStr: args.icl_suffix_str ?? '\nResponse:',
    subBatchSize: args.sub_batch_size ?? null,
    ...(args.steps === undefined ? { epochs: 1 } : {}),
  };
};

/**
 * One step as the reference oracle prints it: `epoch`, `example_indices` (global record indices in
 * the reference's concatenation order), `queries_text`, `passages_text`, `teacher_scores`,
 * `no_in_batch_neg`, `q_ids`, `q_mask`, `p_ids`, `p_mask` (lists of tensors with `sub_batch_size`).
 *
 * @category sinks
 */
export const toDumpRecord = (batch: PaddedBatch) => {
  const { padded } = batch;
  const ids = (t: PaddedTensor) => t.inputIds;
  const mask = (t: PaddedTensor) => t.attentionMask;
  const tensors =
    padded.kind === 'whole'
      ? { q_ids: ids(padded.queries), q_mask: mask(padded.queries), p_ids: ids(padded.passages), p_mask: mask(padded.passages) }
      : { q_ids: padded.queries.map(ids), q_mask: padded.queries.map(mask), p_ids: padded.passages.map(ids), p_mask: padded.passages.map(mask) };
  return {
    epoch: batch.epoch,
    example_indices: batch.indices.map((i) => batch.task.offset + i),
    queries_text: batch.queries,
    passages_text: batch.passages,
    teacher_scores: batch.teacherScores,
    no_in_batch_neg: batch.noInBatchNeg,
    ...tensors,
  };
};

const write = (out: Writable, text: string): Promise<void> =>
  new Promise((resolve, reject) => {
    if (out.write(text)) resolve();
    else {
      out.once('drain', resolve);
      out.once('error', reject);
    }
  });

/** Loads the tokenizer an argument list names, set up as FlagEmbedding's ICL runner does. */
export const tokenizerFromArguments = (args: ParsedArguments) =>
  loadTokenizer(args.tokenizer ?? defaultTokenizerDir(), {
    additionalSpecialTokens: args.additional_special_tokens ?? [],
    addEosToken: true,
  });

/**
 * Runs the command; resolves to the exit code (0 ok, 1 bad data, 2 bad arguments).
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 *
 * @category sinks
 */
export const main = async (
  argv: ReadonlyArray<string>,
  io: { readonly stdout: Writable; readonly stderr: Writable } = process,
): Promise<number> => {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    await write(io.stdout, `${usage()}\n`);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command !== 'dump') throw new ConfigError('command', `unknown command ${JSON.stringify(command)} (expected dump)`);
    const args = parseArguments(rest);
    const tokenizer = await tokenizerFromArguments(args);
    const options = optionsFromArguments(args, tokenizer);
    const batches = flagEmbeddingBatches(options);
    const steps = args.steps === undefined ? batches : batches.pipe(take(args.steps));
    for await (const batch of steps) await write(io.stdout, `${JSON.stringify(toDumpRecord(batch))}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof TokenizerError) {
      await write(io.stderr, `llm-retriever-data: error: ${e.message.replaceAll('\n', ' ')}\n`);
      return 2;
    }
    if (e instanceof RecordError) {
      await write(io.stderr, `llm-retriever-data: bad data:\n${e.message}\n`);
      return 1;
    }
    throw e;
  }
};

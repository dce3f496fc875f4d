/**
 * The `llm-retriever-data` command.
 *
 * @module
 */
import type { Writable } from 'node:stream';
import { take, tap } from 'ix/asynciterable/operators';
import { ConfigError, RecordError, TokenizerError } from '../core/errors.js';
import type { PaddedBatch, PaddedTensor, ResumeState } from '../core/model.js';
import { readResumeState, ResumeError, writeResumeState } from '../core/resume.js';
import { formatPlanReport, planReport } from '../plan/planReport.js';
import { flagEmbeddingBatches, type FlagEmbeddingOptions } from '../pipelines/flagEmbeddingIcl.js';
import { exportSteps } from '../sinks/exportSteps.js';
import { toArrowStream } from '../sinks/toArrowStream.js';
import { defaultTokenizerDir, loadTokenizer } from '../tokenizers/transformers.js';
import { parseArguments, usage, type ParsedArguments } from './args.js';

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Rank and world size as torchrun sets them (`RANK`, `WORLD_SIZE`; `LOCAL_RANK` is the GPU on this
 * machine and does not change the data), or nothing when they are absent.
 *
 * @example
 * distributedFromEnv(process.env); // { rank: 3, worldSize: 8 } under torchrun --nproc_per_node 8
 *
 * @category constructors
 */
export const distributedFromEnv = (env: Environment): { rank?: number; worldSize?: number } => {
  const rank = envInteger(env, 'RANK');
  const worldSize = envInteger(env, 'WORLD_SIZE');
  if ((rank === undefined) !== (worldSize === undefined)) {
    throw new ConfigError(rank === undefined ? 'RANK' : 'WORLD_SIZE', 'environment variable is missing while the other of RANK / WORLD_SIZE is set');
  }
  return rank === undefined ? {} : { rank, worldSize: worldSize! };
};

const envInteger = (env: Environment, name: string): number | undefined => {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `environment variable must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
};

/**
 * The pipeline options an argument list means, with the reference's defaults; rank and world size
 * from the arguments, else from torchrun's environment, else 0 and 1.
 *
 * @category constructors
 */
export const optionsFromArguments = (
  args: ParsedArguments,
  tokenizer: FlagEmbeddingOptions['tokenizer'],
  env: Environment = {},
): FlagEmbeddingOptions => {
  if (args.train_data === undefined) throw new ConfigError('train_data', 'is required');
  if (args.same_dataset_within_batch === false) {
    throw new ConfigError('same_dataset_within_batch', 'must be true: this library builds same-task batches (the ICL dataset path)');
  }
  if (args.bad_records !== undefined && args.bad_records !== 'fail' && args.bad_records !== 'skip') {
    throw new ConfigError('bad_records', `must be fail or skip, got ${JSON.stringify(args.bad_records)}`);
  }
  // Each from its flag, else from torchrun's variables (both of them, when neither flag is given).
  // Each from its flag, else from torchrun's variables (which must come as a pair when neither flag is given).
  const distributed =
    args.rank === undefined && args.world_size === undefined
      ? distributedFromEnv(env)
      : { rank: envInteger(env, 'RANK'), worldSize: envInteger(env, 'WORLD_SIZE') };
  return {
    trainData: args.train_data,
    tokenizer,
    seed: args.seed ?? '42',
    perDeviceTrainBatchSize: args.per_device_train_batch_size ?? 8,
    worldSize: args.world_size ?? distributed.worldSize ?? 1,
    rank: args.rank ?? distributed.rank ?? 0,
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
    ...(args.index_cache === undefined ? {} : { indexCacheDir: args.index_cache === 'none' ? null : args.index_cache }),
    ...(args.bad_records === undefined ? {} : { badRecords: args.bad_records }),
    ...(args.prefetch === undefined ? {} : { prefetch: args.prefetch }),
    ...(args.workers === undefined ? {} : { workers: args.workers }),
    ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
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

const write = (out: Writable, text: string | Uint8Array): Promise<void> =>
  new Promise((resolve, reject) => {
    if (out.write(text)) resolve();
    else {
      // Both listeners go once either fires: thousands of waits must not pile up listeners.
      const drained = () => (out.off('error', failed), resolve());
      const failed = (e: unknown) => (out.off('drain', drained), reject(e));
      out.once('drain', drained);
      out.once('error', failed);
    }
  });

/** Loads the tokenizer an argument list names, set up as FlagEmbedding's ICL runner does. */
export const tokenizerFromArguments = (args: ParsedArguments) => {
  const backend = args.tokenizer_backend ?? 'js';
  if (backend !== 'js' && backend !== 'native') throw new ConfigError('tokenizer_backend', `must be js or native, got ${JSON.stringify(backend)}`);
  return loadTokenizer(args.tokenizer ?? defaultTokenizerDir(), {
    additionalSpecialTokens: args.additional_special_tokens ?? [],
    addEosToken: true,
    backend,
  });
};

const dump = async (args: ParsedArguments, out: Writable, env: Environment): Promise<void> => {
  const resumeFrom: ResumeState | null = args.resume_from === undefined ? null : await readResumeState(args.resume_from);
  const tokenizer = await tokenizerFromArguments(args);
  const options = optionsFromArguments(args, tokenizer, env);
  // Without --steps: to the end of the epoch the run is in.
  const batches = flagEmbeddingBatches({ ...options, resumeFrom, ...(args.steps === undefined ? { epochs: (resumeFrom?.epoch ?? 0) + 1 } : {}) });
  const format = args.format ?? 'json';
  if (format !== 'json' && format !== 'arrow') throw new ConfigError('format', `must be json or arrow, got ${JSON.stringify(format)}`);
  let last: ResumeState | null = resumeFrom;
  const steps = (args.steps === undefined ? batches : batches.pipe(take(args.steps))).pipe(tap((batch) => void (last = batch.resume)));
  if (format === 'arrow') {
    for await (const bytes of steps.pipe(toArrowStream({ subBatchSize: options.subBatchSize ?? null, withText: args.with_text ?? false }))) await write(out, bytes);
  } else {
    for await (const batch of steps) await write(out, `${JSON.stringify(toDumpRecord(batch))}\n`);
  }
  if (args.state_out !== undefined) {
    if (last === null) throw new ConfigError('state_out', 'no step was printed, so there is no state to save (give --steps ≥ 1)');
    await writeResumeState(args.state_out, last);
  }
};

const exportCommand = async (args: ParsedArguments, io: { readonly stdout: Writable; readonly stderr: Writable }, env: Environment): Promise<void> => {
  if (args.out === undefined) throw new ConfigError('out', 'is required (the folder to export to)');
  if (args.steps !== undefined && args.epochs !== undefined) throw new ConfigError('epochs', 'give --steps or --epochs, not both');
  if (args.epochs !== undefined && args.epochs < 1) throw new ConfigError('epochs', `must be at least 1, got ${args.epochs}`);
  const resumeFrom: ResumeState | null = args.resume_from === undefined ? null : await readResumeState(args.resume_from);
  const tokenizer = await tokenizerFromArguments(args);
  const options = optionsFromArguments(args, tokenizer, env);
  const worldSize = options.worldSize ?? 1;
  let steps = args.steps;
  if (steps === undefined) {
    // Whole epochs from the start (or resume) epoch: the plan says how many steps an epoch has.
    const { stepsPerEpoch } = await planReport(options.trainData, options);
    steps = ((resumeFrom?.epoch ?? 0) + (args.epochs ?? 1)) * stepsPerEpoch - (resumeFrom?.globalStep ?? 0);
  }
  const summary = await exportSteps({
    out: args.out,
    ranks: args.all_ranks === true ? Array.from({ length: worldSize }, (_, r) => r) : [options.rank ?? 0],
    worldSize,
    steps,
    ...(args.steps_per_shard === undefined ? {} : { stepsPerShard: args.steps_per_shard }),
    resumeFrom,
    subBatchSize: options.subBatchSize ?? null,
    withText: args.with_text ?? false,
    batches: (rank, from) => flagEmbeddingBatches({ ...options, rank, resumeFrom: from }),
    onShard: (e) => void io.stderr.write(`llm-retriever-data: rank ${e.rank}: ${e.file} ${e.status} (${e.rows} steps)\n`),
  });
  await write(io.stdout, `${JSON.stringify(summary)}\n`);
};

const plan = async (args: ParsedArguments, out: Writable, env: Environment): Promise<void> => {
  // The plan needs no tokenizer: a placeholder that fails loudly if anything asks it for ids.
  const options = optionsFromArguments(args, undefined as unknown as FlagEmbeddingOptions['tokenizer'], env);
  const report = await planReport(options.trainData, options);
  await write(out, args.json ? `${JSON.stringify(report)}\n` : `${formatPlanReport(report)}\n`);
};

/**
 * Runs the command; resolves to the exit code (0 ok, 1 bad data or resume state, 2 bad arguments).
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 *
 * @category sinks
 */
export const main = async (
  argv: ReadonlyArray<string>,
  io: { readonly stdout: Writable; readonly stderr: Writable; readonly env?: Environment } = process,
): Promise<number> => {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    await write(io.stdout, `${usage()}\n`);
    return command === undefined ? 2 : 0;
  }
  const env = io.env ?? {};
  try {
    if (command !== 'dump' && command !== 'plan' && command !== 'export') throw new ConfigError('command', `unknown command ${JSON.stringify(command)} (expected dump, plan or export)`);
    const args = parseArguments(rest);
    if (command === 'dump') await dump(args, io.stdout, env);
    else if (command === 'export') await exportCommand(args, io, env);
    else await plan(args, io.stdout, env);
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
    if (e instanceof ResumeError) {
      await write(io.stderr, `llm-retriever-data: cannot resume: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
};

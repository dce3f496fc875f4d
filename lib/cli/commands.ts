/**
 * What each command does, given its parsed arguments: the runners of the commands of args.ts, and
 * the translation of arguments into the pipeline's options.
 *
 * @module
 */
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { AsyncIterableX } from 'ix/asynciterable';
import { take, tap } from 'ix/asynciterable/operators';
import { atomicWriteFile, openAtomic } from '../core/atomicFile.js';
import { asFileError, ConfigError } from '../core/errors.js';
import type { PaddedBatch, ResumeState, ResumeStateV1 } from '../core/model.js';
import type { ProgressSink } from '../core/progress.js';
import { teeReport, type ReportSink } from '../core/report.js';
import { readResumeState, writeResumeState } from '../core/resume.js';
import { formatPlanReport, planReport } from '../pipelines/planReport.js';
import { flagEmbeddingBatches, type FlagEmbeddingOptions } from '../pipelines/flagEmbeddingIcl.js';
import { RESEARCH_DEFAULTS, researchBatches, type ResearchOptions } from '../pipelines/research.js';
import { researchPlanReport } from '../pipelines/researchPlanReport.js';
import { toDumpRecord, toResearchDumpRecord } from '../sinks/dumpRecord.js';
import type { StepTableOptions } from '../sinks/stepTable.js';
import { listTaskFiles } from '../sources/taskFiles.js';
import type { IndexOptions } from '../sources/taskIndex.js';
import { defaultTokenizerDir, loadTokenizer } from '../tokenizers/transformers.js';
import { ARGUMENTS, type ArgumentName, type CommandName, type Flavor, type OptionSpec, type ParsedArguments } from './args.js';
import type { HeapGrowth } from './heapGrowth.js';
import type { Output } from './output.js';

// Loaded by the commands that use them: apache-arrow alone costs about 0.2 s of start-up, and the
// stats modules 0.15 s, which every dump (the default, JSON) would pay otherwise.
const arrowStream = () => import('../sinks/toArrowStream.js');
const exporter = () => import('../sinks/exportSteps.js');
const statsModules = () => Promise.all([import('../stats/dataStats.js'), import('../stats/formatStats.js'), import('../stats/statsHtml.js')]);

/** The environment a command sees (torchrun's `RANK` and `WORLD_SIZE`). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Everything a command runs with. */
export interface RunContext {
  /** The arguments: flags over the `--config` file. */
  readonly args: ParsedArguments;
  readonly env: Environment;
  /** Where the command's output goes (stdout); wait on each write. */
  readonly stdout: Output;
  /** Receives every skip and drop; the summary line and `--report` are made from it. Pass it to the pipeline. */
  readonly report: ReportSink;
  /** Where long work shows progress (stderr), or null when progress is off. */
  readonly progress: ProgressSink | null;
  /**
   * Where work that would otherwise look like a hang says what it waits for (a lock held by another
   * process, the replay of a far resume): the progress sink when progress is on, else plain lines
   * on stderr. Always there.
   */
  readonly notices: ProgressSink;
  /** Asks for V8's heap growth of a kind (heapGrowth.ts); does nothing where the command runs in-process (specs, the library's users). */
  readonly heapGrowth: (growth: HeapGrowth) => void;
}

/**
 * A command: does its work, writes its output to `stdout`, and resolves to a few words on what it
 * did for the summary line (`"25 steps printed"`). Throws the library's typed errors for bad input.
 */
export type Runner = (context: RunContext) => Promise<string>;

const envInteger = (env: Environment, name: 'RANK' | 'WORLD_SIZE'): number | undefined => {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new ConfigError(name, `environment variable must be a non-negative integer, got ${JSON.stringify(raw)}`);
  if (name === 'WORLD_SIZE' && n === 0) throw new ConfigError(name, 'environment variable must be at least 1, got "0"');
  return n;
};

/**
 * Rank and world size as torchrun sets them (`RANK`, `WORLD_SIZE`; `LOCAL_RANK` is the GPU on this
 * machine and does not change the data), or nothing when they are absent. Errors name the variable.
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
  if (rank !== undefined && rank >= worldSize!) throw new ConfigError('RANK', `environment variable must be below WORLD_SIZE (${worldSize}), got ${rank}`);
  return rank === undefined ? {} : { rank, worldSize: worldSize! };
};

/**
 * Rank and world size: each from its option; when neither is given, both from torchrun's variables
 * (which must come as a pair); when only one is given, the other from its variable if set. A
 * variable is never read for an option that is given, so a stray or broken one cannot override it.
 */
const distributed = (args: ParsedArguments, env: Environment): { rank?: number; worldSize?: number } => {
  if (args.rank === undefined && args.world_size === undefined) return distributedFromEnv(env);
  return {
    rank: args.rank ?? envInteger(env, 'RANK'),
    worldSize: args.world_size ?? envInteger(env, 'WORLD_SIZE'),
  };
};

/**
 * The pipeline options an argument list means, with the reference's defaults; rank and world size
 * from the arguments, else from torchrun's environment, else 0 and 1.
 *
 * @category constructors
 */
export const optionsFromArguments = (args: ParsedArguments, tokenizer: FlagEmbeddingOptions['tokenizer'], env: Environment = {}): FlagEmbeddingOptions => {
  checkFlavorArguments(args);
  if (args.train_data === undefined) throw new ConfigError('train_data', 'is required');
  if (args.same_dataset_within_batch === false) {
    throw new ConfigError('same_dataset_within_batch', 'must be true: this library builds same-task batches (the ICL dataset path)');
  }
  const { rank, worldSize } = distributed(args, env);
  return {
    trainData: args.train_data,
    tokenizer,
    seed: args.seed ?? '42',
    perDeviceTrainBatchSize: args.per_device_train_batch_size ?? 8,
    worldSize: worldSize ?? 1,
    rank: rank ?? 0,
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
    ...(args.index_check === undefined ? {} : { changeDetection: args.index_check }),
    ...(args.bad_records === undefined ? {} : { badRecords: args.bad_records }),
    ...(args.prefetch === undefined ? {} : { prefetch: args.prefetch }),
    ...(args.workers === undefined ? {} : { workers: args.workers }),
    ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
    ...(args.false_negative_scope === undefined ? {} : { falseNegativeScope: args.false_negative_scope }),
  };
};

/** The flavor an argument list asks for (`--flavor`, default `icl`). */
export const flavorOf = (args: ParsedArguments): Flavor => args.flavor ?? 'icl';

/** Refuses an option the chosen flavor does not read (the table's `flavors`), rather than ignore it. */
const checkFlavorArguments = (args: ParsedArguments): void => {
  const flavor = flavorOf(args);
  for (const name of Object.keys(args) as ArgumentName[]) {
    const flavors = (ARGUMENTS[name] as OptionSpec).flavors;
    if (flavors !== undefined && !flavors.includes(flavor)) {
      throw new ConfigError(
        name,
        flavor === 'research'
          ? "is an argument of the icl flavor (FlagEmbedding 1.4's ICL dataset), which --flavor research does not read"
          : 'is an argument of the research flavor: give --flavor research',
      );
    }
  }
};

/**
 * The research flavor's options an argument list means, with the research module's defaults
 * (`use_special_tokens` true, `pad_to_multiple_of` 8 as its run.py passes); rank and world size as
 * for the icl flavor.
 *
 * @category constructors
 */
export const researchOptionsFromArguments = (args: ParsedArguments, tokenizer: ResearchOptions['tokenizer'], env: Environment = {}): ResearchOptions => {
  checkFlavorArguments(args);
  if (args.train_data === undefined && args.load_from_disk !== true) throw new ConfigError('train_data', 'is required (or load_from_disk with load_disk_path)');
  const { rank, worldSize } = distributed(args, env);
  return {
    flavor: 'research',
    ...(args.train_data === undefined ? {} : { trainData: args.train_data }),
    tokenizer,
    seed: args.seed ?? '42',
    perDeviceTrainBatchSize: args.per_device_train_batch_size ?? 8,
    worldSize: worldSize ?? 1,
    rank: rank ?? 0,
    useSpecialTokens: args.use_special_tokens ?? RESEARCH_DEFAULTS.useSpecialTokens,
    trainGroupSize: args.train_group_size ?? RESEARCH_DEFAULTS.trainGroupSize,
    symmetricTrainGroupSize: args.symmetric_train_group_size ?? RESEARCH_DEFAULTS.symmetricTrainGroupSize,
    maxClassNeg: args.max_class_neg ?? RESEARCH_DEFAULTS.maxClassNeg,
    symmetricBatchSize: args.symmetric_batch_size ?? RESEARCH_DEFAULTS.symmetricBatchSize,
    queryMaxLen: args.query_max_len ?? RESEARCH_DEFAULTS.queryMaxLen,
    passageMaxLen: args.passage_max_len ?? RESEARCH_DEFAULTS.passageMaxLen,
    exampleQueryMaxLen: args.example_query_max_len ?? RESEARCH_DEFAULTS.exampleQueryMaxLen,
    examplePassageMaxLen: args.example_passage_max_len ?? RESEARCH_DEFAULTS.examplePassageMaxLen,
    retrievalUseExamples: args.retrieval_use_examples ?? RESEARCH_DEFAULTS.retrievalUseExamples,
    padToMultipleOf: args.pad_to_multiple_of ?? RESEARCH_DEFAULTS.padToMultipleOf,
    subBatchSize: args.sub_batch_size ?? RESEARCH_DEFAULTS.subBatchSize,
    loadFromDisk: args.load_from_disk ?? RESEARCH_DEFAULTS.loadFromDisk,
    loadDiskPath: args.load_disk_path ?? null,
    saveToDisk: args.save_to_disk ?? false,
    saveDiskPath: args.save_disk_path ?? null,
    numShards: args.num_shards ?? 0,
    saveMaxShardSize: args.save_max_shard_size ?? '50GB',
    exitAfterSave: args.exit_after_save ?? false,
    ...(args.false_negative_scope === undefined ? {} : { falseNegativeScope: args.false_negative_scope }),
    ...(args.prefetch === undefined ? {} : { prefetch: args.prefetch }),
    ...(args.workers === undefined ? {} : { workers: args.workers }),
    ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
  };
};

/**
 * Loads the tokenizer an argument list names, set up as the flavor's runner does: FlagEmbedding's
 * ICL runner adds `additional_special_tokens`; the research module's run.py adds `<instruct>`,
 * `<query>` and `<response>` when `use_special_tokens` is on.
 */
export const tokenizerFromArguments = (args: ParsedArguments) =>
  loadTokenizer(args.tokenizer ?? defaultTokenizerDir(), {
    additionalSpecialTokens:
      flavorOf(args) === 'research' ? (args.use_special_tokens ?? true ? ['<instruct>', '<query>', '<response>'] : []) : (args.additional_special_tokens ?? []),
    addEosToken: true,
    backend: args.tokenizer_backend ?? 'js',
  });

/**
 * Progress of the index pass (one read of every changed task file), shown by bytes of the files
 * indexed so far (the pipeline's `fileIndexed` events) and of the file being read (`onRead`): pass
 * `report` and `onRead` to the pipeline, and call `end` when the first result arrives (files read
 * from the cache pass in a moment).
 */
const indexingProgress = async (
  trainData: ReadonlyArray<string>,
  progress: ProgressSink | null,
): Promise<{ readonly report: ReportSink; readonly onRead: NonNullable<IndexOptions['onRead']>; readonly end: () => void }> => {
  if (progress === null) return { report: { add: () => undefined }, onRead: () => undefined, end: () => undefined };
  const files = await listTaskFiles(trainData); // no report here: the pipeline reports what it skips
  const sizes = new Map(await Promise.all(files.map(async ({ file }) => [file, await stat(file).then((s) => s.size, () => 0)] as const)));
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const task = progress.start('indexing task files', { total, unit: 'bytes' });
  const current = (i: number) => `${i} of ${files.length} files${i < files.length ? `, now ${basename(files[i]!.file)}` : ''}`;
  task.update(0, current(0));
  let indexed = 0;
  let done = 0;
  return {
    report: {
      add: (event) => {
        if (event.kind !== 'fileIndexed') return;
        indexed += 1;
        done += sizes.get(event.file) ?? 0;
        task.update(done, current(indexed));
        if (indexed >= files.length) task.end();
      },
    },
    // Within a big file: the bytes of it read so far.
    onRead: (file, bytesRead) => task.update(done + Math.min(bytesRead, sizes.get(file) ?? 0), current(indexed)),
    end: task.end,
  };
};

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * Fails now, with an argument error, if `path` cannot be written at the end of the run (a folder,
 * a missing or read-only folder): better than after every step was printed. Tries the way the file
 * will be written: a temporary file created next to it, removed at once.
 */
const checkWritable = async (option: string, path: string): Promise<void> => {
  const info = await stat(path).catch(() => null);
  if (info?.isDirectory()) throw new ConfigError(option, `${path} is a folder; give the name of a file to write`);
  const probe = await openAtomic(path).catch((e: NodeJS.ErrnoException) => {
    const why = e.code === 'ENOENT' ? `its folder ${dirname(path)} does not exist` : e.code === 'EACCES' ? `its folder ${dirname(path)} is not writable` : e.message;
    throw new ConfigError(option, `cannot write ${path}: ${why}`);
  });
  await probe.abort();
};

const dump: Runner = async (context) => {
  if (context.args.state_out !== undefined) await checkWritable('state_out', context.args.state_out);
  if (flavorOf(context.args) === 'research') return researchDump(context);
  const { args, env, report, progress, notices } = context;
  const resumeFrom: ResumeState | ResumeStateV1 | null = args.resume_from === undefined ? null : await readResumeState(args.resume_from);
  const tokenizer = await tokenizerFromArguments(args);
  const options = optionsFromArguments(args, tokenizer, env);
  const indexing = await indexingProgress(options.trainData, progress);
  // Without --steps: to the end of the epoch the run is in.
  const batches = flagEmbeddingBatches({
    ...options,
    progress: notices,
    report: teeReport(report, indexing.report),
    onRead: indexing.onRead,
    resumeFrom,
    ...(args.steps === undefined ? { epochs: (resumeFrom?.epoch ?? 0) + 1 } : {}),
  });
  const printed = await printSteps(context, batches.pipe(tap(() => indexing.end())), toDumpRecord, stepTableOf(options, 'icl')).finally(indexing.end);
  await saveState(args, printed.last ?? resumeFrom, 'printed');
  return `${plural(printed.count, 'step')} printed`;
};

/** `dump --flavor research`: the research oracle's fields, `messages` included. */
const researchDump: Runner = async (context) => {
  const { args, env, report } = context;
  const resumeFrom: ResumeState | ResumeStateV1 | null = args.resume_from === undefined ? null : await readResumeState(args.resume_from);
  // Checked before the tokenizer loads: a misplaced flag fails at once.
  researchOptionsFromArguments(args, undefined as unknown as ResearchOptions['tokenizer'], env);
  const options = researchOptionsFromArguments(args, await tokenizerFromArguments(args), env);
  const batches = researchBatches({ ...options, report, resumeFrom, ...(args.steps === undefined ? { epochs: (resumeFrom?.epoch ?? 0) + 1 } : {}) });
  const printed = await printSteps(context, batches, toResearchDumpRecord, stepTableOf(options, 'research'));
  await saveState(args, printed.last ?? resumeFrom, 'printed');
  return options.saveToDisk && options.exitAfterSave ? `saved to ${options.saveDiskPath}, no steps (exit_after_save)` : `${plural(printed.count, 'step')} printed`;
};

/** The step table of a run's options (`--format arrow`, `export`): its layout, mask and flavor; texts are the command's `--with_text`. */
const stepTableOf = (options: Pick<FlagEmbeddingOptions, 'subBatchSize' | 'falseNegativeScope'>, flavor: Flavor): StepTableOptions => ({
  subBatchSize: options.subBatchSize ?? null,
  falseNegativeMask: (options.falseNegativeScope ?? 'none') !== 'none',
  flavor,
});

/**
 * Writes a run's steps (the first `--steps` of them) to stdout: one JSON line each (`toJson`, the
 * flavor's oracle fields), or with `--format arrow` the Arrow stream of the step table. Returns how
 * many were printed and the resume state after the last.
 */
const printSteps = async (
  { args, stdout, heapGrowth }: RunContext,
  batches: AsyncIterableX<PaddedBatch>,
  toJson: (batch: PaddedBatch) => unknown,
  table: StepTableOptions,
): Promise<{ count: number; last: ResumeState | ResumeStateV1 | null }> => {
  let count = 0;
  let last: ResumeState | ResumeStateV1 | null = null;
  const steps = (args.steps === undefined ? batches : batches.pipe(take(args.steps))).pipe(
    tap((batch) => {
      count += 1;
      last = batch.resume;
    }),
  );
  // A failed write (the reader went away) leaves the loop, which closes the pipeline (its return():
  // worker threads terminated, files closed).
  if (args.format === 'arrow') {
    heapGrowth('roomy');
    const { toArrowStream } = await arrowStream();
    for await (const bytes of steps.pipe(toArrowStream({ ...table, withText: args.with_text ?? false }))) await stdout.write(bytes);
  } else {
    for await (const batch of steps) await stdout.write(`${JSON.stringify(toJson(batch))}\n`);
  }
  return { count, last };
};

/** `--state_out`: the resume state after the last step printed (or exported). */
const saveState = async (args: ParsedArguments, last: ResumeState | ResumeStateV1 | null, done: 'printed' | 'exported'): Promise<void> => {
  if (args.state_out === undefined) return;
  if (last === null) throw new ConfigError('state_out', `no step was ${done}, so there is no state to save (give --steps ≥ 1)`);
  await writeResumeState(args.state_out, last).catch((e: unknown) => Promise.reject(asFileError(args.state_out!, e, 'write')));
};

const plan: Runner = async (context) => {
  const { args, env, stdout, report } = context;
  if (flavorOf(args) === 'research') {
    const options = researchOptionsFromArguments(args, undefined as unknown as ResearchOptions['tokenizer'], env);
    const result = await researchPlanReport({ ...options, report });
    for (const task of result.tasks) if (task.droppedPerEpoch > 0) report.add({ kind: 'tailDropped', epoch: 0, task: task.name, records: task.droppedPerEpoch });
    await stdout.write(args.json === true ? `${JSON.stringify(result)}\n` : `${formatPlanReport(result)}\n`);
    return `${plural(result.tasks.length, 'task')}, ${plural(result.stepsPerEpoch, 'step')} per epoch`;
  }
  return iclPlan(context);
};

const iclPlan: Runner = async ({ args, env, stdout, report, progress, notices }) => {
  // The plan needs no tokenizer: a placeholder that fails loudly if anything asks it for ids.
  const options = optionsFromArguments(args, undefined as unknown as FlagEmbeddingOptions['tokenizer'], env);
  const indexing = await indexingProgress(options.trainData, progress);
  const result = await planReport(options.trainData, {
    ...options,
    progress: notices,
    report: teeReport(report, indexing.report),
    onRead: indexing.onRead,
  }).finally(indexing.end);
  // The plan's incomplete last batches, as dump reports them when it plans an epoch (the same every epoch).
  for (const task of result.tasks) if (task.droppedPerEpoch > 0) report.add({ kind: 'tailDropped', epoch: 0, task: task.name, records: task.droppedPerEpoch });
  await stdout.write(args.json === true ? `${JSON.stringify(result)}\n` : `${formatPlanReport(result)}\n`);
  return `${plural(result.tasks.length, 'task')}, ${plural(result.stepsPerEpoch, 'step')} per epoch`;
};

const stats: Runner = async ({ args, env, stdout, report, progress, notices }) => {
  if (args.html !== undefined) await checkWritable('html', args.html);
  if (flavorOf(args) === 'research') {
    throw new ConfigError('flavor', "stats measures the icl flavor's stages; for the research flavor, plan --flavor research prints its tasks, batch and group sizes and steps");
  }
  const tokenizer = await tokenizerFromArguments(args);
  const options = optionsFromArguments(args, tokenizer, env);
  const indexing = await indexingProgress(options.trainData, progress);
  const [{ dataStats }, { formatStats }, { statsHtml }] = await statsModules();
  const result = await dataStats({
    ...options,
    progress: notices,
    report: teeReport(report, indexing.report),
    onRead: indexing.onRead,
    ...(args.steps === undefined ? {} : { steps: args.steps }),
    ...(args.token_budget === undefined ? {} : { tokenBudget: args.token_budget }),
  }).finally(indexing.end);
  if (args.html !== undefined) await atomicWriteFile(args.html, statsHtml(result)).catch((e: unknown) => Promise.reject(asFileError(args.html!, e, 'write')));
  await stdout.write(args.json === true ? `${JSON.stringify(result)}\n` : `${formatStats(result)}\n`);
  return `${plural(result.steps, 'step')} read, ${plural(result.tasks.length, 'task')}${args.html === undefined ? '' : `, ${args.html} written`}`;
};

const exportRun: Runner = async ({ args, env, stdout, report, progress, notices }) => {
  if (args.state_out !== undefined) await checkWritable('state_out', args.state_out);
  if (args.out === undefined) throw new ConfigError('out', 'is required (the folder to write)');
  if (args.steps !== undefined && args.epochs !== undefined) throw new ConfigError('epochs', 'give --steps or --epochs, not both');
  const resumeFrom: ResumeState | ResumeStateV1 | null = args.resume_from === undefined ? null : await readResumeState(args.resume_from);
  // With --epochs, the batches stop at the last epoch's end: reading ahead into the next would report its drops too.
  const epochs = args.steps === undefined ? (resumeFrom?.epoch ?? 0) + (args.epochs ?? 1) : undefined;
  const run = await exportedRun(args, env, { progress: notices, report, ...(epochs === undefined ? {} : { epochs }) });
  let steps = args.steps;
  if (steps === undefined) {
    // Whole epochs from the epoch the run is in (default: its rest), counted by the plan (an epoch's steps never change).
    steps = ((resumeFrom?.epoch ?? 0) + (args.epochs ?? 1)) * (await run.stepsPerEpoch()) - (resumeFrom?.globalStep ?? 0);
  }
  const ranks = args.all_ranks === true ? Array.from({ length: run.worldSize }, (_, r) => r) : [run.rank];
  const task = progress?.start(`exporting to ${args.out}`, { total: steps * ranks.length, unit: 'steps' });
  let done = 0;
  try {
    const { exportSteps } = await exporter();
    const summary = await exportSteps({
      out: args.out,
      ranks,
      worldSize: run.worldSize,
      steps,
      ...(args.steps_per_shard === undefined ? {} : { stepsPerShard: args.steps_per_shard }),
      resumeFrom,
      ...run.table,
      withText: args.with_text ?? false,
      batches: run.batches,
      onShard: (e) => task?.update((done += e.rows), `rank ${e.rank}, ${e.file} ${e.status}`),
    });
    task?.end();
    // The state after the last step is the same on every rank.
    await saveState(args, summary.ranks[0]?.resume ?? resumeFrom, 'exported');
    await stdout.write(`${JSON.stringify(summary)}\n`);
    const written = summary.ranks.reduce((n, r) => n + r.written, 0);
    const kept = summary.ranks.reduce((n, r) => n + r.kept, 0);
    return `${plural(steps, 'step')} of ${plural(ranks.length, 'rank')} in ${args.out} (${plural(written, 'shard')} written${kept > 0 ? `, ${kept} kept from an earlier run` : ''})`;
  } finally {
    task?.end();
  }
};

/** What `export` needs of a run, whichever its flavor: its ranks, its table, its epoch's steps, and each rank's batches. */
interface ExportedRun {
  readonly worldSize: number;
  readonly rank: number;
  readonly table: StepTableOptions;
  readonly stepsPerEpoch: () => Promise<number>;
  readonly batches: (rank: number, resumeFrom: ResumeState | ResumeStateV1 | null) => AsyncIterable<PaddedBatch>;
}

const exportedRun = async (
  args: ParsedArguments,
  env: Environment,
  sinks: { readonly progress: ProgressSink; readonly report: ReportSink; readonly epochs?: number },
): Promise<ExportedRun> => {
  const { progress, report, ...bound } = sinks;
  if (flavorOf(args) === 'research') {
    // Checked before the tokenizer loads, as dump does.
    researchOptionsFromArguments(args, undefined as unknown as ResearchOptions['tokenizer'], env);
    const options = researchOptionsFromArguments(args, await tokenizerFromArguments(args), env);
    if (options.saveToDisk && options.exitAfterSave) {
      throw new ConfigError('exit_after_save', 'with save_to_disk the run stops before its first step, so there is nothing to export: save with dump, then export without it');
    }
    return {
      worldSize: options.worldSize ?? 1,
      rank: options.rank ?? 0,
      table: stepTableOf(options, 'research'),
      stepsPerEpoch: async () => (await researchPlanReport(options)).stepsPerEpoch,
      batches: (rank, from) => researchBatches({ ...options, ...bound, report, rank, resumeFrom: from }),
    };
  }
  const options = optionsFromArguments(args, await tokenizerFromArguments(args), env);
  return {
    worldSize: options.worldSize ?? 1,
    rank: options.rank ?? 0,
    table: stepTableOf(options, 'icl'),
    stepsPerEpoch: async () => (await planReport(options.trainData, options)).stepsPerEpoch,
    batches: (rank, from) => flagEmbeddingBatches({ ...options, ...bound, progress, report, rank, resumeFrom: from }),
  };
};

/** The runner of every command of args.ts's `COMMANDS` (the type requires one for each). */
export const RUNNERS: { readonly [C in CommandName]: Runner } = { dump, plan, stats, export: exportRun };

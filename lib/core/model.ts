/**
 * The values that flow between stages, in pipeline order: a located {@link Example}, a {@link Task},
 * a {@link GlobalBatch}, a rank's {@link LocalBatch}, then the batch as it gains sampled groups,
 * texts, ids and padding.
 *
 * @module
 */
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';

/**
 * One training record, as FlagEmbedding reads it from a task file. Field names are camelCase
 * versions of the JSON keys (`pos_scores` → `posScores`, `train_group_size` → `trainGroupSize`).
 *
 * @category models
 */
export interface Example {
  readonly query: string;
  readonly pos: ReadonlyNonEmptyArray<string>;
  readonly neg: ReadonlyArray<string>;
  /**
   * Teacher scores, one per `pos` entry; only read when knowledge distillation is on (ICL flavor).
   * Null entries occur only in research-flavor rows (Arrow lists hold nulls; the module skips them).
   */
  readonly posScores?: ReadonlyArray<number | null>;
  /** Teacher scores, one per `neg` entry (see `posScores`). */
  readonly negScores?: ReadonlyArray<number | null>;
  /** The task instruction for this record; overrides `query_instruction_for_retrieval`. */
  readonly prompt?: string;
  /** `normal`, `only_1neg`, `symmetric_sts`, `symmetric_class`, `symmetric_clustering`, or any other label. */
  readonly type?: string;
  /** The cluster label; the ICL example's answer for `symmetric_clustering`. */
  readonly category?: string;
  /** A per-record group size, honoured only when no task file has a `type` field. */
  readonly trainGroupSize?: number;
  /** A per-file batch size, read from a file's first record. */
  readonly batchSize?: number;
}

/**
 * Where a value came from: the file, the 1-based line its record starts on, and the record's
 * position in the file (0-based, before any subsampling).
 *
 * @category models
 */
export interface Provenance {
  readonly file: string;
  readonly line: number;
  readonly record: number;
}

/**
 * A value with its provenance.
 *
 * @category models
 */
export interface Located<A> extends Provenance {
  readonly value: A;
}

/**
 * How a task file was named in `train_data`: directly, or as a file inside a folder (which decides
 * small-file merging and where the `no_in_batch_neg` suffix is read from).
 *
 * @category models
 */
export interface TaskFileOrigin {
  /** The `train_data` entry, exactly as given. */
  readonly entry: string;
  /** Position of the entry in `train_data`. */
  readonly entryIndex: number;
  /** True when the entry is a folder and the file was listed from it. */
  readonly inFolder: boolean;
}

/**
 * What the reference's decisions need to know of one record without reading it: its place, and the
 * counts its random draws depend on. A task file's index holds one per record.
 *
 * @category models
 */
export interface RecordMeta {
  readonly file: string;
  readonly line: number;
  /** Position in its file (0-based, before subsampling). */
  readonly record: number;
  /** Code-point length of each positive (Python's `len`; the chunk shuffle only touches texts over 100). */
  readonly positiveLengths: ReadonlyArray<number>;
  readonly negatives: number;
  readonly trainGroupSize: number | undefined;
  readonly batchSize: number | undefined;
  /** The record's `type`, when the store knows it without reading the record (research-flavor stores). */
  readonly type?: string;
}

/**
 * A task's (or file's) records by position: metadata at once, texts on demand. Backed by memory
 * (`memoryStore`) or by a task file and its index (`indexTaskFile`), so that batches read only
 * their own records.
 *
 * @category models
 */
export interface RecordStore {
  readonly size: number;
  /** The record's metadata, without reading it. */
  meta(position: number): RecordMeta;
  /** The records at `positions`, in that order. */
  read(positions: ReadonlyArray<number>): Promise<ReadonlyArray<Located<Example>>>;
}

/**
 * What is true of a whole task file: the optional fields it has, its records' common type and
 * whether they carry teacher scores (both checked to be uniform), and whether any sets `batch_size`.
 *
 * @category models
 */
export interface FileSummary {
  readonly records: number;
  readonly columns: DatasetColumns;
  readonly type: string | undefined;
  readonly scored: boolean;
  readonly anyBatchSize: boolean;
  /** The line of the first record without a `prompt`, or null when every record has one. */
  readonly firstWithoutPrompt: number | null;
  /** The line of the first record whose `neg` is empty, or null. */
  readonly firstWithoutNegatives: number | null;
  /** The largest `train_group_size` a record sets (0 when none sets one). */
  readonly maxTrainGroupSize: number;
}

/**
 * One task file, decoded (or indexed), with what the reference reads off it.
 *
 * @category models
 */
export interface TaskFile {
  readonly file: string;
  readonly origin: TaskFileOrigin;
  readonly summary: FileSummary;
  readonly store: RecordStore;
  /** Identifies the file's content (size and content hashes, or a hash of in-memory records). */
  readonly fingerprint: string;
}

/**
 * Which optional fields exist anywhere in the loaded data. FlagEmbedding concatenates every task
 * into one Arrow table, so a field present in any file is a column of every record (null where
 * absent), and several decisions depend on the column, not on the record.
 *
 * @category models
 */
export interface DatasetColumns {
  readonly prompt: boolean;
  readonly type: boolean;
  readonly category: boolean;
  readonly trainGroupSize: boolean;
  readonly posScores: boolean;
  readonly negScores: boolean;
}

/**
 * One task: the unit batches are drawn from. A file, or a folder's small files merged.
 *
 * @category models
 */
export interface Task {
  /** Position in load order (the reference's task index). */
  readonly index: number;
  /** The file, or `<folder> (merged small files)`. */
  readonly name: string;
  readonly files: ReadonlyArray<string>;
  /** Global index of the first record in the reference's concatenation of all tasks. */
  readonly offset: number;
  /**
   * The global index of each record, when they are not `offset + position` (a research-flavor
   * `load_from_disk` whose `.log` lists other indices). Absent: `offset + position`.
   */
  readonly globalIndices?: ReadonlyArray<number>;
  /**
   * Per-device batch size, as the options give it. After an elastic resume (another world size) a
   * rank's slice is the resumed plan's global batch size divided by the new world size instead.
   */
  readonly batchSize: number;
  readonly noInBatchNeg: boolean;
  /** The records' common `type`, if they have one. */
  readonly type: string | undefined;
  readonly columns: DatasetColumns;
  /** The records, after subsampling, in the reference's order. */
  readonly store: RecordStore;
  /** Identifies the task's data (its files' fingerprints). */
  readonly fingerprint: string;
  /**
   * What the checks before the first batch need of the task's records, from its files' summaries
   * (`checkTasks`). Absent on tasks built by hand: those checks then read the records' metadata,
   * and prompts are checked only when a batch is formatted.
   */
  readonly traits?: TaskTraits;
}

/**
 * A few facts about a task's records, gathered while its files were indexed.
 *
 * @category models
 */
export interface TaskTraits {
  /** The first record without a `prompt` (file and line), or null. */
  readonly withoutPrompt: { readonly file: string; readonly line: number } | null;
  /** Whether some record has an empty `neg`. */
  readonly anyWithoutNegatives: boolean;
  /** The largest `train_group_size` a record sets (0 when none sets one). */
  readonly largestTrainGroupSize: number;
}

/**
 * Position of a batch in the run.
 *
 * @category models
 */
export interface StepPosition {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based step within the epoch. */
  readonly step: number;
  /** 0-based step since the start of the run. */
  readonly globalStep: number;
}

/**
 * How a run's plan cuts global batches: the world size and per-device batch size it was made with,
 * and each task's global batch size. A resume state carries it unchanged, also through elastic
 * resumes (another world size with the same global batch size), so that the plan, and with it every
 * global batch, stays the original run's.
 *
 * @category models
 */
export interface ResumePlan {
  /** The world size the plan was made with (the reference's per-rank random streams follow it). */
  readonly worldSize: number;
  /** `per_device_train_batch_size` of the run that made the plan (null when the stages were not told). */
  readonly perDeviceTrainBatchSize: number | null;
  /** Each task's global batch size (records per step, all ranks together), in task order. */
  readonly globalBatchSizes: ReadonlyArray<number>;
}

/**
 * Where a run can continue from: the number of steps done, with fingerprints of the data, the
 * configuration and the tokenizer that produced them, and the plan's geometry. Small, plain,
 * serializable.
 *
 * @category models
 */
export interface ResumeState {
  readonly version: 2;
  /** Steps already done; the next batch is step `globalStep` (0-based). */
  readonly globalStep: number;
  /** Epoch and step within it of that next batch (for people; `globalStep` is what counts). */
  readonly epoch: number;
  readonly step: number;
  /**
   * Fingerprints: `data` (task files' contents, how they group into tasks, not batch sizes),
   * `config` (the options that shape the output, not the rank, world size or per-device batch size:
   * those are `plan`'s) and `tokenizer`.
   */
  readonly fingerprint: { readonly data: string; readonly config: string; readonly tokenizer: string };
  readonly plan: ResumePlan;
}

/**
 * A resume state written before elastic resume existed (version 1): its configuration fingerprint
 * includes the world size and per-device batch size, and its data fingerprint the batch sizes, so
 * it resumes only under the world size and batch size it was written with.
 *
 * @category models
 */
export interface ResumeStateV1 {
  readonly version: 1;
  readonly globalStep: number;
  readonly epoch: number;
  readonly step: number;
  readonly fingerprint: { readonly data: string; readonly config: string; readonly tokenizer: string };
}

/**
 * One global batch (all ranks' records): `batchSize × worldSize` positions in one task.
 *
 * @category models
 */
export interface GlobalBatch extends StepPosition {
  readonly task: Task;
  /** Positions in the task's store, in batch order. */
  readonly indices: ReadonlyNonEmptyArray<number>;
  /** The ranks that split it (this run's world size). */
  readonly worldSize: number;
  /**
   * The world size the plan was made with: `worldSize`, except after an elastic resume, where it is
   * the original run's (see {@link ResumePlan}). Absent means `worldSize`.
   */
  readonly planWorldSize?: number;
  /**
   * A step before the resume point: it is not read or tokenized, only its random draws are made,
   * so that the run continues exactly as an uninterrupted one would.
   */
  readonly replay: boolean;
  /** The state to resume from after this step. */
  readonly resume: ResumeState;
}

/**
 * One rank's contiguous slice of a global batch (positions only).
 *
 * @category models
 */
export interface LocalSlice extends StepPosition {
  readonly task: Task;
  readonly rank: number;
  readonly worldSize: number;
  /** The world size the plan was made with (see {@link GlobalBatch}); absent means `worldSize`. */
  readonly planWorldSize?: number;
  /** Positions in the task's store. */
  readonly indices: ReadonlyNonEmptyArray<number>;
  /**
   * The whole global batch's positions (every rank's slice, in rank order), for stages that look
   * across ranks (the global false-negative mask). Set by `shardByRank`.
   */
  readonly globalIndices?: ReadonlyNonEmptyArray<number>;
  readonly replay: boolean;
  readonly resume: ResumeState;
}

/**
 * One rank's slice, with its records read.
 *
 * @category models
 */
export interface LocalBatch extends LocalSlice {
  readonly replay: false;
  readonly records: ReadonlyNonEmptyArray<Located<Example>>;
}

/**
 * A slice before the resume point: only its draws are replayed.
 *
 * @category models
 */
export interface ReplaySlice extends LocalSlice {
  readonly replay: true;
}

/**
 * The per-record random choices: the positive, its optional chunk shuffle, the negatives.
 *
 * @category models
 */
export interface SampledGroup {
  readonly positiveIndex: number;
  /** The positive after `shuffle_ratio`'s chunk shuffle (usually the text itself). */
  readonly positive: string;
  readonly negativeIndices: ReadonlyArray<number>;
  /** Teacher scores of the group, in passage order, or null when the record carries none. */
  readonly teacherScores: ReadonlyArray<number> | null;
}

/**
 * The per-query ICL choice: how many examples were drawn (`random.choice([0..5])`) and which
 * records' pairs, in order, after removing the query's own.
 *
 * @category models
 */
export interface IclDraw {
  readonly count: number;
  readonly exampleIds: ReadonlyArray<number>;
}

/**
 * A local batch after group sampling: every random choice the reference makes for it.
 *
 * @category models
 */
export interface SampledBatch extends LocalBatch {
  readonly groupSize: number;
  readonly groups: ReadonlyNonEmptyArray<SampledGroup>;
  /** Present when the batch uses ICL examples (`retrieval_use_examples` or a symmetric type). */
  readonly icl: ReadonlyNonEmptyArray<IclDraw> | null;
  /** Present when a false-negative mask was asked for (`maskFalseNegatives`). */
  readonly falseNegativeMask?: FalseNegativeMask;
}

/**
 * One boolean row per query of a batch, over the step's passages (this rank's for scope `local`;
 * every rank's, in rank order, for `global`): true where the passage must not count as a negative
 * for that query. The rule is `falseNegativeRows`'s.
 *
 * @category models
 */
export type FalseNegativeMask = ReadonlyArray<ReadonlyArray<boolean>>;

/**
 * A sampled batch with instructions applied: queries formatted, and each record's passages
 * (positive first, then negatives) formatted.
 *
 * @category models
 */
export interface PromptedBatch extends SampledBatch {
  readonly queries: ReadonlyNonEmptyArray<string>;
  readonly passages: ReadonlyNonEmptyArray<ReadonlyNonEmptyArray<string>>;
}

/**
 * The final texts of a batch, as the reference hands them to its collator.
 *
 * @category models
 */
export interface TextBatch extends StepPosition {
  readonly resume: ResumeState;
  readonly task: Task;
  readonly rank: number;
  readonly worldSize: number;
  /** The world size the plan was made with (see {@link GlobalBatch}); absent means `worldSize`. */
  readonly planWorldSize?: number;
  readonly indices: ReadonlyNonEmptyArray<number>;
  /** The whole global batch's positions (see {@link LocalSlice}). */
  readonly globalIndices?: ReadonlyNonEmptyArray<number>;
  readonly records: ReadonlyNonEmptyArray<Located<Example>>;
  readonly groupSize: number;
  readonly queries: ReadonlyNonEmptyArray<string>;
  /** Flat: record 0's group, then record 1's, … (`groupSize` passages each). */
  readonly passages: ReadonlyNonEmptyArray<string>;
  /** Flat teacher scores in passage order, or null (knowledge distillation off, or no scores). */
  readonly teacherScores: ReadonlyArray<number> | null;
  readonly noInBatchNeg: boolean;
  /**
   * The research module's collated `messages`: `['not in-batch']` for symmetric class/clustering
   * batches, else `'normal'` per passage. Present only in research-flavor batches.
   */
  readonly messages?: ReadonlyArray<string>;
  /** Carried from the sampled batch when a false-negative mask was asked for. */
  readonly falseNegativeMask?: FalseNegativeMask;
}

/**
 * Token ids of a batch, truncated, with special tokens, not yet padded.
 *
 * @category models
 */
export interface TokenizedBatch extends TextBatch {
  readonly queryIds: ReadonlyNonEmptyArray<ReadonlyArray<number>>;
  readonly passageIds: ReadonlyNonEmptyArray<ReadonlyArray<number>>;
}

/**
 * A padded id matrix with its attention mask (`rows × columns`, row-major nested arrays).
 *
 * @category models
 */
export interface PaddedTensor {
  readonly inputIds: ReadonlyArray<ReadonlyArray<number>>;
  readonly attentionMask: ReadonlyArray<ReadonlyArray<number>>;
}

/**
 * Padded queries and passages: one tensor each, or, with `sub_batch_size`, a list of chunks each
 * padded on its own (the reference's sub-batch collation).
 *
 * @category models
 */
export type Padded =
  | { readonly kind: 'whole'; readonly queries: PaddedTensor; readonly passages: PaddedTensor }
  | {
      readonly kind: 'chunked';
      readonly queries: ReadonlyNonEmptyArray<PaddedTensor>;
      readonly passages: ReadonlyNonEmptyArray<PaddedTensor>;
    };

/**
 * A training batch, ready for the model: what the reference's collator returns, with its texts and
 * provenance.
 *
 * @category models
 */
export interface PaddedBatch extends TokenizedBatch {
  readonly padded: Padded;
}

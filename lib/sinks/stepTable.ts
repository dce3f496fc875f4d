/**
 * Training steps as Arrow record batches: one row per step, one column per field of `dump`'s JSON
 * (same names, same nesting), plus where the step is in the run and the state to resume after it.
 * The Arrow stream (`toArrowStream`) and the exported dataset share this table.
 *
 * @module
 */
import { makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import { arrowSchemaOf, listOf, value, type Feature, type Features } from '../arrow/features.js';
import { ipcStreamEncoder } from '../arrow/ipcMessages.js';
import { nestedData, nestedRowMessage, type Leaf, type Nested, type NestedColumn } from '../arrow/nestedColumns.js';
import { ConfigError, InvariantError } from '../core/errors.js';
import type { PaddedBatch, PaddedTensor } from '../core/model.js';
import { exampleIndicesOf } from './dumpRecord.js';

/**
 * Options of {@link stepSchema} and {@link stepRecordBatch}.
 *
 * @category sinks
 */
export interface StepTableOptions {
  /**
   * Which flavor's steps, so that the columns are that flavor's dump fields: `'icl'` has
   * `no_in_batch_neg`; `'research'` has `messages` in its place (the research module's collated
   * `messages`, whose first entry its model reads as the in-batch flag). Default: `'icl'`.
   */
  readonly flavor?: 'icl' | 'research';
  /**
   * `sub_batch_size` of the run: with it every step carries a list of tensors (the reference's
   * sub-batch collation), so the tensor columns get one more level of lists. Default: none.
   */
  readonly subBatchSize?: number | null;
  /** Include `queries_text` and `passages_text` (the trainer does not need them). Default: false. */
  readonly withText?: boolean;
  /**
   * Include `false_negative_mask` (the run's `falseNegativeScope` is `local` or `global`): every
   * step must then carry one. Default: false (`falseNegativeScope` none, as dump leaves it out).
   */
  readonly falseNegativeMask?: boolean;
}

/** The schema's version, in its metadata: readers refuse versions they do not know. */
export const STEP_TABLE_VERSION = 1;

/** The metadata key that describes the table (a JSON object: version, tensor layout, texts). */
export const STEP_TABLE_METADATA_KEY = 'llm_retriever_data';

/**
 * One column: its name (a field of dump's JSON where there is one), its shape (`depth` levels of
 * lists around `leaf` values, which gives its Hugging Face feature and its Arrow type), and a step's
 * value in it. Both encodings of the table (apache-arrow `Data` for any number of steps, which the
 * export writes; the direct one-step message of the stream) read this one description.
 */
interface StepColumn extends NestedColumn {
  readonly name: string;
  readonly of: (batch: PaddedBatch) => Nested | null;
}

/** `depth` levels of lists around `leaf` (`datasets`' `Value` and `Sequence`/`List`). */
const featureOf = ({ leaf, depth }: NestedColumn): Feature => {
  let feature = value(leaf);
  for (let d = 0; d < depth; d++) feature = listOf(feature);
  return feature;
};

const column = (name: string, leaf: Leaf, depth: number, of: StepColumn['of']): StepColumn => ({ name, leaf, depth, of });

/** A step's tensors of one kind: the matrix, or (`chunked`) the list of matrices. */
const tensorsOf = (batch: PaddedBatch, chunked: boolean, side: 'queries' | 'passages', part: keyof PaddedTensor): Nested => {
  const { padded } = batch;
  if ((padded.kind === 'chunked') !== chunked) {
    throw new InvariantError(`step ${batch.globalStep} is ${padded.kind}, but the table was made for ${chunked ? 'chunked' : 'whole'} tensors (sub_batch_size)`);
  }
  return padded.kind === 'whole' ? padded[side][part] : padded[side].map((t) => t[part]);
};

const tensorColumn = (name: string, chunked: boolean, side: 'queries' | 'passages', part: keyof PaddedTensor): StepColumn =>
  column(name, 'int32', chunked ? 3 : 2, (b) => tensorsOf(b, chunked, side, part));

/**
 * The columns, in order. To add a field, add one entry here: its name (dump's JSON key), its leaf
 * type and depth (every column may hold nulls, as in `datasets`, but only as a whole row's value;
 * an integer leaf where readers should map a large tensor to numpy without copying, since Arrow
 * packs booleans into bits: the small false-negative mask is `bool` and copied), and a step's
 * value. Make it conditional, as the texts and the mask are, if dump's JSON has it only when
 * asked. The Python reader (python/llm_retriever_data) converts columns by their Arrow type, not by
 * name, so a new column of a type it knows needs no change there; bump {@link STEP_TABLE_VERSION}
 * only when a reader of the old version would misread the new table (removing or retyping a
 * column), not for additions.
 */
const stepColumns = (options: StepTableOptions): ReadonlyArray<StepColumn> => {
  const { chunked, flavor } = validateStepTableOptions(options);
  // In dump's order: the research oracle prints messages before teacher_scores and has no no_in_batch_neg.
  const messages = column('messages', 'string', 1, (b) => {
    if (b.messages === undefined) throw new InvariantError(`step ${b.globalStep} has no messages (an icl-flavor step?), but the table was made for the research flavor`);
    return b.messages;
  });
  return [
    column('epoch', 'int32', 0, (b) => b.epoch),
    column('example_indices', 'int64', 1, exampleIndicesOf),
    ...(options.withText === true
      ? [column('queries_text', 'string', 1, (b) => b.queries), column('passages_text', 'string', 1, (b) => b.passages)]
      : []),
    ...(flavor === 'research' ? [messages] : []),
    column('teacher_scores', 'float32', 1, (b) => b.teacherScores),
    ...(flavor === 'icl' ? [column('no_in_batch_neg', 'bool', 0, (b) => b.noInBatchNeg)] : []),
    ...(options.falseNegativeMask === true
      ? [
          column('false_negative_mask', 'bool', 2, (b) => {
            if (b.falseNegativeMask === undefined) throw new InvariantError(`step ${b.globalStep} has no false-negative mask, but the table was made with one`);
            return b.falseNegativeMask;
          }),
        ]
      : []),
    tensorColumn('q_ids', chunked, 'queries', 'inputIds'),
    tensorColumn('q_mask', chunked, 'queries', 'attentionMask'),
    tensorColumn('p_ids', chunked, 'passages', 'inputIds'),
    tensorColumn('p_mask', chunked, 'passages', 'attentionMask'),
    column('step', 'int32', 0, (b) => b.step),
    column('global_step', 'int64', 0, (b) => b.globalStep),
    column('rank', 'int32', 0, (b) => b.rank),
    column('world_size', 'int32', 0, (b) => b.worldSize),
    column('resume', 'string', 0, (b) => JSON.stringify(b.resume)),
  ];
};

/** @internal */
export const validateStepTableOptions = (
  options: StepTableOptions,
): { chunked: boolean; withText: boolean; falseNegativeMask: boolean; flavor: 'icl' | 'research' } => {
  const sub = options.subBatchSize ?? null;
  if (sub !== null && !Number.isSafeInteger(sub)) throw new ConfigError('sub_batch_size', `must be an integer, got ${sub}`);
  const flavor = options.flavor ?? 'icl';
  if (flavor !== 'icl' && flavor !== 'research') throw new ConfigError('flavor', `must be 'icl' or 'research', got ${JSON.stringify(flavor)}`);
  // As pad: sub_batch_size ≤ 0 means no sub-batches.
  return { chunked: sub !== null && sub > 0, withText: options.withText === true, falseNegativeMask: options.falseNegativeMask === true, flavor };
};

/**
 * The Arrow schema of a run's steps: one row per step.
 *
 * **Details**: columns, in order: `epoch` int32; `example_indices` list<int64>; with `withText`,
 * `queries_text` and `passages_text` list<utf8>; with `flavor: 'research'`, `messages`
 * list<utf8>; `teacher_scores` list<float32> or null; for the icl flavor (the default),
 * `no_in_batch_neg` bool; with `falseNegativeMask`, `false_negative_mask` list<list<bool>> (per
 * query, a row over the step's passages); `q_ids`, `q_mask`, `p_ids`, `p_mask` as list<list<int32>> (rows of the
 * padded matrix), or with `subBatchSize` list<list<list<int32>>> (one matrix per sub-batch);
 * `step` int32 (within the epoch); `global_step` int64; `rank`, `world_size` int32; `resume` utf8
 * (the resume state after this step, as JSON: pass it back as `--resume_from` to continue after it).
 * Every column may hold nulls (only `teacher_scores` does), as in `datasets`' schemas. The metadata
 * key `llm_retriever_data` holds `{"version":1,"tensors":"whole"|"chunked","with_text":…,"false_negative_mask":…}`
 * (with `"flavor":"research"` for the research flavor), and
 * `huggingface` the features ({@link stepFeatures}), so `datasets` reads a saved stream as it is.
 *
 * **Gotchas**: every row of a matrix has the same length (padding), so a tensor's values are its
 * row-major data, back to back: readers reshape them to (rows, columns) without copying. Teacher
 * scores are float32 (what the trainer makes of them), so they equal dump's JSON numbers after
 * rounding to float32.
 *
 * @example
 * stepSchema({ subBatchSize: null, withText: false }).fields.map((f) => f.name);
 * // ['epoch', 'example_indices', 'teacher_scores', 'no_in_batch_neg', 'q_ids', …, 'resume']
 *
 * @category sinks
 */
export const stepSchema = (options: StepTableOptions): Schema => {
  const schema = arrowSchemaOf(stepFeatures(options));
  return new Schema(schema.fields, new Map([...stepTableMetadata(options), ...schema.metadata]));
};

/**
 * The Hugging Face features of the step table (the `huggingface` metadata of {@link stepSchema},
 * and `dataset_info.json`'s features in an export).
 *
 * @category sinks
 */
export const stepFeatures = (options: StepTableOptions): Features => stepColumns(options).map((c) => ({ name: c.name, feature: featureOf(c) }));

/**
 * The step table's own schema metadata: `llm_retriever_data` → its version, tensor layout and texts.
 *
 * @category sinks
 */
export const stepTableMetadata = (options: StepTableOptions): ReadonlyMap<string, string> => {
  const { chunked, withText, falseNegativeMask, flavor } = validateStepTableOptions(options);
  // `flavor` only for research: an icl table keeps the bytes it had before the research flavor was streamed.
  const description = { version: STEP_TABLE_VERSION, tensors: chunked ? 'chunked' : 'whole', with_text: withText, false_negative_mask: falseNegativeMask, ...(flavor === 'research' ? { flavor } : {}) };
  return new Map([[STEP_TABLE_METADATA_KEY, JSON.stringify(description)]]);
};

/**
 * A builder of record batches of the {@link stepSchema}: steps in, one record batch of one row per
 * step out, in order. The columns and the schema are made once (a stream builds one batch per step).
 *
 * @example
 * const toRecordBatch = stepBatchBuilder({ subBatchSize: null });
 * toRecordBatch([batch]).numRows; // 1
 *
 * @category sinks
 */
export const stepBatchBuilder = (options: StepTableOptions): ((batches: ReadonlyArray<PaddedBatch>) => RecordBatch) => {
  const columns = stepColumns(options);
  const schema = stepSchema(options);
  const type = new Struct(schema.fields);
  return (batches) => new RecordBatch(schema, makeData({ type, length: batches.length, nullCount: 0, children: columns.map((c) => nestedData(c, batches.map(c.of))) }));
};

/**
 * Steps as one record batch of the {@link stepSchema} (one row per step, in order).
 *
 * @example
 * stepRecordBatch([batch], { subBatchSize: null }).numRows; // 1
 *
 * @category sinks
 */
export const stepRecordBatch = (batches: ReadonlyArray<PaddedBatch>, options: StepTableOptions): RecordBatch => stepBatchBuilder(options)(batches);

/**
 * An encoder of steps as an Arrow IPC stream of the {@link stepSchema}: its schema message, then one
 * message per step (a record batch of one row).
 *
 * @category sinks
 */
export interface StepStreamEncoder {
  /** The schema message: the first bytes of a stream. */
  readonly schema: Uint8Array;
  /** One step's record batch message; a stream ends with `IPC_END_OF_STREAM`. */
  step(batch: PaddedBatch): Uint8Array;
}

/**
 * The stream encoder of the step table (what `dump --format arrow` writes). A step's
 * message is written straight from its values (`nestedRowMessage`): the same bytes apache-arrow's
 * writer makes of `stepRecordBatch([batch])`, for a fraction of the time and garbage, which matters
 * because the encoding shares its thread with the pipeline that makes the steps.
 *
 * @example
 * const encoder = stepStreamEncoder({ subBatchSize: null });
 * await write(out, encoder.schema);
 * for await (const batch of batches) await write(out, encoder.step(batch));
 * await write(out, IPC_END_OF_STREAM);
 *
 * @category sinks
 */
export const stepStreamEncoder = (options: StepTableOptions): StepStreamEncoder => {
  const columns = stepColumns(options);
  return {
    schema: ipcStreamEncoder(stepSchema(options)).schema,
    step: (batch) => nestedRowMessage(columns, columns.map((c) => c.of(batch))),
  };
};

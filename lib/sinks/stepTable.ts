/**
 * Training steps as Arrow record batches: one row per step, one column per field of `dump`'s JSON
 * (same names, same nesting), plus where the step is in the run and the state to resume after it.
 * The Arrow stream (`toArrowStream`) and the exported dataset share this table.
 *
 * @module
 */
import { Bool, Data, Field, Float32, Int32, Int64, List, makeData, RecordBatch, Schema, Struct, Utf8 } from 'apache-arrow';
import { arrowSchemaOf, listOf, value, type Feature, type Features } from '../arrow/features.js';
import { ConfigError, InvariantError } from '../core/errors.js';
import type { PaddedBatch, PaddedTensor } from '../core/model.js';

/**
 * Options of {@link stepSchema} and {@link stepRecordBatch}.
 *
 * @category sinks
 */
export interface StepTableOptions {
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

type Leaf = 'int32' | 'int64' | 'float32';
type Nested = ReadonlyArray<number> | ReadonlyArray<Nested>;

/**
 * One column: its name (a field of dump's JSON where there is one), its Hugging Face feature (which
 * gives its Arrow type), and how its values are built from several steps at once (one row each).
 */
interface StepColumn {
  readonly name: string;
  readonly feature: Feature;
  readonly build: (batches: ReadonlyArray<PaddedBatch>) => Data;
}

const leafType = (leaf: Leaf) => (leaf === 'int32' ? new Int32() : leaf === 'int64' ? new Int64() : new Float32());

/** `depth` levels of lists around `leaf`. */
const listFeature = (leaf: Leaf, depth: number): Feature => {
  let feature = value(leaf);
  for (let d = 0; d < depth; d++) feature = listOf(feature);
  return feature;
};

const validity = (present: ReadonlyArray<boolean>): { nullCount: number; nullBitmap?: Uint8Array } => {
  const nullCount = present.filter((p) => !p).length;
  if (nullCount === 0) return { nullCount };
  const nullBitmap = new Uint8Array((present.length + 7) >> 3);
  present.forEach((p, i) => {
    if (p) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullCount, nullBitmap };
};

/**
 * Nested number lists (`depth` levels) as Arrow list data over one flat typed array: a tensor's
 * rows end up back to back in row-major order, so that readers map them to an n-dimensional array
 * without copying. Only the outermost level may hold nulls.
 */
const nestedNumbers = (leaf: Leaf, depth: number, rows: ReadonlyArray<Nested | null>): Data => {
  // Offsets level by level, outermost first; `level` holds the lists of the current depth.
  const offsetsByLevel: Int32Array[] = [];
  let level: ReadonlyArray<Nested | null> = rows;
  for (let d = 0; d < depth - 1; d++) {
    const offsets = new Int32Array(level.length + 1);
    const next: Nested[] = [];
    level.forEach((list, i) => {
      if (list !== null) for (const child of list as ReadonlyArray<Nested>) next.push(child);
      offsets[i + 1] = next.length;
    });
    offsetsByLevel.push(offsets);
    level = next;
  }
  const innermost = new Int32Array(level.length + 1);
  let total = 0;
  level.forEach((list, i) => {
    total += list === null ? 0 : list.length;
    innermost[i + 1] = total;
  });
  offsetsByLevel.push(innermost);
  const values = leaf === 'int32' ? new Int32Array(total) : leaf === 'int64' ? new BigInt64Array(total) : new Float32Array(total);
  level.forEach((list, i) => {
    if (list === null) return;
    if (values instanceof BigInt64Array) (list as ReadonlyArray<number>).forEach((v, k) => (values[innermost[i]! + k] = BigInt(v)));
    else values.set(list as ReadonlyArray<number>, innermost[i]!);
  });
  let data: Data = makeData({ type: leafType(leaf) as Int32, length: total, data: values as Int32Array });
  for (let d = depth - 1; d >= 0; d--) {
    const offsets = offsetsByLevel[d]!;
    const type = new List(new Field('item', data.type, true));
    const nulls = d === 0 ? validity(rows.map((r) => r !== null)) : { nullCount: 0 };
    data = makeData({ type, length: offsets.length - 1, valueOffsets: offsets, child: data, ...nulls });
  }
  return data;
};

const encoder = new TextEncoder();

/** Strings as Arrow `Utf8` (one value each). */
const utf8 = (strings: ReadonlyArray<string>): Data<Utf8> => {
  const encoded = strings.map((s) => encoder.encode(s));
  const valueOffsets = new Int32Array(encoded.length + 1);
  encoded.forEach((e, i) => (valueOffsets[i + 1] = valueOffsets[i]! + e.length));
  const data = new Uint8Array(valueOffsets[encoded.length]!);
  encoded.forEach((e, i) => data.set(e, valueOffsets[i]!));
  return makeData({ type: new Utf8(), length: encoded.length, valueOffsets, data });
};

/** Lists of strings (one list per step). */
const utf8Lists = (lists: ReadonlyArray<ReadonlyArray<string>>): Data => {
  const valueOffsets = new Int32Array(lists.length + 1);
  lists.forEach((l, i) => (valueOffsets[i + 1] = valueOffsets[i]! + l.length));
  return makeData({ type: new List(new Field('item', new Utf8(), true)), length: lists.length, valueOffsets, child: utf8(lists.flat()) });
};

const int32 = (values: ReadonlyArray<number>): Data => makeData({ type: new Int32(), length: values.length, data: Int32Array.from(values) });
const int64 = (values: ReadonlyArray<number>): Data =>
  makeData({ type: new Int64(), length: values.length, data: BigInt64Array.from(values, (v) => BigInt(v)) });
/** Boolean matrices (one per step) as list<list<bool>>. */
const boolMatrices = (matrices: ReadonlyArray<ReadonlyArray<ReadonlyArray<boolean>>>): Data => {
  const rows = matrices.flat();
  const rowOffsets = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (rowOffsets[i + 1] = rowOffsets[i]! + r.length));
  const stepOffsets = new Int32Array(matrices.length + 1);
  matrices.forEach((m, i) => (stepOffsets[i + 1] = stepOffsets[i]! + m.length));
  const cells = bool(rows.flat());
  const rowData = makeData({ type: new List(new Field('item', cells.type, true)), length: rows.length, valueOffsets: rowOffsets, child: cells });
  return makeData({ type: new List(new Field('item', rowData.type, true)), length: matrices.length, valueOffsets: stepOffsets, child: rowData });
};

const bool = (values: ReadonlyArray<boolean>): Data<Bool> => {
  const bits = new Uint8Array((values.length + 7) >> 3);
  values.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  return makeData({ type: new Bool(), length: values.length, data: bits });
};

const column = (name: string, feature: Feature, build: StepColumn['build']): StepColumn => ({ name, feature, build });

/** A step's tensors of one kind: the matrix, or (`chunked`) the list of matrices. */
const tensorsOf = (batch: PaddedBatch, chunked: boolean, side: 'queries' | 'passages', part: keyof PaddedTensor): Nested => {
  const { padded } = batch;
  if ((padded.kind === 'chunked') !== chunked) {
    throw new InvariantError(`step ${batch.globalStep} is ${padded.kind}, but the table was made for ${chunked ? 'chunked' : 'whole'} tensors (sub_batch_size)`);
  }
  return padded.kind === 'whole' ? padded[side][part] : padded[side].map((t) => t[part]);
};

const tensorColumn = (name: string, chunked: boolean, side: 'queries' | 'passages', part: keyof PaddedTensor): StepColumn => {
  const depth = chunked ? 3 : 2;
  return column(name, listFeature('int32', depth), (bs) => nestedNumbers('int32', depth, bs.map((b) => tensorsOf(b, chunked, side, part))));
};

/**
 * The columns, in order. To add a field, add one entry here: its name (dump's JSON key), its
 * feature (every column may hold nulls, as in `datasets`), and how to build it from the steps
 * (`nestedNumbers` for number matrices; an integer leaf where readers should map a large tensor to
 * numpy without copying, since Arrow packs booleans into bits: the small false-negative mask is
 * `Bool` and copied). Make it conditional, as the texts and the mask are, if dump's JSON has it only
 * when asked. The Python reader
 * (python/llm_retriever_data) converts columns by their Arrow type, not by name, so a new column
 * of a type it knows needs no change there; bump {@link STEP_TABLE_VERSION} only when a reader of
 * the old version would misread the new table (removing or retyping a column), not for additions.
 */
const stepColumns = (options: StepTableOptions): ReadonlyArray<StepColumn> => {
  const chunked = validateStepTableOptions(options).chunked;
  return [
    column('epoch', value('int32'), (bs) => int32(bs.map((b) => b.epoch))),
    column('example_indices', listFeature('int64', 1), (bs) => nestedNumbers('int64', 1, bs.map((b) => b.indices.map((i) => b.task.offset + i)))),
    ...(options.withText === true
      ? [
          column('queries_text', listOf(value('string')), (bs) => utf8Lists(bs.map((b) => b.queries))),
          column('passages_text', listOf(value('string')), (bs) => utf8Lists(bs.map((b) => b.passages))),
        ]
      : []),
    column('teacher_scores', listFeature('float32', 1), (bs) => nestedNumbers('float32', 1, bs.map((b) => b.teacherScores))),
    column('no_in_batch_neg', value('bool'), (bs) => bool(bs.map((b) => b.noInBatchNeg))),
    ...(options.falseNegativeMask === true
      ? [
          column('false_negative_mask', listOf(listOf(value('bool'))), (bs) =>
            boolMatrices(
              bs.map((b) => {
                if (b.falseNegativeMask === undefined) throw new InvariantError(`step ${b.globalStep} has no false-negative mask, but the table was made with one`);
                return b.falseNegativeMask;
              }),
            ),
          ),
        ]
      : []),
    tensorColumn('q_ids', chunked, 'queries', 'inputIds'),
    tensorColumn('q_mask', chunked, 'queries', 'attentionMask'),
    tensorColumn('p_ids', chunked, 'passages', 'inputIds'),
    tensorColumn('p_mask', chunked, 'passages', 'attentionMask'),
    column('step', value('int32'), (bs) => int32(bs.map((b) => b.step))),
    column('global_step', value('int64'), (bs) => int64(bs.map((b) => b.globalStep))),
    column('rank', value('int32'), (bs) => int32(bs.map((b) => b.rank))),
    column('world_size', value('int32'), (bs) => int32(bs.map((b) => b.worldSize))),
    column('resume', value('string'), (bs) => utf8(bs.map((b) => JSON.stringify(b.resume)))),
  ];
};

/** @internal */
export const validateStepTableOptions = (options: StepTableOptions): { chunked: boolean; withText: boolean; falseNegativeMask: boolean } => {
  const sub = options.subBatchSize ?? null;
  if (sub !== null && !Number.isSafeInteger(sub)) throw new ConfigError('sub_batch_size', `must be an integer, got ${sub}`);
  // As pad: sub_batch_size ≤ 0 means no sub-batches.
  return { chunked: sub !== null && sub > 0, withText: options.withText === true, falseNegativeMask: options.falseNegativeMask === true };
};

/**
 * The Arrow schema of a run's steps: one row per step.
 *
 * **Details**: columns, in order: `epoch` int32; `example_indices` list<int64>; with `withText`,
 * `queries_text` and `passages_text` list<utf8>; `teacher_scores` list<float32> or null;
 * `no_in_batch_neg` bool; with `falseNegativeMask`, `false_negative_mask` list<list<bool>> (per
 * query, a row over the step's passages); `q_ids`, `q_mask`, `p_ids`, `p_mask` as list<list<int32>> (rows of the
 * padded matrix), or with `subBatchSize` list<list<list<int32>>> (one matrix per sub-batch);
 * `step` int32 (within the epoch); `global_step` int64; `rank`, `world_size` int32; `resume` utf8
 * (the resume state after this step, as JSON: pass it back as `--resume_from` to continue after it).
 * Every column may hold nulls (only `teacher_scores` does), as in `datasets`' schemas. The metadata
 * key `llm_retriever_data` holds `{"version":1,"tensors":"whole"|"chunked","with_text":…,"false_negative_mask":…}`, and
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
export const stepFeatures = (options: StepTableOptions): Features => stepColumns(options).map(({ name, feature }) => ({ name, feature }));

/**
 * The step table's own schema metadata: `llm_retriever_data` → its version, tensor layout and texts.
 *
 * @category sinks
 */
export const stepTableMetadata = (options: StepTableOptions): ReadonlyMap<string, string> => {
  const { chunked, withText, falseNegativeMask } = validateStepTableOptions(options);
  return new Map([
    [STEP_TABLE_METADATA_KEY, JSON.stringify({ version: STEP_TABLE_VERSION, tensors: chunked ? 'chunked' : 'whole', with_text: withText, false_negative_mask: falseNegativeMask })],
  ]);
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
  return (batches) => new RecordBatch(schema, makeData({ type, length: batches.length, nullCount: 0, children: columns.map((c) => c.build(batches)) }));
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

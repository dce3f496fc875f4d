/**
 * Plain JavaScript values ↔ Arrow columns, following a dataset's features: what Python's
 * `to_pylist()` gives on reading, what `datasets` accepts on writing.
 *
 * @module
 */
import { makeBuilder, makeData, RecordBatch, Struct, Type, type DataType, type Field, type Vector } from 'apache-arrow';
import { InvariantError } from '../core/errors.js';
import { arrowSchemaOf, arrowTypeOf, type Feature, type Features } from './features.js';

/**
 * One row: column name → value (`null` for a null; lists as arrays; structs as objects; 64-bit
 * integers as numbers when they are safe, else as `bigint`).
 *
 * @category models
 */
export type Row = Readonly<Record<string, unknown>>;

const toNumber = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** The JavaScript value of element `i` of a column, recursively (null-aware: Arrow's own toArray gives 0 for null numbers). */
export const valueAt = (vector: Vector, i: number): unknown => {
  if (!vector.isValid(i)) return null;
  const raw = vector.get(i) as unknown;
  return convert(vector.type, raw);
};

const convert = (type: DataType, raw: unknown): unknown => {
  if (raw === null || raw === undefined) return null;
  switch (type.typeId) {
    case Type.Int:
      return typeof raw === 'bigint' ? toNumber(raw) : raw;
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const inner = raw as Vector;
      const out = new Array<unknown>(inner.length);
      for (let k = 0; k < inner.length; k++) out[k] = valueAt(inner, k);
      return out;
    }
    case Type.Struct: {
      const row = raw as Record<string, unknown>;
      return Object.fromEntries(type.children.map((f: Field) => [f.name, convert(f.type, row[f.name])]));
    }
    default:
      return raw;
  }
};

/**
 * Rows `positions` of a record batch as plain objects, in that order.
 *
 * @example
 * rowsOf(batch, [0, 5]); // [{ query: 'q', pos: ['p'], … }, …]
 *
 * @category constructors
 */
export const rowsOf = (batch: RecordBatch, positions: ReadonlyArray<number>): Row[] => {
  const columns = batch.schema.fields.map((f, k) => [f.name, batch.getChildAt(k)!] as const);
  return positions.map((p) => Object.fromEntries(columns.map(([name, column]) => [name, valueAt(column, p)])));
};

const isInt64 = (f: Feature): boolean => f.kind === 'value' && (f.dtype === 'int64' || f.dtype === 'uint64');

/** A JavaScript value in the shape apache-arrow's builders take for `feature` (bigint for 64-bit integers). */
const prepare = (feature: Feature, v: unknown, where: string): unknown => {
  if (v === null || v === undefined) return null;
  switch (feature.kind) {
    case 'value':
      if (isInt64(feature)) {
        if (typeof v === 'bigint') return v;
        if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
        throw new InvariantError(`${where}: expected an integer for ${feature.dtype}, got ${JSON.stringify(v)}`);
      }
      return v;
    case 'list':
      if (!Array.isArray(v)) throw new InvariantError(`${where}: expected a list, got ${typeof v}`);
      return v.map((x, i) => prepare(feature.feature, x, `${where}.${i}`));
    case 'struct':
      if (typeof v !== 'object' || Array.isArray(v)) throw new InvariantError(`${where}: expected an object, got ${typeof v}`);
      return Object.fromEntries(feature.fields.map((f) => [f.name, prepare(f.feature, (v as Record<string, unknown>)[f.name], `${where}.${f.name}`)]));
  }
};

/**
 * A record batch of `rows` with the Arrow schema of `features` (and its `huggingface` metadata).
 *
 * **Gotchas**: a value of the wrong shape for its feature is an `InvariantError` naming the column.
 *
 * @example
 * recordBatchOf([{ name: 'query', feature: value('string') }], [{ query: 'a' }, { query: null }]);
 *
 * @category constructors
 */
export const recordBatchOf = (features: Features, rows: ReadonlyArray<Row>): RecordBatch => {
  const schema = arrowSchemaOf(features);
  const children = features.map(({ name, feature }) => {
    const builder = makeBuilder({ type: arrowTypeOf(feature), nullValues: [null, undefined] });
    for (const [i, row] of rows.entries()) builder.append(prepare(feature, row[name], `row ${i}: ${name}`));
    return builder.finish().flush();
  });
  const data = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new RecordBatch(schema, data);
};

/**
 * Nested columns, two ways from one description: `nestedData` (apache-arrow Data, any number of rows)
 * and `nestedRowMessage` (one row's IPC message, written directly). The oracle for both is
 * apache-arrow's own builders (`vectorFromArray`) and writer: the bytes of a row's message equal
 * what the writer makes of the builders' column, and every column reads back as the values went in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bool, Field, Float32, Int32, Int64, List, makeData, RecordBatch, Schema, Struct, tableFromIPC, Type, Utf8, vectorFromArray, type Data, type DataType } from 'apache-arrow';
import { IPC_END_OF_STREAM, ipcStreamEncoder } from '../../lib/arrow/ipcMessages.js';
import { nestedData, nestedRowMessage, type Leaf, type Nested, type NestedColumn } from '../../lib/arrow/nestedColumns.js';
import { valueAt } from '../../lib/arrow/values.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

const LEAVES: ReadonlyArray<Leaf> = ['int32', 'int64', 'float32', 'bool', 'string'];

const typeOf = ({ leaf, depth }: NestedColumn): DataType => {
  let type: DataType = { int32: new Int32(), int64: new Int64(), float32: new Float32(), bool: new Bool(), string: new Utf8() }[leaf];
  for (let d = 0; d < depth; d++) type = new List(new Field('item', type, true));
  return type;
};

const cell = (leaf: Leaf): fc.Arbitrary<number | boolean | string> => {
  switch (leaf) {
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'int64':
      return fc.maxSafeInteger();
    case 'float32':
      return fc.float({ noNaN: true }).map((x) => Math.fround(x));
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 6 });
  }
};

const valueOf = (leaf: Leaf, depth: number): fc.Arbitrary<Nested> =>
  depth === 0 ? cell(leaf) : fc.array(valueOf(leaf, depth - 1), { maxLength: depth === 1 ? 9 : 4 });

/** Columns and one row of values for them (each may be null). */
const rowCase = fc
  .array(fc.record({ leaf: fc.constantFrom(...LEAVES), depth: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 5 })
  .chain((columns) =>
    fc.tuple(fc.constant(columns as NestedColumn[]), fc.tuple(...columns.map((c) => fc.option(valueOf(c.leaf, c.depth), { freq: 4 })))),
  );

const schemaOf = (columns: ReadonlyArray<NestedColumn>) => new Schema(columns.map((c, i) => new Field(`c${i}`, typeOf(c), true)));

const bits = (n: number) => (n + 7) >> 3;

/**
 * Builders keep bitmaps at their capacity (64 bytes), which the writer copies whole; the bits are
 * the same. Trimmed to their length, as a column made from values has them.
 */
const trimmed = (data: Data): Data =>
  data.clone(
    data.type,
    data.offset,
    data.length,
    data.nullCount,
    [
      data.valueOffsets,
      data.typeId === Type.Bool ? (data.values as Uint8Array).subarray(0, bits(data.offset + data.length)) : data.values,
      data.nullCount > 0 ? data.nullBitmap!.subarray(0, bits(data.offset + data.length)) : undefined,
      data.typeIds,
    ] as never,
    data.children.map(trimmed),
  );

/** apache-arrow's own builders make the column (int64 leaves as bigint, as its builder wants them). */
const built = (column: NestedColumn, rows: ReadonlyArray<Nested | null>): Data => {
  const big = (v: Nested | null): unknown => (v === null ? null : Array.isArray(v) ? v.map(big) : column.leaf === 'int64' ? BigInt(v as number) : v);
  return trimmed(vectorFromArray(rows.map(big), typeOf(column)).data[0]!);
};

const recordBatch = (schema: Schema, children: Data[], length: number) =>
  new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));

describe(`nestedColumns (FC_SEED=${FC_SEED})`, () => {
  it("nestedRowMessage: one row's message is, byte for byte, what apache-arrow's writer makes of its own builders' columns", () => {
    fc.assert(
      fc.property(rowCase, ([columns, row]) => {
        const schema = schemaOf(columns);
        const expected = ipcStreamEncoder(schema).batch(recordBatch(schema, columns.map((c, i) => built(c, [row[i]!])), 1));
        return Buffer.compare(Buffer.from(nestedRowMessage(columns, row)), Buffer.from(expected)) === 0;
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it('nestedData: rows read back as they went in, and encode as the builders do', () => {
    fc.assert(
      fc.property(
        rowCase.chain(([columns]) => fc.tuple(fc.constant(columns), fc.array(fc.tuple(...columns.map((c) => fc.option(valueOf(c.leaf, c.depth), { freq: 4 }))), { minLength: 1, maxLength: 4 }))),
        ([columns, rows]) => {
          const schema = schemaOf(columns);
          const encoder = ipcStreamEncoder(schema);
          const ours = recordBatch(schema, columns.map((c, i) => nestedData(c, rows.map((r) => r[i]!))), rows.length);
          const theirs = recordBatch(schema, columns.map((c, i) => built(c, rows.map((r) => r[i]!))), rows.length);
          const table = tableFromIPC(Buffer.concat([encoder.schema, encoder.batch(ours), IPC_END_OF_STREAM]));
          rows.forEach((row, r) => columns.forEach((_, i) => assert.deepEqual(valueAt(table.getChildAt(i)!, r), row[i])));
          return Buffer.compare(Buffer.from(encoder.batch(ours)), Buffer.from(encoder.batch(theirs))) === 0;
        },
      ),
      fcParams({ numRuns: 200 }),
    );
  });

  it('a row of the wrong width is an InvariantError', () => {
    assert.throws(() => nestedRowMessage([{ leaf: 'int32', depth: 0 }], [1, 2]), (e: Error) => e.name === 'InvariantError');
  });
});

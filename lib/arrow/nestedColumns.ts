/**
 * Columns of nested lists of one leaf type (numbers, booleans or strings, `depth` levels of lists
 * around them), in two forms from one description: apache-arrow `Data` of any number of rows, and
 * the IPC record batch message of one row written directly, byte for byte what apache-arrow's
 * stream writer makes of that `Data`.
 *
 * Why a second writer: a training step is one row of about 100 KB of int32 tensors. Built as
 * `Data` and assembled by apache-arrow's writer, each step allocates dozens of objects and copies
 * its values three times (into the `Data`, into the writer's chunks, into one message), and the
 * garbage slows the pipeline that shares the thread by more than the copying itself. Written
 * directly, a step is one allocation and one copy of its values; the message metadata is still
 * apache-arrow's own encoder, and spec/arrow/nestedColumns.spec.ts checks the bytes against
 * apache-arrow's writer on generated columns.
 *
 * @module
 */
import { Bool, Field, Float32, Int32, Int64, List, makeData, Utf8, type Data, type DataType } from 'apache-arrow';
import { BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { InvariantError } from '../core/errors.js';

/**
 * The leaf types a nested column holds.
 *
 * @category sinks
 */
export type Leaf = 'int32' | 'int64' | 'float32' | 'bool' | 'string';

/** A leaf value: a number (int32, int64 as a safe integer, float32), a boolean or a string. */
export type Cell = number | boolean | string;

/** A value of a nested column: a leaf value, or a list of values one level down. */
export type Nested = Cell | ReadonlyArray<Nested>;

/**
 * A column's shape: `depth` levels of lists (0: a scalar) around `leaf` values. Only a row's whole
 * value may be null; lists inside it hold no nulls.
 *
 * @category sinks
 */
export interface NestedColumn {
  readonly leaf: Leaf;
  readonly depth: number;
}

const leafType = (leaf: Leaf): DataType => {
  switch (leaf) {
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float32':
      return new Float32();
    case 'bool':
      return new Bool();
    case 'string':
      return new Utf8();
  }
};

const listType = (child: DataType): DataType => new List(new Field('item', child, true));

/**
 * The rows flattened level by level: each list level's offsets (outermost first), and the leaf
 * values as the innermost lists they sit in (so that numbers are copied once, list by list, into
 * their final place). At depth 0 the "innermost list" is the rows themselves.
 */
interface Levels {
  readonly offsets: ReadonlyArray<Int32Array>;
  readonly innermost: ReadonlyArray<ReadonlyArray<Cell> | null>;
  readonly leafCount: number;
}

const levelsOf = (depth: number, rows: ReadonlyArray<Nested | null>): Levels => {
  if (depth === 0) return { offsets: [], innermost: [rows as ReadonlyArray<Cell>], leafCount: rows.length };
  const offsets: Int32Array[] = [];
  let level = rows as ReadonlyArray<ReadonlyArray<Nested> | null>;
  for (let d = 0; d < depth - 1; d++) {
    const levelOffsets = new Int32Array(level.length + 1);
    // One row of one list (a step's matrix) needs no new array: its rows are the next level.
    const next: ReadonlyArray<Nested> =
      level.length === 1 && level[0] !== null ? level[0]! : level.flatMap((list) => (list === null ? [] : list));
    let at = 0;
    for (let i = 0; i < level.length; i++) levelOffsets[i + 1] = at += level[i]?.length ?? 0;
    offsets.push(levelOffsets);
    level = next as ReadonlyArray<ReadonlyArray<Nested>>;
  }
  const innermost = new Int32Array(level.length + 1);
  let total = 0;
  for (let i = 0; i < level.length; i++) innermost[i + 1] = total += level[i]?.length ?? 0;
  offsets.push(innermost);
  return { offsets, innermost: level as ReadonlyArray<ReadonlyArray<Cell> | null>, leafCount: total };
};

const nullCountOf = (rows: ReadonlyArray<Nested | null>): number => {
  let n = 0;
  for (const row of rows) if (row === null) n += 1;
  return n;
};

/** Validity bits of the rows (1: present). */
const validityBits = (rows: ReadonlyArray<Nested | null>, into: Uint8Array): Uint8Array => {
  rows.forEach((row, i) => {
    if (row !== null) into[i >> 3]! |= 1 << (i & 7);
  });
  return into;
};

const bitsLength = (n: number) => (n + 7) >> 3;

/** Number leaves, list after list, into `into` (int64 leaves into a BigInt64Array). */
const fillNumbers = (lists: ReadonlyArray<ReadonlyArray<Cell> | null>, into: Int32Array | Float32Array | BigInt64Array): void => {
  let at = 0;
  for (const list of lists) {
    if (list === null) continue;
    if (into instanceof BigInt64Array) {
      for (const v of list) into[at++] = BigInt(v as number);
    } else {
      into.set(list as ReadonlyArray<number>, at);
      at += list.length;
    }
  }
};

const fillBits = (lists: ReadonlyArray<ReadonlyArray<Cell> | null>, into: Uint8Array): void => {
  let at = 0;
  for (const list of lists) {
    if (list === null) continue;
    for (const v of list) {
      if (v === true) into[at >> 3]! |= 1 << (at & 7);
      at += 1;
    }
  }
};

const textEncoder = new TextEncoder();

/** Strings as UTF-8: their offsets and bytes. */
const utf8Of = (lists: ReadonlyArray<ReadonlyArray<Cell> | null>, count: number): { offsets: Int32Array; bytes: Uint8Array } => {
  const encoded: Uint8Array[] = [];
  for (const list of lists) if (list !== null) for (const s of list) encoded.push(textEncoder.encode(s as string));
  if (encoded.length !== count) throw new InvariantError(`${encoded.length} strings where ${count} were counted`);
  const offsets = new Int32Array(count + 1);
  encoded.forEach((e, i) => (offsets[i + 1] = offsets[i]! + e.length));
  const bytes = new Uint8Array(offsets[count]!);
  encoded.forEach((e, i) => bytes.set(e, offsets[i]!));
  return { offsets, bytes };
};

const numberArray = (leaf: Leaf, n: number): Int32Array | Float32Array | BigInt64Array =>
  leaf === 'int32' ? new Int32Array(n) : leaf === 'float32' ? new Float32Array(n) : new BigInt64Array(n);

/**
 * A nested column's rows as apache-arrow `Data` (one element per row; null rows allowed).
 *
 * @example
 * nestedData({ leaf: 'int32', depth: 2 }, [[[1, 2], [3, 4]], null]).length; // 2
 *
 * @category sinks
 */
export const nestedData = (column: NestedColumn, rows: ReadonlyArray<Nested | null>): Data => {
  const { leaf, depth } = column;
  const { offsets, innermost, leafCount } = levelsOf(depth, rows);
  const nulls = nullCountOf(rows);
  const validity = (n: number) => (nulls === 0 ? { nullCount: 0 } : { nullCount: nulls, nullBitmap: validityBits(rows, new Uint8Array(bitsLength(n))) });
  const leafNulls = depth === 0 ? validity(rows.length) : { nullCount: 0 };
  let data: Data;
  if (leaf === 'string') {
    const present = depth === 0 ? [rows.filter((r) => r !== null) as Cell[]] : innermost;
    const { offsets: valueOffsets, bytes } = utf8Of(present, leafCount - (depth === 0 ? nulls : 0));
    data = makeData({ type: new Utf8(), length: leafCount, valueOffsets: depth === 0 ? withNullOffsets(rows, valueOffsets) : valueOffsets, data: bytes, ...leafNulls });
  } else if (leaf === 'bool') {
    const bits = new Uint8Array(bitsLength(leafCount));
    fillBits(depth === 0 ? [rows.map((r) => r ?? false) as Cell[]] : innermost, bits);
    data = makeData({ type: new Bool(), length: leafCount, data: bits, ...leafNulls });
  } else {
    const values = numberArray(leaf, leafCount);
    fillNumbers(depth === 0 ? [rows.map((r) => r ?? 0) as Cell[]] : innermost, values);
    data = makeData({ type: leafType(leaf) as Int32, length: leafCount, data: values as Int32Array, ...leafNulls });
  }
  for (let d = depth - 1; d >= 0; d--) {
    const levelOffsets = offsets[d]!;
    data = makeData({ type: listType(data.type) as List, length: levelOffsets.length - 1, valueOffsets: levelOffsets, child: data, ...(d === 0 ? validity(rows.length) : { nullCount: 0 }) });
  }
  return data;
};

/** Utf8 offsets of scalar rows where null rows take no bytes (their offsets repeat). */
const withNullOffsets = (rows: ReadonlyArray<Nested | null>, present: Int32Array): Int32Array => {
  if (nullCountOf(rows) === 0) return present;
  const offsets = new Int32Array(rows.length + 1);
  let k = 0;
  rows.forEach((row, i) => (offsets[i + 1] = row === null ? offsets[i]! : present[++k]!));
  return offsets;
};

/**
 * The body of one message being laid out: field nodes, buffer regions (each padded to 8 bytes, as
 * apache-arrow's writer pads them), and how to fill each buffer once the message is allocated.
 */
class BodyLayout {
  readonly nodes: FieldNode[] = [];
  readonly regions: BufferRegion[] = [];
  private readonly fills: Array<(body: ArrayBuffer, at: number) => void> = [];
  private readonly starts: number[] = [];
  byteLength = 0;

  node(length: number, nullCount: number): void {
    this.nodes.push(new FieldNode(length, nullCount));
  }

  /** A buffer of `byteLength` bytes; `fill` writes it at byte `at` of `body` (which is zeroed). */
  buffer(byteLength: number, fill?: (body: ArrayBuffer, at: number) => void): void {
    const padded = (byteLength + 7) & ~7;
    this.regions.push(new BufferRegion(this.byteLength, padded));
    if (fill !== undefined && byteLength > 0) {
      this.fills.push(fill);
      this.starts.push(this.byteLength);
    }
    this.byteLength += padded;
  }

  /** The continuation marker, the metadata length, the metadata (padded to 8 bytes), then the body. */
  message(rows: number): Uint8Array {
    const metadata = Message.encode(Message.from(new RecordBatchHeader(rows, this.nodes, this.regions, null), this.byteLength));
    const bodyStart = (metadata.byteLength + 8 + 7) & ~7;
    const out = new Uint8Array(bodyStart + this.byteLength);
    const view = new DataView(out.buffer);
    view.setInt32(0, -1, true);
    view.setInt32(4, bodyStart - 8, true);
    out.set(metadata, 8);
    this.fills.forEach((fill, i) => fill(out.buffer, bodyStart + this.starts[i]!));
    return out;
  }
}

/** One row of one column, laid out as apache-arrow's writer visits it: each level's node, validity and offsets, then the leaf's. */
const layOut = (layout: BodyLayout, column: NestedColumn, value: Nested | null): void => {
  const { leaf, depth } = column;
  const rows = [value];
  const { offsets, innermost, leafCount } = levelsOf(depth, rows);
  const nulls = value === null ? 1 : 0;
  // A buffer for the validity bits: apache-arrow writes an empty one when nothing is null.
  const validity = (count: number) => layout.buffer(count === 0 ? 0 : 1, count === 0 ? undefined : (body, at) => void validityBits(rows, new Uint8Array(body, at, 1)));
  for (let d = 0; d < depth; d++) {
    const levelOffsets = offsets[d]!;
    layout.node(levelOffsets.length - 1, d === 0 ? nulls : 0);
    validity(d === 0 ? nulls : 0);
    layout.buffer(levelOffsets.byteLength, (body, at) => new Int32Array(body, at, levelOffsets.length).set(levelOffsets));
  }
  const leafNulls = depth === 0 ? nulls : 0;
  layout.node(leafCount, leafNulls);
  validity(leafNulls);
  const lists = depth === 0 ? [value === null ? [] : [value as Cell]] : innermost;
  switch (leaf) {
    case 'string': {
      const { offsets: valueOffsets, bytes } = utf8Of(lists, leafCount - leafNulls);
      const rowOffsets = depth === 0 && value === null ? new Int32Array(2) : valueOffsets;
      layout.buffer(rowOffsets.byteLength, (body, at) => new Int32Array(body, at, rowOffsets.length).set(rowOffsets));
      layout.buffer(bytes.byteLength, (body, at) => new Uint8Array(body, at, bytes.byteLength).set(bytes));
      return;
    }
    case 'bool':
      layout.buffer(bitsLength(leafCount), (body, at) => fillBits(lists, new Uint8Array(body, at, bitsLength(leafCount))));
      return;
    case 'int64':
      layout.buffer(leafCount * 8, (body, at) => fillNumbers(lists, new BigInt64Array(body, at, leafCount)));
      return;
    case 'int32':
      layout.buffer(leafCount * 4, (body, at) => fillNumbers(lists, new Int32Array(body, at, leafCount)));
      return;
    case 'float32':
      layout.buffer(leafCount * 4, (body, at) => fillNumbers(lists, new Float32Array(body, at, leafCount)));
      return;
  }
};

/**
 * The IPC record batch message (metadata and body) of one row of `columns`: what apache-arrow's
 * stream writer writes for a one-row record batch of {@link nestedData} columns, byte for byte,
 * written straight from the values (one allocation, each value copied once).
 *
 * @example
 * const bytes = nestedRowMessage([{ leaf: 'int32', depth: 0 }, { leaf: 'int32', depth: 2 }], [7, [[1, 2], [3, 4]]]);
 * // a stream is the schema message, such messages, then the end-of-stream marker
 *
 * @category sinks
 */
export const nestedRowMessage = (columns: ReadonlyArray<NestedColumn>, row: ReadonlyArray<Nested | null>): Uint8Array => {
  if (row.length !== columns.length) throw new InvariantError(`a row of ${row.length} values for ${columns.length} columns`);
  const layout = new BodyLayout();
  columns.forEach((column, i) => layOut(layout, column, row[i]!));
  return layout.message(1);
};

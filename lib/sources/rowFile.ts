/**
 * One data file of a Hugging Face dataset (JSON Lines, Parquet, or an Arrow shard), indexed for the
 * research flavor: per row what the plan and the random draws need (positive lengths, negative
 * count, type), per chunk the column types `datasets` would infer, and the rows by position.
 *
 * @module
 */
import { RecordError, type Issue } from '../core/errors.js';
import type { Example, Located, RecordMeta, RecordStore } from '../core/model.js';
import type { Features } from '../arrow/features.js';
import type { Row } from '../arrow/values.js';
import { codePointLength } from '../core/pythonStrings.js';
import type { Schema } from './hfSchema.js';

/**
 * A run of rows `datasets` types together: a JSON file's 10 MiB chunk, a Parquet or Arrow file.
 *
 * @category models
 */
export interface RowChunk {
  /** The line (JSON) or 1-based row (Parquet, Arrow) of its first row, to name it in errors. */
  readonly firstLine: number;
  readonly rows: number;
  readonly schema: Schema;
}

/**
 * An indexed data file.
 *
 * @category models
 */
export interface RowFile {
  readonly file: string;
  readonly rows: number;
  readonly chunks: ReadonlyArray<RowChunk>;
  /** Identifies the file's content. */
  readonly fingerprint: string;
  /** The file's own declared column types (Parquet, Arrow), when it has them; JSON files have only inferred kinds. */
  readonly features?: Features;
  /** Decoded records by position (metadata without reading). */
  readonly store: RecordStore;
  /** Every column of rows `[start, end)`, as read (for `save_to_disk`). */
  rawRows(start: number, end: number): AsyncIterable<Row>;
}

/** Growable per-row metadata columns: a few typed arrays instead of an object per row. */
export class MetaColumns {
  private line: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private negatives: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private typeId: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private posStart: Int32Array<ArrayBuffer> = new Int32Array(1025);
  private positiveLength: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private positives = 0;
  private readonly types: string[] = [];
  private readonly typeIds = new Map<string, number>();
  size = 0;

  private static grow(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
    if (n <= a.length) return a;
    const b = new Int32Array(Math.max(n, a.length * 2));
    b.set(a);
    return b;
  }

  add(line: number, example: Example): void {
    const i = this.size++;
    this.line = MetaColumns.grow(this.line, this.size);
    this.negatives = MetaColumns.grow(this.negatives, this.size);
    this.typeId = MetaColumns.grow(this.typeId, this.size);
    this.posStart = MetaColumns.grow(this.posStart, this.size + 1);
    this.positiveLength = MetaColumns.grow(this.positiveLength, this.positives + example.pos.length);
    this.line[i] = line;
    this.negatives[i] = example.neg.length;
    const type = example.type ?? '';
    let id = this.typeIds.get(type);
    if (id === undefined) {
      id = this.types.length;
      this.types.push(type);
      this.typeIds.set(type, id);
    }
    this.typeId[i] = id;
    for (const p of example.pos) this.positiveLength[this.positives++] = codePointLength(p);
    this.posStart[i + 1] = this.positives;
  }

  /** The metadata of row `i` of `file`. */
  meta(file: string, i: number): RecordMeta {
    return {
      file,
      line: this.line[i]!,
      record: i,
      positiveLengths: Array.from(this.positiveLength.subarray(this.posStart[i]!, this.posStart[i + 1]!)),
      negatives: this.negatives[i]!,
      trainGroupSize: undefined,
      batchSize: undefined,
      type: this.types[this.typeId[i]!]!,
    };
  }

  /** The distinct types, in order of first appearance. */
  distinctTypes(): ReadonlyArray<string> {
    return this.types;
  }
}

/** A row that does not decode: the error the reference's crash becomes. */
export const badRow = (issues: ReadonlyArray<Issue>): RecordError => new RecordError(issues as [Issue, ...Issue[]]);

/**
 * A {@link RecordStore} over an indexed file: metadata from the columns, records read on demand.
 *
 * @category constructors
 */
export class RowFileStore implements RecordStore {
  constructor(
    private readonly file: string,
    private readonly columns: MetaColumns,
    private readonly readRecords: (positions: ReadonlyArray<number>) => Promise<ReadonlyArray<Located<Example>>>,
  ) {}
  get size(): number {
    return this.columns.size;
  }
  meta(position: number): RecordMeta {
    return this.columns.meta(this.file, position);
  }
  read(positions: ReadonlyArray<number>): Promise<ReadonlyArray<Located<Example>>> {
    return this.readRecords(positions);
  }
  /** The distinct `type` values of the file's rows. */
  types(): ReadonlyArray<string> {
    return this.columns.distinctTypes();
  }
}

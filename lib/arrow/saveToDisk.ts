/**
 * Writing Hugging Face `save_to_disk` folders: Arrow IPC stream shards
 * (`data-00000-of-0000N.arrow`), `dataset_info.json` and `state.json`, which `datasets.load_from_disk`
 * and `Dataset.from_file` read with no custom code.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Schema, type RecordBatch } from 'apache-arrow';
import { ConfigError, InvariantError } from '../core/errors.js';
import { atomicWriteFile, openAtomic, type AtomicFile } from './atomicFile.js';
import { arrowSchemaOf, featuresToJson, type Feature, type Features } from './features.js';
import { IPC_END_OF_STREAM, ipcStreamEncoder } from './ipcMessages.js';
import { recordBatchOf, type Row } from './values.js';

/** `datasets.config.DEFAULT_MAX_BATCH_SIZE`: rows per record batch in a shard. */
export const DEFAULT_BATCH_ROWS = 1000;

/**
 * What a finished shard holds.
 *
 * @category models
 */
export interface ShardSummary {
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  /** SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/**
 * A shard being written: rows go in (`write`), record batches of `batchRows` rows go out to a
 * temporary file; `close()` moves it into place, `abort()` removes it.
 *
 * @category sinks
 */
export interface ShardWriter {
  write(rows: ReadonlyArray<Row>): Promise<void>;
  /**
   * Writes record batches built elsewhere (after the rows buffered so far), each as it is: for
   * writers that build Arrow data faster than row by row. Their columns must be the features'
   * (names and Arrow types), else an `InvariantError`.
   */
  writeBatches(batches: ReadonlyArray<RecordBatch>): Promise<void>;
  close(): Promise<ShardSummary>;
  abort(): Promise<void>;
}

/**
 * Options of {@link createShardWriter}.
 *
 * @category sinks
 */
export interface ShardWriterOptions {
  /** Rows per record batch. Default: 1000, as `datasets` writes. */
  readonly batchRows?: number;
  /** Schema metadata besides `huggingface` (which the features fill), e.g. a format description. Default: none. */
  readonly metadata?: ReadonlyMap<string, string>;
}

/** The features' Arrow schema with extra metadata (the features' own `huggingface` key wins). */
const schemaWithMetadata = (features: Features, metadata: ReadonlyMap<string, string> | undefined): Schema => {
  const schema = arrowSchemaOf(features);
  return metadata === undefined ? schema : new Schema(schema.fields, new Map([...metadata, ...schema.metadata]));
};

const columnsOf = (schema: Schema): string => schema.fields.map((f) => `${f.name}: ${String(f.type)}`).join(', ');

/**
 * Opens an Arrow IPC stream file for rows of `features`, written atomically: the file appears under
 * `path` only when `close()` succeeds, with the features as `huggingface` schema metadata.
 *
 * **Details**: rows are buffered up to `batchRows` and written as one record batch; a shard of 0
 * rows is a schema and the end-of-stream marker, as `datasets` writes it.
 *
 * @example
 * const shard = await createShardWriter('out/data-00000-of-00001.arrow', features);
 * await shard.write([{ query: 'q', pos: ['p'] }]);
 * const { rows, sha256 } = await shard.close();
 *
 * @category sinks
 */
export const createShardWriter = async (path: string, features: Features, options: ShardWriterOptions = {}): Promise<ShardWriter> => {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) throw new ConfigError('batch_rows', `must be a positive integer, got ${batchRows}`);
  const schema = schemaWithMetadata(features, options.metadata);
  const encoder = ipcStreamEncoder(schema);
  const columns = columnsOf(schema);
  const file: AtomicFile = await openAtomic(path);
  const hash = createHash('sha256');
  let pending: Row[] = [];
  let rows = 0;
  let bytes = 0;
  let schemaWritten = false;
  const put = async (data: Uint8Array) => {
    hash.update(data);
    bytes += data.length;
    await file.handle.write(data);
  };
  const flush = async () => {
    if (!schemaWritten) {
      await put(encoder.schema);
      schemaWritten = true;
    }
    if (pending.length === 0) return;
    await put(encoder.batch(recordBatchOf(features, pending)));
    rows += pending.length;
    pending = [];
  };
  return {
    async write(more) {
      try {
        for (const row of more) {
          pending.push(row);
          if (pending.length === batchRows) await flush();
        }
      } catch (e) {
        await file.abort();
        throw e;
      }
    },
    async writeBatches(batches) {
      try {
        await flush();
        for (const batch of batches) {
          if (columnsOf(batch.schema) !== columns) throw new InvariantError(`${path}: a record batch with columns (${columnsOf(batch.schema)}), not the features' (${columns})`);
          await put(encoder.batch(batch));
          rows += batch.numRows;
        }
      } catch (e) {
        await file.abort();
        throw e;
      }
    },
    async close() {
      try {
        await flush();
        await put(IPC_END_OF_STREAM);
        await file.commit();
      } catch (e) {
        await file.abort();
        throw e;
      }
      return { file: path, rows, bytes, sha256: hash.digest('hex') };
    },
    abort: () => file.abort(),
  };
};

/**
 * `datasets`' shard file names: `data-00003-of-00008.arrow`.
 *
 * @category constructors
 */
export const shardFileName = (index: number, count: number): string =>
  `data-${String(index).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.arrow`;

/**
 * The rows `[start, end)` of shard `index` of `count` contiguous shards of `rows` rows, as
 * `Dataset.shard(count, index, contiguous=True)` cuts them: the first `rows % count` shards get one more.
 *
 * @example
 * shardBounds(10, 3, 0); // [0, 4]
 *
 * @category plan
 */
export const shardBounds = (rows: number, count: number, index: number): readonly [number, number] => {
  const div = Math.floor(rows / count);
  const mod = rows % count;
  const start = div * index + Math.min(index, mod);
  return [start, start + div + (index < mod ? 1 : 0)] as const;
};

/**
 * `datasets.utils.py_utils.convert_file_size_to_int`: `"50GB"` → 50·10⁹, `"1MiB"` → 2²⁰, `"8Mb"` →
 * 10⁶ (bits: divided by 8), a number as itself.
 *
 * @example
 * parseFileSize('500MB'); // 500000000
 *
 * @category constructors
 */
export const parseFileSize = (size: number | string, option = 'max_shard_size'): number => {
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size < 1) throw new ConfigError(option, `must be a positive number of bytes, got ${size}`);
    return size;
  }
  const binary: ReadonlyArray<readonly [string, number]> = [['PIB', 2 ** 50], ['TIB', 2 ** 40], ['GIB', 2 ** 30], ['MIB', 2 ** 20], ['KIB', 2 ** 10]];
  const decimal: ReadonlyArray<readonly [string, number]> = [['PB', 1e15], ['TB', 1e12], ['GB', 1e9], ['MB', 1e6], ['KB', 1e3]];
  const upper = size.toUpperCase();
  const digits = (n: number) => {
    const head = size.slice(0, size.length - n);
    if (!/^\d+$/.test(head)) throw new ConfigError(option, `${JSON.stringify(size)} is not a size such as 500MB or 1GiB`);
    return Number(head);
  };
  for (const [unit, factor] of binary) if (upper.endsWith(unit)) return digits(3) * factor;
  for (const [unit, factor] of decimal) {
    if (upper.endsWith(unit)) {
      const bytes = digits(2) * factor;
      return size.endsWith('b') ? Math.floor(bytes / 8) : bytes;
    }
  }
  throw new ConfigError(option, `${JSON.stringify(size)} is not a size such as 500MB or 1GiB`);
};

/** Arrow bytes of one value (offsets, data, validity bits as eighths), for shard-count estimates. */
const valueBytes = (feature: Feature, v: unknown): number => {
  const validity = 1 / 8;
  if (feature.kind === 'value') {
    const width: Partial<Record<string, number>> = { bool: 1 / 8, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8, null: 0 };
    if (feature.dtype === 'string') return validity + 4 + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    if (feature.dtype === 'large_string') return validity + 8 + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    return validity + (width[feature.dtype] ?? 8);
  }
  if (feature.kind === 'list') {
    const items = Array.isArray(v) ? v.reduce((n: number, x) => n + valueBytes(feature.feature, x), 0) : 0;
    return validity + (feature.large ? 8 : 4) + items;
  }
  const row = (v ?? {}) as Record<string, unknown>;
  return validity + feature.fields.reduce((n, f) => n + valueBytes(f.feature, row[f.name]), 0);
};

/**
 * The Arrow size of rows of `features`, as `Dataset._estimate_nbytes` measures a table (buffer
 * bytes: offsets, data, validity bitmaps), for choosing a shard count from `max_shard_size`.
 *
 * @category plan
 */
export const estimateRowBytes = (features: Features, row: Row): number => features.reduce((n, { name, feature }) => n + valueBytes(feature, row[name]), 0);

/**
 * Options of {@link saveToDisk}: the features, how many rows, and how to shard them.
 *
 * @category sinks
 */
export interface SaveToDiskOptions {
  readonly features: Features;
  /** Rows in the dataset (the contiguous shard bounds need it up front). */
  readonly rows: number;
  /** `num_shards`: a fixed number of shards. Exclusive with `maxShardSize`. */
  readonly numShards?: number;
  /**
   * `max_shard_size` (bytes, or `"500MB"`, `"1GiB"`): shards = ⌊estimated Arrow bytes / this⌋ + 1,
   * at most one per row, as `datasets` computes it (it costs one extra pass over the rows).
   * Default when neither is given: `"500MB"`.
   */
  readonly maxShardSize?: number | string;
  /** Rows per record batch. Default: 1000. */
  readonly batchRows?: number;
  /** `state.json`'s `_split`. Default: null. */
  readonly split?: string | null;
  /** Extra fields for `dataset_info.json` (beside citation, description, features, homepage, license). */
  readonly info?: Readonly<Record<string, unknown>>;
}

/**
 * What {@link saveToDisk} wrote.
 *
 * @category models
 */
export interface SavedFolder {
  readonly dir: string;
  readonly shards: ReadonlyArray<ShardSummary>;
  readonly fingerprint: string;
}

/**
 * Writes a dataset as `Dataset.save_to_disk(dir, num_shards=…)` / `max_shard_size=…` does: rows
 * cut into contiguous shards, each an Arrow IPC stream file of record batches, then
 * `dataset_info.json` and `state.json` (every file atomically; the JSON files last, so a folder
 * with them is complete).
 *
 * **Details**: `rows(start, end)` must yield exactly rows `[start, end)`; it is called once per
 * shard (and once more over everything with `maxShardSize`, to estimate the size). The fingerprint
 * in `state.json` is derived from the shards' contents, so the same rows give byte-identical folders.
 * Other files in `dir` are left alone (as `datasets` leaves them).
 *
 * @example
 * await saveToDisk('out/ds', async function* (start, end) { for (let i = start; i < end; i++) yield rows[i]; },
 *   { features, rows: rows.length, numShards: 2 });
 *
 * @category sinks
 */
export const saveToDisk = async (
  dir: string,
  rows: (start: number, end: number) => AsyncIterable<Row> | Iterable<Row>,
  options: SaveToDiskOptions,
): Promise<SavedFolder> => {
  const { features } = options;
  if (!Number.isSafeInteger(options.rows) || options.rows < 0) throw new ConfigError('rows', `must be a non-negative integer, got ${options.rows}`);
  if (options.numShards !== undefined && options.maxShardSize !== undefined) {
    throw new ConfigError('num_shards', 'give num_shards or max_shard_size, not both (as datasets requires)');
  }
  let count: number;
  if (options.numShards !== undefined) {
    if (!Number.isSafeInteger(options.numShards) || options.numShards < 1) throw new ConfigError('num_shards', `must be a positive integer, got ${options.numShards}`);
    count = options.numShards;
  } else {
    const max = parseFileSize(options.maxShardSize ?? '500MB');
    let bytes = 0;
    for await (const row of rows(0, options.rows)) bytes += estimateRowBytes(features, row);
    count = Math.min(Math.max(options.rows, 1), Math.floor(Math.round(bytes) / max) + 1);
  }
  if (count > Math.max(options.rows, 1)) throw new ConfigError('num_shards', `${count} shards for ${options.rows} rows: datasets cannot write empty shards of a non-empty dataset`);
  await mkdir(dir, { recursive: true });
  const shards: ShardSummary[] = [];
  const names = Array.from({ length: count }, (_, index) => shardFileName(index, count));
  for (let index = 0; index < count; index++) {
    const [start, end] = shardBounds(options.rows, count, index);
    const writer = await createShardWriter(join(dir, names[index]!), features, options.batchRows === undefined ? {} : { batchRows: options.batchRows });
    let seen = 0;
    try {
      let chunk: Row[] = [];
      for await (const row of rows(start, end)) {
        chunk.push(row);
        seen += 1;
        if (chunk.length >= 1000) {
          await writer.write(chunk);
          chunk = [];
        }
      }
      await writer.write(chunk);
      if (seen !== end - start) throw new InvariantError(`rows(${start}, ${end}) gave ${seen} rows, not ${end - start}`);
    } catch (e) {
      await writer.abort();
      throw e;
    }
    shards.push(await writer.close());
  }
  const fingerprint = fingerprintOfShards(shards);
  await writeDatasetState(dir, { features, shardFiles: names, fingerprint, split: options.split ?? null, ...(options.info === undefined ? {} : { info: options.info }) });
  return { dir, shards, fingerprint };
};

/**
 * The `state.json` fingerprint of a folder of these shards: derived from their contents (not from
 * time or chance, as `datasets`' random fingerprints are), so the same rows give the same folder.
 *
 * @category constructors
 */
export const fingerprintOfShards = (shards: ReadonlyArray<Pick<ShardSummary, 'sha256'>>): string =>
  createHash('sha256')
    .update(shards.map((s) => s.sha256).join(','))
    .digest('hex')
    .slice(0, 16);

/**
 * Writes `dataset_info.json` and `state.json` for shards already in `dir`, in `datasets`' layout
 * (sorted keys, two-space indent), atomically. For writers that produce their own shards (one at a
 * time, resumably) with {@link createShardWriter}.
 *
 * @example
 * await writeDatasetState('out', { features, shardFiles: ['data-00000-of-00001.arrow'], fingerprint: 'a1b2c3d4e5f60718' });
 *
 * @category sinks
 */
export const writeDatasetState = async (
  dir: string,
  state: {
    readonly features: Features;
    readonly shardFiles: ReadonlyArray<string>;
    readonly fingerprint: string;
    readonly split?: string | null;
    readonly info?: Readonly<Record<string, unknown>>;
  },
): Promise<void> => {
  const info: Record<string, unknown> = { citation: '', description: '', homepage: '', license: '', ...state.info, features: featuresToJson(state.features) };
  const sortedInfo = Object.fromEntries(Object.keys(info).sort().map((k) => [k, info[k]]));
  const stateJson = {
    _data_files: state.shardFiles.map((filename) => ({ filename })),
    _fingerprint: state.fingerprint,
    _format_columns: null,
    _format_kwargs: {},
    _format_type: null,
    _output_all_columns: false,
    _split: state.split ?? null,
  };
  await atomicWriteFile(join(dir, 'dataset_info.json'), JSON.stringify(sortedInfo, null, 2));
  await atomicWriteFile(join(dir, 'state.json'), JSON.stringify(stateJson, null, 2));
};

/**
 * A Parquet file of a Hugging Face dataset, read with hyparquet row group by row group: indexed in
 * one pass (research metadata per row), then rows read by position.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { Message, MessageHeader, type Schema as ArrowSchema } from 'apache-arrow';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData, type SchemaTree } from 'hyparquet';
import { ConfigError, FileError, RecordError } from '../core/errors.js';
import type { Example, Located } from '../core/model.js';
import { featuresOfArrowSchema, listOf, structOf, value, type Feature, type Features } from '../arrow/features.js';
import { indexIpcStream, readIpcBatches } from '../arrow/ipcStream.js';
import { createShardWriter } from '../arrow/saveToDisk.js';
import { rowsOf, type Row } from '../arrow/values.js';
import { decodeResearchRow } from '../schema/researchRecord.js';
import { schemaOfFeatures } from './hfSchema.js';
import { temporaryFile } from './jsonRows.js';
import { badRow, MetaColumns, RowFileStore, type RowFile } from './rowFile.js';

/** The Arrow schema pyarrow stores in a Parquet file's `ARROW:schema` metadata (a base64 IPC schema message), if any. */
const storedArrowSchema = (metadata: FileMetaData): ArrowSchema | null => {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === 'ARROW:schema');
  if (entry?.value === undefined) return null;
  let bytes = Buffer.from(entry.value, 'base64');
  // An IPC message: continuation marker, length, flatbuffer metadata.
  if (bytes.readInt32LE(0) === -1) bytes = bytes.subarray(8);
  else bytes = bytes.subarray(4);
  const message = Message.decode(bytes);
  return message.headerType === MessageHeader.Schema ? (message.header() as ArrowSchema) : null;
};

const featureOfParquet = (node: SchemaTree, where: string): Feature => {
  const e = node.element;
  const logical = e.logical_type?.type;
  if (e.converted_type === 'LIST' || logical === 'LIST') {
    const repeated = node.children[0];
    const item = repeated !== undefined && repeated.children.length === 1 ? repeated.children[0]! : repeated;
    if (item === undefined) throw new ConfigError('train_data', `${where}: a LIST without items`);
    return listOf(featureOfParquet(item, where));
  }
  if (node.children.length > 0) return structOf(node.children.map((c) => ({ name: c.element.name, feature: featureOfParquet(c, `${where}.${c.element.name}`) })));
  if (logical === 'NULL') return value('null');
  switch (e.type) {
    case 'BOOLEAN':
      return value('bool');
    case 'INT32':
      return value(e.converted_type === 'INT_8' ? 'int8' : e.converted_type === 'INT_16' ? 'int16' : e.converted_type === 'UINT_32' ? 'uint32' : 'int32');
    case 'INT64':
      return value(e.converted_type === 'UINT_64' ? 'uint64' : 'int64');
    case 'FLOAT':
      return value('float32');
    case 'DOUBLE':
      return value('float64');
    case 'BYTE_ARRAY':
      if (e.converted_type === 'UTF8' || logical === 'STRING' || logical === 'JSON') return value('string');
      break;
    default:
      break;
  }
  throw new ConfigError('train_data', `${where}: Parquet type ${e.type}${e.converted_type ? ` (${e.converted_type})` : ''} is not supported`);
};

/**
 * The features `datasets` reads off a Parquet file (`pq.read_schema` → `Features.from_arrow_schema`):
 * from the stored Arrow schema when pyarrow wrote one (with its `huggingface` metadata), else from
 * the Parquet schema.
 *
 * @category constructors
 */
export const parquetFeatures = (metadata: FileMetaData, file: string): Features => {
  const arrow = storedArrowSchema(metadata);
  if (arrow !== null) return featuresOfArrowSchema(arrow, file);
  return parquetSchema(metadata).children.map((c) => ({ name: c.element.name, feature: featureOfParquet(c, `${file}: ${c.element.name}`) }));
};

const readGroup = async (file: AsyncBuffer, metadata: FileMetaData, start: number, end: number, name: string): Promise<Row[]> => {
  try {
    return (await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end })) as Row[];
  } catch (e) {
    throw new ConfigError('train_data', `${name}: cannot read rows ${start}–${end}: ${(e as Error).message}`);
  }
};

/** Rows per record batch of the decoded copy: a read decodes one small batch, not a row group. */
const COPY_BATCH_ROWS = 64;

/**
 * Indexes a Parquet file for the research flavor: reads it row group by row group (memory: one row
 * group at a time), decodes every row (`decodeResearchRow`, so a bad row fails now, named by file,
 * row and field), keeps per row its research metadata, and writes the decoded rows once to an Arrow
 * IPC stream in a temporary folder (record batches of 64 rows), from which batches then read by
 * position.
 *
 * **Details**: why the copy: hyparquet decodes whole column chunks (a file without a page index cannot
 * be read row by row), so a read of one row costs as much as its row group (measured: 70–80 ms for a
 * 10,000-row group of this project's records, against 0.3 ms for four rows from the copy). The copy
 * costs the file's decoded size on disk, and is removed when the process exits.
 *
 * **Gotchas**: codecs other than Snappy and none are a {@link ConfigError} (hyparquet's own support).
 *
 * @example
 * const rows = await indexParquetRows('data/train.parquet');
 *
 * @category constructors
 */
export const indexParquetRows = async (name: string): Promise<RowFile> => {
  const file = await asyncBufferFromFile(name);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new ConfigError('train_data', `${name} is not a readable Parquet file: ${(e as Error).message}`);
  }
  const features = parquetFeatures(metadata, name);
  const columns = new MetaColumns();
  const copyPath = await temporaryFile('rows.arrow');
  const copy = await createShardWriter(copyPath, features, { batchRows: COPY_BATCH_ROWS });
  let total = 0;
  try {
    for (const g of metadata.row_groups) {
      const start = total;
      const end = total + Number(g.num_rows);
      const rows = await readGroup(file, metadata, start, end, name);
      rows.forEach((row, k) => {
        const at = { file: name, line: start + k + 1, record: start + k };
        const decoded = decodeResearchRow(row, at);
        if (E.isLeft(decoded)) throw badRow(decoded.left);
        columns.add(at.line, decoded.right);
      });
      await copy.write(rows);
      total = end;
    }
  } catch (e) {
    await copy.abort();
    throw e;
  }
  await copy.close();
  const index = await indexIpcStream(copyPath);
  const info = await stat(name);
  const fingerprint = await fingerprintOf(name, info.size);
  const rowsAt = async (positions: ReadonlyArray<number>): Promise<Row[]> => {
    const now = await stat(name);
    if (now.size !== info.size || now.mtimeMs !== info.mtimeMs) throw new FileError(name, 'changed since it was indexed; run again');
    const batches = [...new Set(positions.map((p) => Math.floor(p / COPY_BATCH_ROWS)))];
    const decoded = new Map((await readIpcBatches(index, batches)).map((b, i) => [batches[i]!, b] as const));
    return positions.map((p) => rowsOf(decoded.get(Math.floor(p / COPY_BATCH_ROWS))!, [p % COPY_BATCH_ROWS])[0]!);
  };
  const store = new RowFileStore(name, columns, async (positions) => {
    const rows = await rowsAt(positions);
    return rows.map((row, i): Located<Example> => {
      const at = { file: name, line: positions[i]! + 1, record: positions[i]! };
      const decoded = decodeResearchRow(row, at);
      if (E.isLeft(decoded)) throw badRow(decoded.left);
      return { ...at, value: decoded.right };
    });
  });
  return {
    file: name,
    rows: total,
    chunks: [{ firstLine: 1, rows: total, schema: schemaOfFeatures(features) }],
    fingerprint,
    features,
    store,
    async *rawRows(from: number, to: number) {
      for (let at = from; at < to; at += COPY_BATCH_ROWS) yield* await rowsAt(Array.from({ length: Math.min(COPY_BATCH_ROWS, to - at) }, (_, k) => at + k));
    },
  };
};

/** SHA-256 of the file's size, footer and first 64 KiB (its content check, as for task file indexes). */
const fingerprintOf = async (name: string, size: number): Promise<string> => {
  const handle = await open(name, 'r');
  try {
    const n = Math.min(size, 65536);
    const head = Buffer.alloc(n);
    const tail = Buffer.alloc(n);
    await handle.read(head, 0, n, 0);
    await handle.read(tail, 0, n, Math.max(0, size - n));
    return createHash('sha256').update(String(size)).update(head).update(tail).digest('hex');
  } finally {
    await handle.close();
  }
};

/** The features of a Parquet file (for the dataset's columns). */
export const readParquetFeatures = async (name: string): Promise<Features> => parquetFeatures(await parquetMetadataAsync(await asyncBufferFromFile(name)), name);

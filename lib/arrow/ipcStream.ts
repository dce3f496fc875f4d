/**
 * Arrow IPC stream files (what `datasets` writes: `data-00000-of-00001.arrow`) read by record
 * batch: one pass over the message headers finds where each batch is, then any batch is read and
 * decoded on its own, so a file is never held in memory whole.
 *
 * @module
 */
import { open, stat } from 'node:fs/promises';
import { MessageHeader, Message, RecordBatch, RecordBatchReader, type Schema } from 'apache-arrow';
import { ConfigError, FileError, InvariantError } from '../core/errors.js';
import { IPC_END_OF_STREAM } from './ipcMessages.js';

/**
 * Where one record batch is in a stream file: bytes `[start, end)` (its message and body) and its rows.
 *
 * @category models
 */
export interface IpcBatchSpan {
  readonly start: number;
  readonly end: number;
  readonly rows: number;
}

/**
 * A stream file's schema and record batches.
 *
 * @category models
 */
export interface IpcStreamIndex {
  readonly file: string;
  readonly schema: Schema;
  /** The schema message as it is in the file (prepended to a batch's bytes to decode it alone). */
  readonly schemaBytes: Uint8Array;
  readonly batches: ReadonlyArray<IpcBatchSpan>;
  readonly rows: number;
  /** Size and modification time when indexed: reads check them. */
  readonly stat: { readonly size: number; readonly mtimeMs: number };
}

const EOS = IPC_END_OF_STREAM;

const bad = (file: string, message: string) => new ConfigError('arrow', `${file}: ${message}`);

/**
 * Indexes an Arrow IPC stream file: reads each message's header (never its body) and records
 * where every record batch is.
 *
 * **Details**: messages are framed as Arrow ≥ 0.15 writes them (`0xFFFFFFFF`, metadata length,
 * flatbuffer metadata, body) or as older writers did (no continuation marker); a zero length or
 * the end of the file ends the stream.
 *
 * **Gotchas**: dictionary batches and compressed bodies are a {@link ConfigError} (`datasets` writes
 * neither). The whole file is not a valid stream otherwise: also a `ConfigError` naming it.
 *
 * @example
 * const index = await indexIpcStream('saved/data-00000-of-00001.arrow');
 * index.rows; index.batches.length;
 *
 * @category constructors
 */
export const indexIpcStream = async (file: string): Promise<IpcStreamIndex> => {
  const handle = await open(file, 'r');
  try {
    const info = await handle.stat();
    const size = info.size;
    const head = Buffer.alloc(8);
    let at = 0;
    let schema: Schema | null = null;
    let schemaBytes: Uint8Array | null = null;
    const batches: IpcBatchSpan[] = [];
    let rows = 0;
    while (at + 4 <= size) {
      const start = at;
      await handle.read(head, 0, Math.min(8, size - at), at);
      let length = head.readInt32LE(0);
      let prefix = 4;
      if (length === -1) {
        if (at + 8 > size) throw bad(file, `truncated message header at byte ${at}`);
        length = head.readInt32LE(4);
        prefix = 8;
      }
      if (length === 0) break;
      if (length < 0 || at + prefix + length > size) throw bad(file, `corrupt message header at byte ${at}`);
      const metadata = Buffer.alloc(length);
      await handle.read(metadata, 0, length, at + prefix);
      let message: Message;
      try {
        message = Message.decode(metadata);
      } catch (e) {
        throw bad(file, `unreadable message at byte ${at}: ${(e as Error).message}`);
      }
      const end = at + prefix + length + Number(message.bodyLength);
      if (end > size) throw bad(file, `the message at byte ${at} runs past the end of the file`);
      if (message.headerType === MessageHeader.Schema) {
        if (schema !== null) throw bad(file, 'a second schema message');
        schema = message.header() as Schema;
        const bytes = Buffer.alloc(end - start);
        await handle.read(bytes, 0, bytes.length, start);
        schemaBytes = bytes;
      } else if (message.headerType === MessageHeader.RecordBatch) {
        if (schema === null) throw bad(file, 'a record batch before the schema');
        const header = message.header() as unknown as { length: number; compression: unknown };
        if (header.compression !== null && header.compression !== undefined) throw bad(file, 'compressed record batches are not supported');
        batches.push({ start, end, rows: Number(header.length) });
        rows += Number(header.length);
      } else if (message.headerType === MessageHeader.DictionaryBatch) {
        throw bad(file, 'dictionary-encoded columns are not supported');
      } else {
        throw bad(file, `unexpected message type ${MessageHeader[message.headerType] ?? message.headerType}`);
      }
      at = end;
    }
    if (schema === null || schemaBytes === null) throw bad(file, 'no schema: not an Arrow IPC stream');
    return { file, schema, schemaBytes, batches, rows, stat: { size, mtimeMs: info.mtimeMs } };
  } finally {
    await handle.close();
  }
};

/**
 * Reads and decodes record batches of an indexed stream file, in the order asked.
 *
 * **Gotchas**: a file changed since it was indexed is a {@link FileError}.
 *
 * @example
 * const [batch] = await readIpcBatches(index, [3]);
 * batch.numRows;
 *
 * @category constructors
 */
export const readIpcBatches = async (index: IpcStreamIndex, which: ReadonlyArray<number>): Promise<ReadonlyArray<RecordBatch>> => {
  const handle = await open(index.file, 'r');
  try {
    const now = await handle.stat();
    if (now.size !== index.stat.size || now.mtimeMs !== index.stat.mtimeMs) {
      throw new FileError(index.file, 'changed since it was indexed; run again');
    }
    const out: RecordBatch[] = [];
    for (const k of which) {
      const span = index.batches[k];
      if (span === undefined) throw new InvariantError(`record batch ${k} is outside ${index.file} (${index.batches.length} batches)`);
      const bytes = new Uint8Array(index.schemaBytes.length + (span.end - span.start) + EOS.length);
      bytes.set(index.schemaBytes, 0);
      await handle.read(bytes, index.schemaBytes.length, span.end - span.start, span.start);
      bytes.set(EOS, bytes.length - EOS.length);
      const batch = RecordBatchReader.from(bytes).next().value as RecordBatch | undefined;
      if (batch === undefined || batch.numRows !== span.rows) throw bad(index.file, `record batch ${k} does not decode as indexed`);
      out.push(batch);
    }
    return out;
  } finally {
    await handle.close();
  }
};

/** Size and modification time, for callers that cache indexes. */
export const statOf = async (file: string): Promise<{ size: number; mtimeMs: number }> => {
  const s = await stat(file);
  return { size: s.size, mtimeMs: s.mtimeMs };
};

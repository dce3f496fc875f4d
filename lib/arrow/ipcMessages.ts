/**
 * Arrow IPC stream framing: the bytes of a stream's schema message, of each record batch message,
 * and of the end-of-stream marker. Why not apache-arrow's stream writer as it is: it queues
 * everything written until its reader drains it, with no backpressure; encoding batch by batch
 * lets each be written (and awaited) before the next is built, and a stream be cut into files at
 * batch boundaries. A batch message does not depend on where it sits in the stream, so a stream
 * assembled from these is byte for byte what one writer would produce.
 *
 * @module
 */
import { RecordBatchStreamWriter, type RecordBatch, type Schema } from 'apache-arrow';
import { compareSchemas } from 'apache-arrow/visitor/typecomparator';
import { InvariantError } from '../core/errors.js';

/**
 * The end-of-stream marker: continuation token, then a zero metadata length (the IPC format's
 * "EOS"). A stream is its schema message, its record batch messages, and this.
 */
export const IPC_END_OF_STREAM: Uint8Array = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

/**
 * apache-arrow's own stream writer, with what it writes handed over per message instead of queued:
 * the encoding (flatbuffer metadata, buffer layout, padding) stays the library's. One writer per
 * stream, so the schema is encoded once (re-encoding it per batch cost more than the batch itself).
 */
class MessageWriter extends RecordBatchStreamWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  protected override _write(chunk: ArrayBufferView): this {
    if (this._started && chunk.byteLength > 0) {
      this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.size += chunk.byteLength;
      this._position += chunk.byteLength;
    }
    return this;
  }

  /** Everything written since the last call, as one array: one write of a message instead of dozens of small ones. */
  take(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    this.chunks = [];
    this.size = 0;
    return out;
  }
}

const columns = (of: { readonly schema: Schema }): string => of.schema.fields.map(String).join(', ');

/**
 * Encodes one stream's messages: {@link IpcStreamEncoder.schema} first, then one
 * {@link IpcStreamEncoder.batch} per record batch, then {@link IPC_END_OF_STREAM}.
 *
 * @category sinks
 */
export interface IpcStreamEncoder {
  /** The schema message, the first bytes of the stream. */
  readonly schema: Uint8Array;
  /** One record batch's message (metadata and body); the batch must have the encoder's schema. */
  batch(batch: RecordBatch): Uint8Array;
}

/**
 * An encoder for a stream of `schema`'s record batches.
 *
 * @example
 * const encoder = ipcStreamEncoder(schema);
 * await write(out, encoder.schema);
 * for (const batch of batches) await write(out, encoder.batch(batch));
 * await write(out, IPC_END_OF_STREAM);
 *
 * @category sinks
 */
export const ipcStreamEncoder = (schema: Schema): IpcStreamEncoder => {
  const writer = new MessageWriter();
  writer.reset(undefined, schema);
  const schemaBytes = writer.take();
  return {
    schema: schemaBytes,
    batch(batch) {
      // apache-arrow's writer closes the stream, silently, on a batch of another schema.
      if (!compareSchemas(schema, batch.schema)) throw new InvariantError(`a record batch of (${columns(batch)}) in a stream of (${columns({ schema })})`);
      writer.write(batch);
      return writer.take();
    },
  };
};

/**
 * Arrow IPC stream framing: the bytes of a stream's schema message, of one record batch message,
 * and of the end-of-stream marker. Why: apache-arrow's stream writer queues everything written
 * until it is read, with no backpressure; encoding batch by batch lets each be written (and
 * awaited) before the next is built. A batch message does not depend on where it sits in the
 * stream, so a stream assembled from these is byte for byte what one writer would produce.
 *
 * @module
 */
import { RecordBatchStreamWriter, type RecordBatch, type Schema, Table } from 'apache-arrow';
import { InvariantError } from '../core/errors.js';

/**
 * The end-of-stream marker: continuation token, then a zero metadata length (the IPC format's
 * "EOS"). A stream is its schema message, its record batch messages, and this.
 */
export const IPC_END_OF_STREAM: Uint8Array = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

/** Length of the first message of an IPC stream (the schema: continuation, length, metadata; no body). */
const firstMessageLength = (bytes: Uint8Array): number => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getInt32(0, true) !== -1) throw new InvariantError('apache-arrow wrote a stream that does not start with an encapsulated message');
  return 8 + view.getInt32(4, true);
};

/**
 * The schema message that starts an Arrow IPC stream.
 *
 * @example
 * out.write(ipcSchemaMessage(schema)); // then ipcRecordBatchMessage(batch) per batch, then IPC_END_OF_STREAM
 *
 * @category sinks
 */
export const ipcSchemaMessage = (schema: Schema): Uint8Array => {
  const stream = RecordBatchStreamWriter.writeAll(new Table(schema)).toUint8Array(true);
  return stream.slice(0, firstMessageLength(stream));
};

/**
 * One record batch as its IPC message (metadata and body), to follow the schema message of its
 * schema. Written by apache-arrow's own writer, then cut out of the one-batch stream it makes.
 *
 * @example
 * out.write(ipcRecordBatchMessage(stepRecordBatch([batch], options)));
 *
 * @category sinks
 */
export const ipcRecordBatchMessage = (batch: RecordBatch): Uint8Array => {
  const stream = RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
  return stream.subarray(firstMessageLength(stream), stream.byteLength - IPC_END_OF_STREAM.byteLength);
};

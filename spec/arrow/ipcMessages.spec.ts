/**
 * Arrow IPC framing message by message: a stream assembled from the encoder's messages is byte for
 * byte what apache-arrow's one-shot stream writer makes of the same batches.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RecordBatchStreamWriter, tableFromArrays, tableFromIPC, type RecordBatch } from 'apache-arrow';
import { IPC_END_OF_STREAM, ipcStreamEncoder } from '../../lib/arrow/ipcMessages.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

const batchesOf = (sizes: ReadonlyArray<number>): RecordBatch[] =>
  sizes.flatMap((n, k) => tableFromArrays({ id: Int32Array.from({ length: n }, (_, i) => i * 7 + k), score: Float32Array.from({ length: n }, (_, i) => i / 3) }).batches);

describe(`ipcStreamEncoder (FC_SEED=${FC_SEED})`, () => {
  it('schema + each batch + end-of-stream = apache-arrow writeAll, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 6 }), async (sizes) => {
        const batches = batchesOf(sizes.length > 0 ? sizes : [1]);
        const encoder = ipcStreamEncoder(batches[0]!.schema);
        const assembled = Buffer.concat([encoder.schema, ...batches.map((b) => encoder.batch(b)), IPC_END_OF_STREAM]);
        const oneShot = RecordBatchStreamWriter.writeAll(batches).toUint8Array(true);
        return Buffer.compare(assembled, Buffer.from(oneShot)) === 0;
      }),
      fcParams({ numRuns: 30 }),
    );
  });

  it('a stream of the schema alone reads as an empty table', () => {
    const [batch] = batchesOf([3]);
    const table = tableFromIPC(Buffer.concat([ipcStreamEncoder(batch!.schema).schema, IPC_END_OF_STREAM]));
    assert.equal(table.numRows, 0);
    assert.deepEqual(table.schema.names, ['id', 'score']);
  });

  it('a batch of another schema is an InvariantError (apache-arrow would silently end the stream)', () => {
    const [batch] = batchesOf([3]);
    const other = tableFromArrays({ name: ['a'] }).batches[0]!;
    assert.throws(() => ipcStreamEncoder(batch!.schema).batch(other), (e: Error) => e.name === 'InvariantError' && /name/.test(e.message));
  });
});

import type { PaddedBatch } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import { IPC_END_OF_STREAM } from '../arrow/ipcMessages.js';
import { stepStreamEncoder, type StepTableOptions } from './stepTable.js';

/**
 * Steps as an Arrow IPC stream: the schema message, then one record batch of one row per step,
 * then the end-of-stream marker; each element is bytes to write as they are (`dump --format arrow`).
 *
 * **Details**: the table is {@link stepSchema}'s: dump's JSON fields with ids and masks as int32
 * rows (row-major and back to back, so readers map them to numpy or torch without copying),
 * teacher scores as float32, and per step its epoch, step, global step, rank, world size and the
 * resume state after it. pyarrow reads it with `pa.ipc.open_stream`; the Python package in python/
 * turns it into numpy arrays or torch tensors. Each step is encoded by {@link stepStreamEncoder}:
 * one allocation per step, so the stream costs the pipeline little.
 *
 * **Gotchas**: if the source fails, the stream ends without the end-of-stream marker, so that a
 * reader sees it cut short rather than complete.
 *
 * @example
 * for await (const bytes of batches.pipe(toArrowStream({ subBatchSize: null }))) await write(process.stdout, bytes);
 *
 * @category sinks
 */
export const toArrowStream = (options: StepTableOptions): Op<PaddedBatch, Uint8Array> => {
  const encoder = stepStreamEncoder(options);
  return operator(async function* (batches, signal) {
    yield encoder.schema;
    for await (const batch of batches) {
      signal?.throwIfAborted();
      yield encoder.step(batch);
    }
    yield IPC_END_OF_STREAM;
  });
};

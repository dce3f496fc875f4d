/**
 * A batch worker: builds the texts, ids and tensors of sampled batches with its own tokenizer.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SampledBatch } from '../core/model.js';
import { type BatchBuilderOptions, textBuilder } from '../stages/batchBuilder.js';
import { tokenizerFromRecipe } from '../tokenizers/transformers.js';
import { errorToWire, packRows, type Request, type Response, type WorkerOptions } from './wire.js';

const port = parentPort!;
const { recipe, steps } = workerData as WorkerOptions;
const ready = (async () => {
  const tokenizer = await tokenizerFromRecipe(recipe);
  return textBuilder({ ...(steps as unknown as BatchBuilderOptions), tokenizer })();
})();
// A failure to start (a tokenizer that cannot be built) is reported to each request, not left to crash the thread.
ready.catch(() => undefined);

port.on('message', (request: Request) => {
  void (async (): Promise<Response> => {
    try {
      const step = await ready;
      // The worker gets a store-less task: the steps never read records, they have them.
      const { queries, passages, teacherScores, noInBatchNeg, messages, queryIds, passageIds } = await step(request.batch as unknown as SampledBatch);
      return { id: request.id, result: { queries, passages, teacherScores, noInBatchNeg, ...(messages === undefined ? {} : { messages }), ...packRows([...queryIds, ...passageIds]) } };
    } catch (e) {
      return { id: request.id, error: errorToWire(e) };
    }
  })().then((response) => port.postMessage(response, 'result' in response ? [response.result.ids.buffer as ArrayBuffer] : []));
});

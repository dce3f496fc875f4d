/**
 * Building batches on worker threads.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { from } from 'ix/asynciterable';
import { ConfigError, InvariantError } from '../core/errors.js';
import { MAX_WORKERS } from '../core/limits.js';
import { mapConcurrent } from '../core/mapConcurrent.js';
import type { PaddedBatch, SampledBatch, TokenizedBatch } from '../core/model.js';
import type { Op } from '../core/operator.js';
import { operator } from '../core/operator.js';
import type { TokenizerPort } from '../tokenizers/port.js';
import { errorFromWire, toWire, unpackRows, type Request, type Response, type WorkerOptions } from './wire.js';
import { paddingStep, type BatchBuilderOptions } from '../stages/batchBuilder.js';

/**
 * Where a worker thread starts. Built (dist/, plain JavaScript), the worker module itself; run from
 * the TypeScript sources (a checkout), entry.mjs, which installs the TypeScript loader in the thread
 * first (a worker does not inherit the main thread's module hooks).
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts') ? new URL('./entry.mjs', import.meta.url) : new URL('./batchWorker.js', import.meta.url);

/**
 * Options of {@link workerBatches}.
 *
 * @category stages
 */
export interface WorkerBatchesOptions {
  /** Worker threads (each with its own tokenizer). Required, at least 1. */
  readonly workers: number;
  /** The tokenizer; it must have a `recipe` (loaded with `loadTokenizer`, `tokenizerFromFiles` or `fixtureTokenizer`). */
  readonly tokenizer: TokenizerPort;
  /** Batches queued per worker (each holds a batch in memory). Default: 4. */
  readonly queuePerWorker?: number;
}

/** The plain-data options the per-batch steps read. */
const stepOptions = (options: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> => {
  const keys = [
    'queryInstructionForRetrieval',
    'queryInstructionFormat',
    'passageInstructionForRetrieval',
    'passageInstructionFormat',
    'queryMaxLen',
    'passageMaxLen',
    'exampleQueryMaxLen',
    'examplePassageMaxLen',
    'iclSuffixStr',
    'exampleBudgetReserve',
    'padToMultipleOf',
    'subBatchSize',
    'exampleJoinStr',
    'budgetTexts',
    'typeRules',
  ];
  return Object.fromEntries(keys.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
};

/**
 * `formatPrompt`, `augmentIcl`, `tokenize` and `pad` for each batch, on a pool of worker threads:
 * in order, deterministic (each batch's result depends only on the batch), with at most
 * `workers × queuePerWorker` batches in flight.
 *
 * **Details**: each worker rebuilds the tokenizer from its recipe and runs the same steps as the
 * single-threaded pipeline, so the output is identical for any number of workers. Typed errors
 * (`RecordError`, `ConfigError`, …) come back as themselves, at their batch's place.
 *
 * **Gotchas**: workers start when iteration starts and are terminated when it ends, also when the
 * consumer stops early (`return()`).
 *
 * @example
 * sampled.pipe(workerBatches({ ...options, workers: 2 }));
 *
 * @category stages
 */
export const workerBatches = (options: WorkerBatchesOptions & Readonly<Record<string, unknown>>): Op<SampledBatch, PaddedBatch> => {
  const { workers: count, tokenizer } = options;
  if (!Number.isSafeInteger(count) || count < 1) throw new ConfigError('workers', `must be a positive integer, got ${count}`);
  if (count > MAX_WORKERS) {
    throw new ConfigError('workers', `is ${count}, more than ${MAX_WORKERS}: each worker thread loads its own tokenizer and caches (tens of MB each), and threads beyond the machine's cores only take turns`);
  }
  if (tokenizer.recipe === undefined) throw new ConfigError('workers', `the tokenizer ${tokenizer.name} has no recipe, so worker threads cannot rebuild it`);
  const perWorker = options.queuePerWorker ?? 4;
  const workerData: WorkerOptions = { recipe: tokenizer.recipe, steps: stepOptions(options) };
  const toPadded = paddingStep(options as unknown as BatchBuilderOptions);
  return operator(async function* (batches) {
    const pool = Array.from({ length: count }, () => new Worker(WORKER_ENTRY, { workerData }));
    const pending = new Map<number, { resolve: (r: Response) => void; reject: (e: unknown) => void }>();
    let broken: unknown = null;
    for (const worker of pool) {
      worker.on('message', (response: Response) => {
        const waiting = pending.get(response.id);
        pending.delete(response.id);
        waiting?.resolve(response);
      });
      // A worker that fails or exits takes the pool down: every waiting batch, and every later one, fails.
      const down = (error: unknown) => {
        broken ??= error;
        for (const w of pending.values()) w.reject(error);
        pending.clear();
      };
      worker.on('error', down);
      worker.on('exit', (code) => down(new InvariantError(`a batch worker exited (code ${code}) while batches were being built`)));
    }
    let next = 0;
    try {
      yield* from(batches).pipe(
        mapConcurrent(count * perWorker, () => async (batch: SampledBatch): Promise<PaddedBatch> => {
          const id = next++;
          const response = await new Promise<Response>((resolve, reject) => {
            if (broken !== null) return reject(broken);
            pending.set(id, { resolve, reject });
            // Round robin: batches are about the same size, and the order of results is kept anyway.
            pool[id % count]!.postMessage({ id, batch: toWire(batch) } satisfies Request);
          });
          if ('error' in response) throw errorFromWire(response.error);
          const { ids, rowLengths, ...texts } = response.result;
          const rows = unpackRows(ids, rowLengths);
          // The same fields as in this thread (augmentIcl drops the draws and the replay flag).
          const { groups: _groups, icl: _icl, replay: _replay, ...position } = batch;
          return toPadded({
            ...position,
            ...texts,
            queryIds: rows.slice(0, texts.queries.length) as unknown as TokenizedBatch['queryIds'],
            passageIds: rows.slice(texts.queries.length) as unknown as TokenizedBatch['passageIds'],
          });
        }),
      );
    } finally {
      // Terminating fires 'exit': by then nothing waits any more, and later batches are not asked for.
      broken ??= new InvariantError('the worker pool is closed');
      await Promise.all(pool.map((w) => w.terminate()));
    }
  });
};

import { ConfigError, RecordError } from '../core/errors.js';
import type { Task } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import { researchBatchSize, researchGroupSize, researchUsesExamples, type ResearchTypeOptions } from '../plan/researchRules.js';
import type { DatasetSplit } from '../sources/researchDataset.js';

/**
 * Options of {@link batchBySplit}: the research module's batch-size arguments.
 *
 * @category stages
 */
export interface BatchBySplitOptions extends ResearchTypeOptions {
  /** `per_device_train_batch_size`. Required. */
  readonly perDeviceTrainBatchSize: number;
  /** `symmetric_batch_size`: the global batch of symmetric splits (divided by the world size). Default: 128. */
  readonly symmetricBatchSize?: number;
  /** Number of ranks. Default: 1. */
  readonly worldSize?: number;
}

const positive = (option: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(option, `must be a positive integer, got ${value}`);
  return value;
};

/** @internal */
export const validateBatchBySplitOptions = (options: BatchBySplitOptions) => ({
  perDeviceTrainBatchSize: positive('per_device_train_batch_size', options.perDeviceTrainBatchSize),
  symmetricBatchSize: positive('symmetric_batch_size', options.symmetricBatchSize ?? 128),
  worldSize: positive('world_size', options.worldSize ?? 1),
  retrievalUseExamples: options.retrievalUseExamples ?? true,
});

/**
 * Turns the splits of a research dataset into tasks, as the research module's
 * `SameDatasetTrainDataset.__init__` does: one task per split, in order, with the batch size of
 * `researchBatchSize` (from the split's first row; the per-device size for every split after
 * `load_from_disk`).
 *
 * **Details**: before the first batch, what would crash the module later becomes an error here:
 * - `symmetric_batch_size // world_size` of 0 for a symmetric split ({@link ConfigError}: the module's
 *   `range(…, 0)` raises);
 * - a split that fills a global batch and draws in-context examples with a per-device batch below 6
 *   ({@link ConfigError} on `per_device_train_batch_size` or `symmetric_batch_size`: `random.sample(range(B),
 *   choices + 1)` raises once a query draws 5 examples);
 * - with `retrieval_use_examples` off, a split whose records disagree on taking examples
 *   ({@link RecordError}: the module restarts its example list at such a record, and `random.sample`
 *   then draws from fewer pairs than the batch has);
 * - a record without negatives in a split whose batches need some ({@link RecordError}: division by zero).
 * Splits smaller than one global batch yield no batch (`epochShuffle` reports their tails); if no
 * split fills one, `epochShuffle` stops with a `ConfigError`.
 *
 * **Gotchas**: reads every split's row metadata (an index scan, no texts) before the first task.
 *
 * @example
 * loadDatasetSplits(options).pipe(batchBySplit({ perDeviceTrainBatchSize: 8, symmetricBatchSize: 16, worldSize: 2 }));
 *
 * @category stages
 */
export const batchBySplit = (options: BatchBySplitOptions): Op<DatasetSplit, Task> => {
  const config = validateBatchBySplitOptions(options);
  return operator(async function* (splits, signal) {
    let index = 0;
    for await (const split of splits) {
      signal?.throwIfAborted();
      const first = split.store.meta(0);
      const firstType = first.type ?? '';
      const batchSize = researchBatchSize(firstType, { ...config, fromDisk: split.fromDisk });
      const option = !split.fromDisk && firstType.includes('symmetric') ? 'symmetric_batch_size' : 'per_device_train_batch_size';
      if (batchSize === 0) {
        throw new ConfigError('symmetric_batch_size', `${config.symmetricBatchSize} // world_size ${config.worldSize} is 0 for the symmetric split ${split.name} (the research module's range(…, 0) raises)`);
      }
      let needsNegatives = false;
      const examples = researchUsesExamples(firstType, config.retrievalUseExamples);
      for (let i = 0; i < split.store.size; i++) {
        const meta = split.store.meta(i);
        const type = meta.type ?? '';
        if (researchUsesExamples(type, config.retrievalUseExamples) !== examples) {
          throw new RecordError([
            {
              file: meta.file,
              line: meta.line,
              field: 'type',
              message: `is ${JSON.stringify(type)} but the split's first record (${first.file}:${first.line}) is ${JSON.stringify(firstType)}, and with retrieval_use_examples off one takes in-context examples and the other not: the research module then restarts its example list mid-batch and random.sample fails; give the split records of one kind`,
            },
          ]);
        }
        needsNegatives ||= researchGroupSize(type, options) > 1;
      }
      if (needsNegatives) {
        for (let i = 0; i < split.store.size; i++) {
          const meta = split.store.meta(i);
          if (meta.negatives === 0) {
            throw new RecordError([{ file: meta.file, line: meta.line, field: 'neg', message: `is empty, but batches of split ${split.name} need negatives (the research module divides by len(neg))` }]);
          }
        }
      }
      if (examples && batchSize < 6 && split.store.size >= batchSize * config.worldSize) {
        throw new ConfigError(
          option,
          `gives split ${split.name} a per-device batch of ${batchSize}, and its queries draw up to 5 in-context examples: the research module's random.sample(range(${batchSize}), choices + 1) fails once a query draws ${batchSize} or more; use a per-device batch of at least 6${config.retrievalUseExamples ? ', or retrieval_use_examples false (for types without sts, clustering or class)' : ''}`,
        );
      }
      yield {
        index: index++,
        name: `${split.dataset} [${split.name}]`,
        files: split.files,
        offset: split.offset,
        ...(split.globalIndices === undefined ? {} : { globalIndices: split.globalIndices }),
        batchSize,
        noInBatchNeg: false,
        type: firstType,
        columns: split.columns,
        store: split.store,
        fingerprint: split.fingerprint,
      };
    }
  });
};

/**
 * The research flavor's source: the splits of `train_data` (or of a `load_from_disk` folder), after
 * the optional `save_to_disk`.
 *
 * @module
 */
import { defer, type AsyncIterableX } from 'ix/asynciterable';
import { ConfigError } from '../core/errors.js';
import type { ReportSink } from '../core/report.js';
import { researchBatchSize } from '../plan/researchRules.js';
import { loadResearchDataset, loadResearchFromDisk, type DatasetSplit, type ResearchDataset } from './researchDataset.js';
import { saveResearchDataset, type SaveResult } from './saveResearchDataset.js';

/**
 * Options of {@link loadDatasetSplits}, with the research module's argument names.
 *
 * @category models
 */
export interface DatasetSplitsOptions {
  /** `train_data`: one dataset folder (or, deliberately beyond the module, one data file as split `train`). */
  readonly trainData?: string | ReadonlyArray<string>;
  /** `load_from_disk`: read `load_disk_path` (a `save_to_disk` folder with the module's `.log`) instead. Default: false. */
  readonly loadFromDisk?: boolean;
  /** `load_disk_path`. */
  readonly loadDiskPath?: string | null;
  /** `save_to_disk`: write the loaded dataset to `save_disk_path` first. Default: false. */
  readonly saveToDisk?: boolean;
  /** `save_disk_path`. */
  readonly saveDiskPath?: string | null;
  /** `num_shards`: shards to write when > 0. Default: 0 (by `save_max_shard_size`). */
  readonly numShards?: number;
  /** `save_max_shard_size`. Default: `'50GB'`. */
  readonly saveMaxShardSize?: string;
  /** The batch-size arguments, for the `.log`'s `batch_size_inxs`. */
  readonly perDeviceTrainBatchSize: number;
  readonly symmetricBatchSize?: number;
  readonly worldSize?: number;
  /** Receives `fileSkipped` (files `load_dataset` passes over) and `saveSkipped` events. */
  readonly report?: ReportSink;
}

/** @internal */
export const validateDatasetSplitsOptions = (options: DatasetSplitsOptions): { path: string; fromDisk: boolean } => {
  if (options.loadFromDisk) {
    if (typeof options.loadDiskPath !== 'string' || options.loadDiskPath === '') throw new ConfigError('load_disk_path', 'is required with load_from_disk');
    return { path: options.loadDiskPath, fromDisk: true };
  }
  const trainData = options.trainData;
  const paths = typeof trainData === 'string' ? [trainData] : (trainData ?? []);
  if (paths.length !== 1) {
    throw new ConfigError('train_data', `the research flavor reads one dataset (datasets.load_dataset(train_data)), got ${paths.length === 0 ? 'none' : `${paths.length} paths`}`);
  }
  if (options.saveToDisk && (typeof options.saveDiskPath !== 'string' || options.saveDiskPath === '')) throw new ConfigError('save_disk_path', 'is required with save_to_disk');
  return { path: paths[0]!, fromDisk: false };
};

/**
 * Loads the dataset (`load_dataset` or `load_from_disk`) and, with `save_to_disk`, writes it, as
 * the research module's constructor does.
 *
 * @example
 * const { dataset, saved } = await prepareResearchDataset(options);
 *
 * @category constructors
 */
export const prepareResearchDataset = async (options: DatasetSplitsOptions): Promise<{ dataset: ResearchDataset; saved: SaveResult | null }> => {
  const { path, fromDisk } = validateDatasetSplitsOptions(options);
  const dataset = fromDisk ? await loadResearchFromDisk(path) : await loadResearchDataset(path);
  for (const event of dataset.events) options.report?.add(event);
  if (!options.saveToDisk) return { dataset, saved: null };
  if (typeof options.saveDiskPath !== 'string' || options.saveDiskPath === '') throw new ConfigError('save_disk_path', 'is required with save_to_disk');
  const sizes = { perDeviceTrainBatchSize: options.perDeviceTrainBatchSize, symmetricBatchSize: options.symmetricBatchSize ?? 128, worldSize: options.worldSize ?? 1 };
  const batchSizes = dataset.splits.map((s) => researchBatchSize(s.store.meta(0).type ?? '', { ...sizes, fromDisk: s.fromDisk }));
  const saved = await saveResearchDataset(dataset, {
    saveDiskPath: options.saveDiskPath,
    ...(options.numShards === undefined ? {} : { numShards: options.numShards }),
    ...(options.saveMaxShardSize === undefined ? {} : { saveMaxShardSize: options.saveMaxShardSize }),
    batchSizes,
  });
  if (!saved.saved) options.report?.add({ kind: 'saveSkipped', dir: saved.dir, reason: saved.reason });
  return { dataset, saved };
};

/**
 * The splits of the research flavor's data, in the order the research module makes them tasks.
 *
 * **Details**: loads `train_data` as `datasets.load_dataset` does (`loadResearchDataset`) or
 * `load_disk_path` as its `load_from_disk` path does (`loadResearchFromDisk`); with `save_to_disk`,
 * writes the dataset and its `.log` to `save_disk_path` first (`saveResearchDataset`). Every row is
 * decoded while indexing, so bad data fails before the first batch. Lazy and re-iterable (each
 * iteration loads again; saving is skipped once the `.log` exists, as in the module).
 *
 * @example
 * loadDatasetSplits({ trainData: 'examples/research/jsonl-configs', perDeviceTrainBatchSize: 6 }).pipe(batchBySplit(options));
 *
 * @category constructors
 */
export const loadDatasetSplits = (options: DatasetSplitsOptions): AsyncIterableX<DatasetSplit> => {
  validateDatasetSplitsOptions(options);
  return defer(async function* (signal?: AbortSignal) {
    const { dataset } = await prepareResearchDataset(options);
    for (const split of dataset.splits) {
      signal?.throwIfAborted();
      yield split;
    }
  });
};

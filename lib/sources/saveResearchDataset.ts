/**
 * The research module's `save_to_disk`: the concatenated dataset as a `save_to_disk` folder, plus
 * the `.log` its `load_from_disk` path reads.
 *
 * @module
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { Feature, Features } from '../arrow/features.js';
import { atomicWriteFile } from '../arrow/atomicFile.js';
import { saveToDisk } from '../arrow/saveToDisk.js';
import type { Row } from '../arrow/values.js';
import { RESEARCH_LOG, type ResearchDataset } from './researchDataset.js';

/**
 * Options of {@link saveResearchDataset}, with the research module's argument names.
 *
 * @category sinks
 */
export interface SaveResearchOptions {
  /** `save_disk_path`. Required. */
  readonly saveDiskPath: string;
  /** `num_shards`: a fixed number of shards when > 0; else shards of at most `save_max_shard_size`. Default: 0. */
  readonly numShards?: number;
  /** `save_max_shard_size`. Default: `'50GB'`. */
  readonly saveMaxShardSize?: string;
  /** Each split's batch size as the module computed it (the `.log`'s `batch_size_inxs`). */
  readonly batchSizes: ReadonlyArray<number>;
}

/**
 * What {@link saveResearchDataset} did.
 *
 * @category models
 */
export type SaveResult = { readonly saved: true; readonly dir: string; readonly shards: number } | { readonly saved: false; readonly dir: string; readonly reason: 'log-exists' };

/** A value as `datasets`' cast to the column's type leaves it (numbers and booleans in text columns, numeric texts in number columns). */
const castValue = (v: unknown, feature: Feature): unknown => {
  if (v === null || v === undefined) return null;
  switch (feature.kind) {
    case 'value': {
      const d = feature.dtype;
      if (d === 'null') return null;
      if (d === 'string' || d === 'large_string') return typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : String(v);
      if (d === 'bool') return typeof v === 'boolean' ? v : Boolean(Number(v));
      if (typeof v === 'string') return Number(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      return v;
    }
    case 'list':
      return Array.isArray(v) ? v.map((x) => castValue(x, feature.feature)) : v;
    case 'struct':
      return Object.fromEntries(feature.fields.map((f) => [f.name, castValue((v as Record<string, unknown>)[f.name], f.feature)]));
  }
};

const castRow = (row: Row, features: Features): Row => Object.fromEntries(features.map(({ name, feature }) => [name, castValue(row[name], feature)]));

/**
 * Writes a research dataset as the module's `save_to_disk` does: `Dataset.save_to_disk(save_disk_path,
 * num_shards=…)` (or `max_shard_size=save_max_shard_size` when `num_shards` ≤ 0) of the
 * concatenation of all splits, then `.log` with `train_data`, `each_data_inxs` (each task's global
 * row indices), `batch_size_inxs` and `data_names`, as JSON with a four-space indent.
 *
 * **Details**: when `save_disk_path` already has a `.log`, nothing is written (the module prints
 * "already exists" and goes on): `{ saved: false }`. Python's `datasets.load_from_disk` and the
 * research module read the result (checked against them in the specs).
 *
 * **Gotchas**: a dataset with a column of mixed types (which `datasets` stores as Json) cannot be
 * written here: a {@link ConfigError}.
 *
 * @example
 * await saveResearchDataset(dataset, { saveDiskPath: 'saved/', numShards: 2, batchSizes: [8, 8] });
 *
 * @category sinks
 */
export const saveResearchDataset = async (dataset: ResearchDataset, options: SaveResearchOptions): Promise<SaveResult> => {
  const dir = options.saveDiskPath;
  if (await stat(join(dir, RESEARCH_LOG)).then(() => true, () => false)) return { saved: false, dir, reason: 'log-exists' };
  const features = dataset.features;
  if (features === null) throw new ConfigError('save_to_disk', `${dataset.path} has a column of mixed types (datasets' Json), which cannot be written as Arrow here`);
  const numShards = options.numShards ?? 0;
  const rows = (start: number, end: number) =>
    (async function* () {
      for await (const row of dataset.rawRows(start, end)) yield castRow(row, features);
    })();
  const folder = await saveToDisk(dir, rows, {
    features,
    rows: dataset.rows,
    ...(numShards > 0 ? { numShards } : { maxShardSize: options.saveMaxShardSize ?? '50GB' }),
  });
  const log = {
    train_data: dataset.trainData,
    each_data_inxs: dataset.splits.map((s) => s.globalIndices ?? Array.from({ length: s.store.size }, (_, i) => s.offset + i)),
    batch_size_inxs: options.batchSizes,
    data_names: dataset.splits.map((s) => s.name),
  };
  await atomicWriteFile(join(dir, RESEARCH_LOG), JSON.stringify(log, null, 4));
  return { saved: true, dir, shards: folder.shards.length };
};

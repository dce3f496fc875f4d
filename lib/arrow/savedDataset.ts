/**
 * Reading Hugging Face `save_to_disk` folders by row position, as `datasets.load_from_disk` sees
 * them: `state.json` lists the shards in order, `dataset_info.json` gives the features.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InvariantError } from '../core/errors.js';
import { arrowTypeOf, describeFeature, featuresFromJson, type Features } from './features.js';
import { indexIpcStream, readIpcBatches, type IpcStreamIndex } from './ipcStream.js';
import { rowsOf, type Row } from './values.js';

/**
 * An opened `save_to_disk` folder: its features, its shards' indexes and where each starts.
 *
 * @category models
 */
export interface SavedDataset {
  readonly dir: string;
  readonly features: Features;
  readonly rows: number;
  /** `state.json`'s `_split`. */
  readonly split: string | null;
  readonly shards: ReadonlyArray<{ readonly file: string; readonly index: IpcStreamIndex; readonly offset: number }>;
}

const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);

const readJson = async (path: string): Promise<unknown> => {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (e) {
    throw new ConfigError('load_disk_path', `${path} is not readable JSON: ${(e as Error).message}`);
  }
};

/**
 * Opens a `save_to_disk` folder: reads `state.json` and `dataset_info.json`, and indexes every
 * shard (message headers only; no data is read).
 *
 * **Details**: the checks `datasets.load_from_disk` makes, as {@link ConfigError}s naming the
 * file: both JSON files present (a `dataset_dict.json` alone means a DatasetDict, which `load_from_disk`
 * returns as a dict and the research module cannot use), every shard present, and every shard's
 * columns of the types `dataset_info.json` declares ("External features info don't match").
 *
 * @example
 * const saved = await openSavedDataset('out/ds');
 * const rows = await readSavedRows(saved, [0, 41]);
 *
 * @category constructors
 */
export const openSavedDataset = async (dir: string): Promise<SavedDataset> => {
  const statePath = join(dir, 'state.json');
  const infoPath = join(dir, 'dataset_info.json');
  const [hasState, hasInfo, hasDict] = await Promise.all([isFile(statePath), isFile(infoPath), isFile(join(dir, 'dataset_dict.json'))]);
  if (!hasState || !hasInfo) {
    const missing = [hasState ? null : 'state.json', hasInfo ? null : 'dataset_info.json'].filter((x) => x !== null).join(' and ');
    throw new ConfigError(
      'load_disk_path',
      `${dir} has no ${missing}: not a folder written by Dataset.save_to_disk${hasDict ? ' (it has dataset_dict.json: a DatasetDict, saved with one folder per split; give one split\'s folder)' : ''}`,
    );
  }
  const state = (await readJson(statePath)) as { _data_files?: unknown; _split?: unknown };
  const info = (await readJson(infoPath)) as { features?: unknown };
  if (!Array.isArray(state._data_files)) throw new ConfigError('load_disk_path', `${statePath} has no _data_files list`);
  if (info.features === undefined || info.features === null) throw new ConfigError('load_disk_path', `${infoPath} declares no features`);
  const features = featuresFromJson(info.features, infoPath);
  const shards: { file: string; index: IpcStreamIndex; offset: number }[] = [];
  let rows = 0;
  for (const entry of state._data_files as unknown[]) {
    const name = (entry as { filename?: unknown } | null)?.filename;
    if (typeof name !== 'string') throw new ConfigError('load_disk_path', `${statePath}: a _data_files entry without a filename`);
    const file = join(dir, name);
    if (!(await isFile(file))) throw new ConfigError('load_disk_path', `${file} is listed in ${statePath} but missing`);
    const index = await indexIpcStream(file);
    checkSchema(file, index, features, infoPath);
    shards.push({ file, index, offset: rows });
    rows += index.rows;
  }
  return { dir, features, rows, split: typeof state._split === 'string' ? state._split : null, shards };
};

const checkSchema = (file: string, index: IpcStreamIndex, features: Features, infoPath: string): void => {
  const fields = index.schema.fields;
  const names = fields.map((f) => f.name);
  const expected = features.map((f) => f.name);
  const mismatch =
    names.length !== expected.length || names.some((n, i) => n !== expected[i])
      ? `columns [${names.join(', ')}] but ${infoPath} declares [${expected.join(', ')}]`
      : features
          .map(({ name, feature }, i) => (String(arrowTypeOf(feature)) === String(fields[i]!.type) ? null : `column ${name} is ${String(fields[i]!.type)} but ${infoPath} declares ${describeFeature(feature)}`))
          .find((m) => m !== null);
  if (mismatch) throw new ConfigError('load_disk_path', `${file} has ${mismatch} (datasets: "External features info don't match the dataset")`);
};

/** The last index in `starts` whose value is ≤ `position` (starts ascending, starts[0] = 0). */
const locate = (starts: ReadonlyArray<number>, position: number): number => {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= position) lo = mid;
    else hi = mid - 1;
  }
  return lo;
};

const batchStarts = new WeakMap<IpcStreamIndex, number[]>();
const startsOf = (index: IpcStreamIndex): number[] => {
  let starts = batchStarts.get(index);
  if (starts === undefined) {
    starts = [];
    let at = 0;
    for (const b of index.batches) {
      starts.push(at);
      at += b.rows;
    }
    batchStarts.set(index, starts);
  }
  return starts;
};

/**
 * The rows at `positions` (0-based, over all shards in order), in that order: each record batch
 * that holds one of them is read and decoded once.
 *
 * @category constructors
 */
export const readSavedRows = async (dataset: SavedDataset, positions: ReadonlyArray<number>): Promise<Row[]> => {
  const shardStarts = dataset.shards.map((s) => s.offset);
  // shard → batch → [(position in output, row in batch)]
  const wanted = new Map<number, Map<number, [number, number][]>>();
  positions.forEach((position, at) => {
    if (!Number.isSafeInteger(position) || position < 0 || position >= dataset.rows) {
      throw new InvariantError(`row ${position} is outside ${dataset.dir} (${dataset.rows} rows)`);
    }
    const s = locate(shardStarts, position);
    const local = position - shardStarts[s]!;
    const starts = startsOf(dataset.shards[s]!.index);
    const b = locate(starts, local);
    const byBatch = wanted.get(s) ?? new Map<number, [number, number][]>();
    wanted.set(s, byBatch);
    const list = byBatch.get(b) ?? [];
    byBatch.set(b, list);
    list.push([at, local - starts[b]!]);
  });
  const out = new Array<Row>(positions.length);
  for (const [s, byBatch] of wanted) {
    const which = [...byBatch.keys()];
    const batches = await readIpcBatches(dataset.shards[s]!.index, which);
    which.forEach((b, k) => {
      const list = byBatch.get(b)!;
      const rows = rowsOf(batches[k]!, list.map(([, row]) => row));
      list.forEach(([at], i) => (out[at] = rows[i]!));
    });
  }
  return out;
};

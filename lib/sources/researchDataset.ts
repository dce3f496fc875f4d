/**
 * The research flavor's data: a Hugging Face dataset as `datasets.load_dataset(train_data)` builds
 * it (every split a task, in the DatasetDict's order), or a `save_to_disk` folder with the research
 * module's `.log` as its `load_from_disk` path reads it; indexed, never loaded whole.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, RecordError } from '../core/errors.js';
import type { DatasetColumns, RecordStore } from '../core/model.js';
import type { ReportEvent } from '../core/report.js';
import { concatStores, selectStore } from '../core/store.js';
import type { Features } from '../arrow/features.js';
import { openSavedDataset } from '../arrow/savedDataset.js';
import type { Row } from '../arrow/values.js';
import { resolveDatasetFolder } from './datasetFolder.js';
import { featureOfKind, schemaOfFeatures, schemaProblem, type Schema } from './hfSchema.js';
import { indexJsonRows } from './jsonRows.js';
import { indexParquetRows } from './parquetRows.js';
import type { RowFile } from './rowFile.js';
import { indexSavedShards } from './savedRows.js';

/**
 * One split of a research dataset: one task of the research module.
 *
 * @category models
 */
export interface DatasetSplit {
  /** The split's name (`train`, a card's split name, or a `.log`'s `data_names` entry). */
  readonly name: string;
  /** The dataset path it came from. */
  readonly dataset: string;
  readonly files: ReadonlyArray<string>;
  /** Its rows, in the order `datasets` concatenates them. */
  readonly store: RecordStore;
  /** Global index of its first row in the concatenation of all splits. */
  readonly offset: number;
  /** Each row's global index, when they are not `offset + position` (`load_from_disk` with a `.log` listing others). */
  readonly globalIndices?: ReadonlyArray<number>;
  readonly columns: DatasetColumns;
  /** Whether the split came from `load_from_disk` (then every task gets the per-device batch size). */
  readonly fromDisk: boolean;
  /** Identifies its data. */
  readonly fingerprint: string;
}

/**
 * A loaded research dataset: its splits, its columns, and every row by global position (for `save_to_disk`).
 *
 * @category models
 */
export interface ResearchDataset {
  readonly path: string;
  /** The dataset's columns as `datasets` types them (null when a column holds mixed types, which `save_to_disk` cannot write here). */
  readonly features: Features | null;
  readonly splits: ReadonlyArray<DatasetSplit>;
  /** Rows in the concatenation (the saved dataset's rows, for `load_from_disk`). */
  readonly rows: number;
  readonly events: ReadonlyArray<ReportEvent>;
  /** What the research module records as `train_data` (the `.log`'s own value after `load_from_disk`). */
  readonly trainData: unknown;
  /** Every column of global rows `[start, end)`. */
  rawRows(start: number, end: number): AsyncIterable<Row>;
}

const columnsOf = (schema: Schema): DatasetColumns => {
  const has = (name: string) => schema.some(([n]) => n === name);
  return { prompt: true, type: true, category: has('category'), trainGroupSize: false, posScores: has('pos_scores'), negScores: has('neg_scores') };
};

const featuresOrNull = (schema: Schema, where: string): Features | null => {
  try {
    return schema.map(([name, kind]) => ({ name, feature: featureOfKind(kind, `${where}: ${name}`) }));
  } catch {
    return null;
  }
};

const hashOf = (parts: ReadonlyArray<string>): string => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/** Reads the rows `[start, end)` of a concatenation of files. */
const concatRows = (files: ReadonlyArray<RowFile>) =>
  async function* (start: number, end: number): AsyncGenerator<Row> {
    let offset = 0;
    for (const file of files) {
      const from = Math.max(start, offset);
      const to = Math.min(end, offset + file.rows);
      if (from < to) yield* file.rawRows(from - offset, to - offset);
      offset += file.rows;
    }
  };

/**
 * Loads a dataset as `datasets.load_dataset(path)` does (see `resolveDatasetFolder` for which files
 * form which split), for the research flavor.
 *
 * **Details**: every file is indexed once (a file two patterns name counts twice, as in `datasets`).
 * The dataset's columns are the card's `dataset_info.features`, else the first table `datasets`
 * reads (the first 10 MiB chunk of the first non-empty JSON file of the first split, or the first
 * Parquet file's schema); every other chunk must fit them: a column the dataset lacks, or values that
 * do not cast (text into a column typed null by an all-null first chunk, fractions into an integer
 * column, a list into a text column) fail in `load_dataset`, and here are a {@link RecordError} naming
 * the file, the line (or row) where that chunk starts, and the field. Missing columns are nulls, as in
 * `datasets`. A split without rows is a {@link ConfigError} (the research module reads its first row).
 *
 * @example
 * const dataset = await loadResearchDataset('examples/research/jsonl-configs');
 * dataset.splits.map((s) => `${s.name}: ${s.store.size}`);
 *
 * @category constructors
 */
export const loadResearchDataset = async (path: string): Promise<ResearchDataset> => {
  const resolved = await resolveDatasetFolder(path);
  const indexed = new Map<string, RowFile>();
  const indexOf = async (file: string): Promise<RowFile> => {
    let rows = indexed.get(file);
    if (rows === undefined) {
      rows = resolved.format === 'json' ? await indexJsonRows(file) : await indexParquetRows(file);
      indexed.set(file, rows);
    }
    return rows;
  };
  const splitFiles: RowFile[][] = [];
  for (const split of resolved.splits) {
    const files: RowFile[] = [];
    for (const file of split.files) files.push(await indexOf(file));
    splitFiles.push(files);
  }
  resolved.splits.forEach((split, i) => {
    // datasets counts rows per file as files yield tables: an empty file before a file with rows
    // makes it index past its list (IndexError in _prepare_split_single).
    const files = splitFiles[i]!;
    const empty = files.findIndex((f) => f.chunks.length === 0);
    if (empty >= 0 && files.slice(empty + 1).some((f) => f.chunks.length > 0)) {
      throw new RecordError([
        { file: files[empty]!.file, line: 1, message: `is empty and other files of split ${JSON.stringify(split.name)} follow it: load_dataset fails there (list index out of range); remove it` },
      ]);
    }
  });
  const firstFile = splitFiles[0]?.find((f) => f.chunks.length > 0);
  const firstChunk = firstFile?.chunks[0];
  const schema: Schema = resolved.features !== null ? schemaOfFeatures(resolved.features) : (firstChunk?.schema ?? []);
  // The dataset's declared types: the card's, else a Parquet file's own (kinds lose int and float widths), else inferred.
  const declared = resolved.features ?? firstFile?.features ?? null;
  for (const files of splitFiles) {
    for (const file of files) {
      for (const chunk of file.chunks) {
        const problem = schemaProblem(chunk.schema, schema);
        if (problem !== null) {
          throw new RecordError([
            {
              file: file.file,
              line: chunk.firstLine,
              field: problem.field,
              message: `${problem.message}; load_dataset fails on this ${resolved.format === 'json' ? 'chunk' : 'file'} (all splits share one schema${resolved.features === null ? '' : ', the dataset card\'s features'})`,
            },
          ]);
        }
      }
    }
  }
  const columns = columnsOf(schema);
  let offset = 0;
  const splits = resolved.splits.map((split, i): DatasetSplit => {
    const files = splitFiles[i]!;
    const store = concatStores(files.map((f) => f.store));
    if (store.size === 0) {
      throw new ConfigError('train_data', `${path}: split ${JSON.stringify(split.name)} has no rows (load_dataset fails: "Instruction ${JSON.stringify(split.name)} corresponds to no data!")`);
    }
    const out: DatasetSplit = { name: split.name, dataset: path, files: split.files, store, offset, columns, fromDisk: false, fingerprint: hashOf([split.name, ...files.map((f) => f.fingerprint)]) };
    offset += store.size;
    return out;
  });
  const all = splitFiles.flat();
  return {
    path,
    features: declared ?? featuresOrNull(schema, path),
    splits,
    rows: offset,
    events: resolved.events,
    trainData: path,
    rawRows: concatRows(all),
  };
};

/**
 * The research module's `.log` beside a `save_to_disk` folder.
 *
 * @category models
 */
export interface ResearchLog {
  readonly train_data: unknown;
  readonly each_data_inxs: ReadonlyArray<ReadonlyArray<number>>;
  readonly batch_size_inxs: ReadonlyArray<number>;
  readonly data_names: ReadonlyArray<string>;
}

/** The `.log` file name the research module writes and requires. */
export const RESEARCH_LOG = '.log';

const readLog = async (dir: string): Promise<ResearchLog> => {
  const file = join(dir, RESEARCH_LOG);
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) throw new ConfigError('load_disk_path', `${dir} does not have ${RESEARCH_LOG} (the research module's save_to_disk writes it beside the dataset)`);
  let log: Partial<ResearchLog>;
  try {
    log = JSON.parse(text) as Partial<ResearchLog>;
  } catch (e) {
    throw new ConfigError('load_disk_path', `${file} is not JSON: ${(e as Error).message}`);
  }
  const lists = Array.isArray(log.each_data_inxs) && log.each_data_inxs.every((x) => Array.isArray(x) && x.every((n) => Number.isSafeInteger(n) && n >= 0));
  if (!lists || !Array.isArray(log.batch_size_inxs) || !Array.isArray(log.data_names) || log.data_names.length !== log.each_data_inxs!.length || log.batch_size_inxs.length !== log.each_data_inxs!.length) {
    throw new ConfigError('load_disk_path', `${file} must hold each_data_inxs (lists of row indices), batch_size_inxs and data_names, one entry per task`);
  }
  return log as ResearchLog;
};

/**
 * Loads a `save_to_disk` folder as the research module's `load_from_disk` path does: the `.log`
 * gives the tasks (`each_data_inxs`: global row indices of each task, `data_names`), the folder the
 * rows (`datasets.load_from_disk`).
 *
 * **Details**: the `.log`'s `batch_size_inxs` are not used — the module gives every task the
 * per-device batch size on this path, symmetric ones included; reproduced (the `batchBySplit` stage
 * sees `fromDisk`).
 *
 * **Gotchas**: a folder that is not a file, has no `.log`, or lists indices past its rows is a
 * {@link ConfigError} naming it (the module raises FileNotFoundError or IndexError).
 *
 * @example
 * const dataset = await loadResearchFromDisk('saved/');
 *
 * @category constructors
 */
export const loadResearchFromDisk = async (dir: string): Promise<ResearchDataset> => {
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) throw new ConfigError('load_disk_path', `${dir} is ${info === null ? 'missing' : 'a file, not a directory'}`);
  const log = await readLog(dir);
  const saved = await openSavedDataset(dir);
  const shards = await indexSavedShards(saved);
  const whole = concatStores(shards.map((s) => s.store));
  const schema = schemaOfFeatures(saved.features);
  const columns = columnsOf(schema);
  const splits = log.each_data_inxs.map((indices, i): DatasetSplit => {
    const bad = indices.find((n) => n >= saved.rows);
    if (bad !== undefined) throw new ConfigError('load_disk_path', `${join(dir, RESEARCH_LOG)}: task ${i} lists row ${bad}, but the dataset has ${saved.rows} rows`);
    if (indices.length === 0) throw new ConfigError('load_disk_path', `${join(dir, RESEARCH_LOG)}: task ${i} (${String(log.data_names[i])}) lists no rows`);
    const contiguous = indices.every((n, k) => n === indices[0]! + k);
    return {
      name: String(log.data_names[i]),
      dataset: dir,
      files: shards.map((s) => s.file),
      store: selectStore(whole, indices),
      offset: contiguous ? indices[0]! : 0,
      ...(contiguous ? {} : { globalIndices: indices }),
      columns,
      fromDisk: true,
      fingerprint: hashOf([String(i), indices.join(','), ...shards.map((s) => s.fingerprint)]),
    };
  });
  return { path: dir, features: saved.features, splits, rows: saved.rows, events: [], trainData: log.train_data, rawRows: concatRows(shards) };
};

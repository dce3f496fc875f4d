/**
 * Which files form which split when `datasets.load_dataset(path)` reads a local folder: the dataset
 * card's YAML `configs` (`data_files` with named splits), else the split-name patterns
 * (`train.jsonl`, `data/test-00000-of-00001.parquet`, `valid/…`), else every file as split `train`;
 * the file format from the most common extension; features declared in the card.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../core/errors.js';
import type { ReportEvent } from '../core/report.js';
import { featuresFromYaml, type Features } from '../arrow/features.js';
import { EXTENSION_TO_MODULE } from './hfExtensions.js';
import { resolvePattern } from './hfGlob.js';

/**
 * The file formats this library reads (`datasets`' `json` and `parquet` builders).
 *
 * @category models
 */
export type DatasetFormat = 'json' | 'parquet';

/**
 * One split: its name and its files, in load order.
 *
 * @category models
 */
export interface DatasetSplitFiles {
  readonly name: string;
  readonly files: ReadonlyArray<string>;
}

/**
 * A local dataset as `load_dataset` would build it, before reading any record.
 *
 * @category models
 */
export interface ResolvedDataset {
  /** The path as given. */
  readonly path: string;
  readonly format: DatasetFormat;
  /** In the order `load_dataset`'s DatasetDict has them (it decides task order). */
  readonly splits: ReadonlyArray<DatasetSplitFiles>;
  /** Features the dataset card declares for the chosen config (`dataset_info.features`, else the config's `features`), or null. */
  readonly features: Features | null;
  /** The config used (`default`, or the card's single or default config). */
  readonly config: string;
  /** Files `load_dataset` passes over without a word (other formats in a split, files matching no split name). */
  readonly events: ReadonlyArray<ReportEvent>;
}

/** `datasets.data_files`' split keywords and patterns (fsspec ≥ 2023.12). */
const SPLIT_KEYWORDS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ['train', ['train', 'training']],
  ['validation', ['validation', 'valid', 'dev', 'val']],
  ['test', ['test', 'testing', 'eval', 'evaluation']],
];
const SEP = '-._ 0-9';
const patternsFor = (bases: ReadonlyArray<string>) =>
  SPLIT_KEYWORDS.map(([split, keywords]) => [split, keywords.flatMap((keyword) => bases.map((b) => b.replaceAll('{keyword}', keyword).replaceAll('{sep}', SEP)))] as const);
const IN_DIR_NAME = patternsFor(['**/{keyword}/**', '**/{keyword}[{sep}]*/**', '**/*[{sep}]{keyword}/**', '**/*[{sep}]{keyword}[{sep}]*/**']);
const IN_FILE_NAME = patternsFor(['**/{keyword}[{sep}]*', '**/*[{sep}]{keyword}[{sep}]*']);
const SHARDED = 'data/{split}-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*';
const SPLIT_NAME = /^\w+(\.\w+)*$/u;

const ALLOWED_EXTENSIONS: ReadonlySet<string> = new Set([...Object.keys(EXTENSION_TO_MODULE), '.zip', '.idx', '.manifest', '.txn']);
const MODULE_EXTENSIONS: Readonly<Record<DatasetFormat, ReadonlyArray<string>>> = {
  json: ['.json', '.jsonl', '.ndjson', '.zip'],
  parquet: ['.parquet', '.geoparquet', '.gpq', '.zip'],
};
const METADATA_FILE_NAMES: ReadonlySet<string> = new Set(['latest_version_hint.json', 'metadata.csv', 'metadata.jsonl', 'metadata.parquet']);

type Patterns = ReadonlyArray<readonly [string, ReadonlyArray<string>]>;

/** `string_to_dict(basename, pattern)` for the sharded pattern: the `{split}` part of a file name. */
const splitOfShardName = (name: string): string | null => {
  const m = /^(.*)-\d{5}-of-\d{5}[^/]*\.[^/]*$/su.exec(name);
  return m ? m[1]! : null;
};

/** `_get_data_files_patterns`: the first pattern family that finds files decides the splits. */
const defaultPatterns = async (base: string): Promise<Patterns> => {
  const sharded = await resolvePattern(SHARDED.replace('{split}', '*'), base, ALLOWED_EXTENSIONS);
  if (sharded.length > 0) {
    const splits = new Set(sharded.map((p) => splitOfShardName(posix.basename(p))).filter((s): s is string => s !== null));
    for (const s of splits) if (!SPLIT_NAME.test(s)) throw new ConfigError('train_data', `${base}: split name ${JSON.stringify(s)} (from a data/{split}-00000-of-00001 file name) is not a valid split name`);
    const known = ['train', 'validation', 'test'].filter((s) => splits.has(s));
    const others = [...splits].filter((s) => !known.includes(s)).sort();
    return [...known, ...others].map((s) => [s, [SHARDED.replace('{split}', s)]] as const);
  }
  for (const family of [[['logs', ['**/*.eval']]] as Patterns, IN_DIR_NAME, IN_FILE_NAME]) {
    const found: [string, ReadonlyArray<string>][] = [];
    for (const [split, patterns] of family) {
      for (const pattern of patterns) {
        if ((await resolvePattern(pattern, base, ALLOWED_EXTENSIONS)).length > 0) {
          found.push([split, patterns]);
          break;
        }
      }
    }
    if (found.length > 0) return found;
  }
  if ((await resolvePattern('**', base, ALLOWED_EXTENSIONS)).length > 0) return [['train', ['**']]];
  throw new ConfigError('train_data', `the folder ${base} doesn't contain any data files`);
};

/** `sanitize_patterns` of a card's `data_files` (validated as `MetadataConfigs` does). */
const sanitizePatterns = (dataFiles: unknown, where: string): Patterns => {
  const invalid = () =>
    new ConfigError('train_data', `${where}: data_files must be a string, a list of strings, or a list of {split, path} entries; got ${JSON.stringify(dataFiles)}`);
  if (typeof dataFiles === 'string') return [['train', [dataFiles]]];
  if (!Array.isArray(dataFiles)) throw invalid();
  if (dataFiles.every((x) => typeof x === 'string')) return [['train', dataFiles as string[]]];
  const out: [string, string[]][] = [];
  for (const item of dataFiles) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid();
    const { split, path, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || typeof split !== 'string' || !SPLIT_NAME.test(split)) throw invalid();
    if (typeof path === 'string') out.push([split, [path]]);
    else if (Array.isArray(path) && path.every((p) => typeof p === 'string')) out.push([split, path as string[]]);
    else throw invalid();
  }
  const names = out.map(([s]) => s);
  if (new Set(names).size !== names.length) throw new ConfigError('train_data', `${where}: some splits are duplicated in data_files: ${names.join(', ')}`);
  return out;
};

const hasMagic = (s: string): boolean => /[*?[]/.test(s);

/** `DataFilesDict.from_patterns`: each split's files, pattern by pattern (a file two patterns name is listed twice, as in `datasets`). */
const resolvePatterns = async (patterns: Patterns, base: string, where: string): Promise<[string, string[]][]> => {
  const out: [string, string[]][] = [];
  for (const [split, list] of patterns) {
    const files: string[] = [];
    for (const pattern of list) {
      const found = await resolvePattern(pattern, base, ALLOWED_EXTENSIONS);
      if (found.length === 0 && !hasMagic(pattern)) throw new ConfigError('train_data', `${where}: unable to find ${JSON.stringify(pattern)} in ${base}`);
      files.push(...found);
    }
    out.push([split, files]);
  }
  return out;
};

/** `infer_module_for_data_files_list`: the most common extension (ties: parquet, lance, arrow, jsonl, json, csv, then name). */
const moduleOf = (files: ReadonlyArray<string>): string | null => {
  const counts = new Map<string, { ext: string; meta: boolean; n: number }>();
  for (const file of files) {
    const name = posix.basename(file);
    const meta = METADATA_FILE_NAMES.has(name);
    for (const suffix of name.split('.').slice(1)) {
      const ext = `.${suffix.toLowerCase()}`;
      const key = `${ext}\u0000${meta}`;
      const c = counts.get(key) ?? { ext, meta, n: 0 };
      c.n += 1;
      counts.set(key, c);
    }
  }
  const rank = (c: { ext: string; meta: boolean; n: number }) =>
    [!c.meta ? 1 : 0, c.n, ...['.parquet', '.lance', '.arrow', '.jsonl', '.json', '.csv'].map((e) => (c.ext === e ? 1 : 0))] as const;
  const sorted = [...counts.values()].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return a.ext < b.ext ? 1 : a.ext > b.ext ? -1 : 0;
  });
  for (const c of sorted) {
    const module = EXTENSION_TO_MODULE[c.ext];
    if (module !== undefined) return module;
    if (c.ext === '.zip') return 'zip';
  }
  return null;
};

/** `_split_yaml_from_readme`. */
const yamlOfReadme = (text: string): string | null => {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[0] !== '---') return null;
  const end = lines.indexOf('---', 1);
  return end < 0 ? null : lines.slice(1, end).join('\n');
};

const readCard = async (dir: string): Promise<Record<string, unknown>> => {
  let card: Record<string, unknown> = {};
  const readme = posix.join(dir, 'README.md');
  const text = await readFile(readme, 'utf8').catch(() => null);
  if (text !== null) {
    const yaml = yamlOfReadme(text);
    if (yaml !== null) {
      const parsed = parseCardYaml(yaml, readme);
      if (parsed !== null) card = parsed;
    }
  }
  const standalone = posix.join(dir, '.huggingface.yaml');
  const more = await readFile(standalone, 'utf8').catch(() => null);
  if (more !== null) {
    const parsed = parseCardYaml(more, standalone);
    if (parsed !== null) card = { ...card, ...parsed };
  }
  return card;
};

const parseCardYaml = (yaml: string, file: string): Record<string, unknown> | null => {
  let parsed: unknown;
  try {
    parsed = parseYaml(yaml, { version: '1.1' }) as unknown;
  } catch (e) {
    throw new ConfigError('train_data', `${file}: the YAML block does not parse: ${(e as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return null;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('train_data', `${file}: the YAML block is not a mapping`);
  return parsed as Record<string, unknown>;
};

interface CardConfig {
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** `MetadataConfigs.from_dataset_card_data`. */
const configsOf = (card: Readonly<Record<string, unknown>>, where: string): CardConfig[] => {
  const raw = card['configs'];
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) return [];
  if (!Array.isArray(raw)) throw new ConfigError('train_data', `${where}: configs must be a list, got ${JSON.stringify(raw)}`);
  return raw.map((c) => {
    if (typeof c !== 'object' || c === null || typeof (c as Record<string, unknown>)['config_name'] !== 'string') {
      throw new ConfigError('train_data', `${where}: every config needs a config_name, got ${JSON.stringify(c)}`);
    }
    const { config_name: name, ...params } = c as Record<string, unknown>;
    if (params['data_files'] !== undefined) sanitizePatterns(params['data_files'], where);
    return { name: name as string, params };
  });
};

/** `get_default_config_name`. */
const defaultConfigOf = (configs: ReadonlyArray<CardConfig>, where: string): string | null => {
  let chosen: string | null = null;
  for (const c of configs) {
    if (configs.length === 1 || c.name === 'default' || c.params['default'] === true) {
      if (chosen !== null) throw new ConfigError('train_data', `${where}: the dataset has several default configs: ${chosen} and ${c.name}`);
      chosen = c.name;
    }
  }
  return chosen;
};

/** `DatasetInfosDict.from_dataset_card_data`: features by config name. */
const infosOf = (card: Readonly<Record<string, unknown>>, where: string): Map<string, Features | null> => {
  const raw = card['dataset_info'];
  const out = new Map<string, Features | null>();
  const add = (info: unknown) => {
    if (typeof info !== 'object' || info === null) return;
    const record = info as Record<string, unknown>;
    const name = typeof record['config_name'] === 'string' ? record['config_name'] : 'default';
    out.set(name, record['features'] === undefined || record['features'] === null ? null : featuresFromYaml(record['features'], `${where}: dataset_info`));
  };
  if (Array.isArray(raw)) raw.forEach(add);
  else add(raw);
  return out;
};

const formatOf = (module: string | null, where: string): DatasetFormat => {
  if (module === 'json' || module === 'parquet') return module;
  throw new ConfigError(
    'train_data',
    module === null
      ? `${where}: no supported data files found (JSON Lines .jsonl/.json or Parquet .parquet)`
      : `${where}: its data files are ${module} files; this library reads JSON Lines and Parquet datasets`,
  );
};

const formatOfFile = (file: string): DatasetFormat => {
  const name = posix.basename(file).toLowerCase().replace(/\.gz$/, '');
  if (/\.(jsonl|json|ndjson)$/.test(name)) return 'json';
  if (/\.(parquet|geoparquet|gpq)$/.test(name)) return 'parquet';
  throw new ConfigError('train_data', `${file} is neither JSON Lines (.jsonl, .json) nor Parquet (.parquet)`);
};

/**
 * Resolves a local dataset path into splits and files exactly as `datasets.load_dataset(path)`
 * does (datasets 5), without reading a record.
 *
 * **Details**, in `datasets`' order:
 * 1. The card: README.md's YAML block (between `---` lines at the top) and `.huggingface.yaml`.
 * 2. With `configs`: the default config (the only one, the one named `default`, or the one with
 *    `default: true`) gives `data_files` (a pattern, a list of patterns = split `train`, or a list
 *    of `{split, path}`, in that order) relative to the folder (or its `data_dir`); a config without
 *    `data_files` uses the default patterns in its `data_dir`.
 * 3. Without: `data/{split}-00000-of-00001.*` names (train, validation, test, then others sorted);
 *    else split keywords in folder names (`train/`, `valid/`, `dev-set/` …); else in file names
 *    (`train.jsonl`, `my_test_0.parquet`: train, validation, test in that order; files matching no
 *    keyword are not loaded); else every file is split `train`.
 * 4. Patterns match as fsspec's glob (see `resolvePattern`): sorted by path; hidden files,
 *    `__special__` folders and README.md etc. left out.
 * 5. The format is the most common extension (ties favour Parquet); every split must agree; files of
 *    other formats are dropped from data-pattern splits (reported as `fileSkipped`).
 * 6. Features: the card's `dataset_info.features` for the config, else the config's `features`.
 *
 * **Deliberate difference**: a path to one file (`.jsonl`, `.json`, `.parquet`, optionally `.gz` for
 * JSON) is read as a dataset with one split `train` — `load_dataset('json', data_files=path)` —
 * where `load_dataset(path)` raises FileNotFoundError.
 *
 * **Gotchas**: everything `load_dataset` rejects is a {@link ConfigError} naming the path: several
 * configs and no default, a config name the card's `dataset_info` uses but `configs` lacks, a missing
 * non-wildcard file, splits in different formats, a folder with no data files, formats other than
 * JSON and Parquet.
 *
 * @example
 * const { splits, format } = await resolveDatasetFolder('examples/research/jsonl-configs');
 *
 * @category constructors
 */
export const resolveDatasetFolder = async (path: string): Promise<ResolvedDataset> => {
  const info = await stat(path).catch(() => null);
  if (info === null) throw new ConfigError('train_data', `cannot find ${path}`);
  if (info.isFile()) {
    return { path, format: formatOfFile(path), splits: [{ name: 'train', files: [path] }], features: null, config: 'default', events: [] };
  }
  if (!info.isDirectory()) throw new ConfigError('train_data', `${path} is neither a folder nor a file`);
  const base = resolve(path).split('\\').join('/');
  const card = await readCard(base);
  const where = path;
  const configs = configsOf(card, where);
  const infos = infosOf(card, where);
  const events: ReportEvent[] = [];

  // The format comes from the first config's data_files (or the default patterns), as LocalDatasetModuleFactory infers it.
  const first = configs[0];
  const formatPatterns = first !== undefined && first.params['data_dir'] === undefined && first.params['data_files'] !== undefined
    ? sanitizePatterns(first.params['data_files'], where)
    : await defaultPatterns(base);
  const formatFiles = await resolvePatterns(formatPatterns, base, where);
  const modules = formatFiles.map(([, files]) => moduleOf(files));
  if (modules.some((m) => m !== modules[0])) {
    throw new ConfigError(
      'train_data',
      `${where}: its splits are in different formats (${formatFiles.map(([s], i) => `${s}: ${modules[i] ?? 'none'}`).join(', ')}); datasets cannot load them as one dataset`,
    );
  }
  const format = formatOf(modules[0] ?? null, where);
  const keepFormat = (files: ReadonlyArray<string>): string[] => {
    const pattern = new RegExp(`.*(${MODULE_EXTENSIONS[format].map((e) => e.replace('.', '\\.')).join('|')})(\\..+)?$`, 's');
    return files.filter((f) => {
      if (pattern.test(f)) return true;
      events.push({ kind: 'fileSkipped', file: f, reason: 'other-format' });
      return false;
    });
  };

  let configName: string;
  let splits: [string, string[]][];
  let features: Features | null;
  if (configs.length > 0) {
    const chosen = defaultConfigOf(configs, where) ?? (infos.size === 1 ? [...infos.keys()][0]! : null);
    if (chosen === null) {
      throw new ConfigError('train_data', `${where}: the dataset card has several configs (${configs.map((c) => c.name).join(', ')}) and none is the default; load_dataset needs a config name. Mark one with default: true`);
    }
    const config = configs.find((c) => c.name === chosen);
    if (config === undefined) throw new ConfigError('train_data', `${where}: config ${JSON.stringify(chosen)} (from dataset_info) is not among configs`);
    configName = config.name;
    const dataDir = config.params['data_dir'];
    const configBase = typeof dataDir === 'string' ? posix.join(base, dataDir) : base;
    const patterns = config.params['data_files'] !== undefined ? sanitizePatterns(config.params['data_files'], where) : await defaultPatterns(configBase);
    // Config data files are resolved with every allowed extension and not filtered by format (as the builder does).
    splits = await resolvePatterns(patterns, configBase, where);
    features = infos.get(configName) ?? (config.params['features'] !== undefined ? featuresFromYaml(config.params['features'], `${where}: configs.${configName}.features`) : null);
  } else {
    configName = infos.size === 1 ? [...infos.keys()][0]! : 'default';
    if (configName !== 'default' && infos.size === 1) {
      throw new ConfigError('train_data', `${where}: dataset_info names config ${JSON.stringify(configName)}, but the card has no configs (datasets: BuilderConfig not found)`);
    }
    splits = formatFiles.map(([s, files]) => [s, keepFormat(files)]);
    features = infos.get('default') ?? null;
  }
  const all = new Set(splits.flatMap(([, files]) => files));
  if (configs.length === 0) {
    // Files no split pattern names are not loaded: say so.
    for (const file of await resolvePattern('**', base, ALLOWED_EXTENSIONS)) {
      if (!all.has(file) && !events.some((e) => e.kind === 'fileSkipped' && e.file === file)) events.push({ kind: 'fileSkipped', file, reason: 'no-split' });
    }
  }
  // Files are named as the user would (under the path as given), not by their resolved absolute path.
  const shown = (file: string) => (file.startsWith(`${base}/`) ? posix.join(path, file.slice(base.length + 1)) : file);
  return {
    path,
    format,
    splits: splits.map(([name, files]) => ({ name, files: files.map(shown) })),
    features,
    config: configName,
    events: events.map((e) => (e.kind === 'fileSkipped' ? { ...e, file: shown(e.file) } : e)),
  };
};

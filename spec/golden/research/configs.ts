/**
 * The research flavor's parity configurations (configs.json): `dump --flavor research` arguments,
 * and their translation to the research oracle's config (../shared/oracle/run_research.py).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareResearchDataset } from '../../../lib/sources/datasetSplits.js';

export interface ResearchGoldenConfig {
  readonly name: string;
  readonly about: string;
  /** `dump --flavor research` arguments (text), without world_size/rank/steps. `$SAVED` stands for the folder `save` wrote. */
  readonly args: Readonly<Record<string, string>>;
  /** Written with this library's save_to_disk before the run (into a temporary folder: `$SAVED`). */
  readonly save?: Readonly<Record<string, string>>;
  readonly world_size: number;
  readonly steps: number;
}

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..', '..');

export const loadResearchConfigs = (): ReadonlyArray<ResearchGoldenConfig> =>
  JSON.parse(readFileSync(join(here, 'configs.json'), 'utf8')) as ResearchGoldenConfig[];

export const researchGoldenFile = (config: ResearchGoldenConfig, rank: number): string => join(here, `${config.name}.rank${rank}.jsonl.gz`);

/** Runs the config's `save` step with this library (if any) and returns the folder, or null. */
export const prepareSaved = async (config: ResearchGoldenConfig): Promise<{ dir: string; cleanup: () => void } | null> => {
  if (config.save === undefined) return null;
  const dir = join(mkdtempSync(join(tmpdir(), 'llm-retriever-data-research-saved-')), 'saved');
  const s = config.save;
  await prepareResearchDataset({
    trainData: s['train_data']!,
    saveToDisk: true,
    saveDiskPath: dir,
    ...(s['num_shards'] === undefined ? {} : { numShards: Number(s['num_shards']) }),
    ...(s['save_max_shard_size'] === undefined ? {} : { saveMaxShardSize: s['save_max_shard_size'] }),
    perDeviceTrainBatchSize: Number(s['per_device_train_batch_size'] ?? 8),
    symmetricBatchSize: Number(s['symmetric_batch_size'] ?? 128),
    worldSize: 1,
  });
  return { dir, cleanup: () => rmSync(dirname(dir), { recursive: true, force: true }) };
};

const resolve = (value: string, saved: string | null): string => (value === '$SAVED' ? saved! : value);

/** `dump --flavor research` argv for one rank. */
export const researchDumpArgv = (config: ResearchGoldenConfig, rank: number, saved: string | null): string[] => [
  'dump',
  '--flavor',
  'research',
  ...Object.entries(config.args).flatMap(([name, value]) => [`--${name}`, resolve(value, saved)]),
  '--world_size',
  String(config.world_size),
  '--rank',
  String(rank),
  '--steps',
  String(config.steps),
];

const TRAINING = new Set(['seed', 'per_device_train_batch_size', 'sub_batch_size', 'pad_to_multiple_of', 'tokenizer']);
const BOOLS = new Set(['use_special_tokens', 'retrieval_use_examples', 'load_from_disk', 'save_to_disk', 'exit_after_save', 'nli_all_prompt']);
const TEXTS = new Set(['train_data', 'load_disk_path', 'save_disk_path', 'save_max_shard_size', 'cache_path', 'query_instruction_for_retrieval', 'passage_instruction_for_retrieval']);

/** The research oracle's stdin config for one rank (the seed as a bare integer literal, any size). */
export const researchOracleInput = (config: ResearchGoldenConfig, rank: number, tokenizerDir: string, saved: string | null): string => {
  const dataArgs: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(config.args)) {
    if (TRAINING.has(name)) continue;
    const value = resolve(raw, saved);
    dataArgs[name] = BOOLS.has(name) ? value === 'true' : TEXTS.has(name) ? value : name === 'shuffle_ratio' ? Number(value) : Number(value);
  }
  const a = config.args;
  const input = {
    tokenizer: a['tokenizer'] ?? tokenizerDir,
    seed: '__SEED__',
    batch_size: Number(a['per_device_train_batch_size'] ?? 8),
    world: config.world_size,
    rank,
    steps: config.steps,
    pad_to_multiple_of: Number(a['pad_to_multiple_of'] ?? 8),
    sub_batch_size: a['sub_batch_size'] === undefined ? null : Number(a['sub_batch_size']),
    data_args: dataArgs,
  };
  return JSON.stringify(input).replace('"__SEED__"', a['seed'] ?? '42');
};


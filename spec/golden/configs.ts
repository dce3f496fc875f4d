/** The parity configurations (configs.json) and their translation to the oracle's config format. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GoldenConfig {
  readonly name: string;
  readonly about: string;
  /** CLI arguments of `dump`, as text (lists for list arguments), without world_size/rank/steps. */
  readonly args: Readonly<Record<string, string | ReadonlyArray<string>>>;
  readonly world_size: number;
  readonly steps: number;
}

const here = dirname(fileURLToPath(import.meta.url));

export const loadGoldenConfigs = (): ReadonlyArray<GoldenConfig> =>
  JSON.parse(readFileSync(join(here, 'configs.json'), 'utf8')) as GoldenConfig[];

export const goldenFile = (config: GoldenConfig, rank: number): string => join(here, `${config.name}.rank${rank}.jsonl.gz`);

/** The `dump` argument list of one configuration and rank. */
export const dumpArgv = (config: GoldenConfig, rank: number): string[] => [
  'dump',
  ...Object.entries(config.args).flatMap(([name, value]) => [`--${name}`, ...(Array.isArray(value) ? value : [value as string])]),
  '--world_size',
  String(config.world_size),
  '--rank',
  String(rank),
  '--steps',
  String(config.steps),
];

const INT_ARGS = new Set([
  'train_group_size', 'query_max_len', 'passage_max_len', 'pad_to_multiple_of', 'max_example_num_per_dataset',
  'small_threshold', 'drop_threshold', 'example_query_max_len', 'example_passage_max_len',
]);
const TRAINING_ARGS = new Set(['seed', 'per_device_train_batch_size', 'additional_special_tokens', 'tokenizer']);

/** The oracle's stdin config (shared/oracle/README.md) for one configuration and rank. */
export const oracleConfig = (config: GoldenConfig, rank: number, tokenizerDir: string): unknown => {
  const dataArgs: Record<string, unknown> = { same_dataset_within_batch: true };
  for (const [name, value] of Object.entries(config.args)) {
    if (TRAINING_ARGS.has(name)) continue;
    if (Array.isArray(value)) dataArgs[name] = value;
    else if (INT_ARGS.has(name)) dataArgs[name] = Number(value);
    else if (name === 'shuffle_ratio') dataArgs[name] = Number(value);
    else if (value === 'true' || value === 'false') dataArgs[name] = value === 'true';
    else dataArgs[name] = (value as string).replaceAll('\\n', '\n');
  }
  return {
    tokenizer: config.args['tokenizer'] ?? tokenizerDir,
    additional_special_tokens: config.args['additional_special_tokens'] ?? null,
    // A JSON integer literal: Python reads it exactly, whatever its size.
    seed: { __bigint: String(config.args['seed'] ?? '42') },
    batch_size: Number(config.args['per_device_train_batch_size'] ?? 8),
    world: config.world_size,
    rank,
    steps: config.steps,
    data_args: dataArgs,
  };
};

/**
 * Command-line arguments with FlagEmbedding's names (`--train_data`, `--query_max_len`, …), parsed
 * into the pipeline's options. Defaults are the reference's.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';

type Kind = 'int' | 'float' | 'bool' | 'text' | 'path' | 'list' | 'seed';

interface Spec {
  readonly kind: Kind;
  readonly help: string;
}

/** Every argument `dump` and `plan` accept, with its kind and meaning. */
export const ARGUMENTS = {
  train_data: { kind: 'list', help: 'task files (.json/.jsonl) and folders of them; one file = one task' },
  train_group_size: { kind: 'int', help: 'passages per query: 1 positive + negatives (default 8)' },
  query_max_len: { kind: 'int', help: 'query token budget (default 32)' },
  passage_max_len: { kind: 'int', help: 'passage token budget (default 128)' },
  pad_to_multiple_of: { kind: 'int', help: 'round padded lengths up to a multiple of this (default none)' },
  max_example_num_per_dataset: { kind: 'int', help: 'subsample files with more records (default 100000000)' },
  query_instruction_for_retrieval: { kind: 'text', help: 'instruction for records without a prompt (default none)' },
  query_instruction_format: { kind: 'text', help: "format(instruction, query) (default '{}{}')" },
  passage_instruction_for_retrieval: { kind: 'text', help: 'instruction for passages (default none)' },
  passage_instruction_format: { kind: 'text', help: "format(instruction, passage) (default '{}{}')" },
  knowledge_distillation: { kind: 'bool', help: 'carry teacher scores (default false)' },
  shuffle_ratio: { kind: 'float', help: "probability of shuffling a long positive's chunks (default 0)" },
  small_threshold: { kind: 'int', help: "merge a folder's files below this size (default 0)" },
  drop_threshold: { kind: 'int', help: 'drop merged small files below this size (default 0)' },
  example_query_max_len: { kind: 'int', help: 'tokens of an in-context example query (default 64)' },
  example_passage_max_len: { kind: 'int', help: 'tokens of an in-context example answer (default 96)' },
  retrieval_use_examples: { kind: 'bool', help: 'in-context examples for retrieval tasks too (default true)' },
  icl_suffix_str: { kind: 'text', help: "ends every query and joins examples (default '\\nResponse:')" },
  additional_special_tokens: { kind: 'list', help: 'special tokens added to the tokenizer, e.g. <instruct> <query> <response>' },
  same_dataset_within_batch: { kind: 'bool', help: 'accepted for compatibility; must be true (every batch is from one task)' },
  tokenizer: { kind: 'path', help: 'a Hugging Face tokenizer folder (default: the shipped Mistral-7B tokenizer)' },
  seed: { kind: 'seed', help: 'the run seed, any non-negative integer (default 42)' },
  per_device_train_batch_size: { kind: 'int', help: 'records per rank and step (default 8)' },
  world_size: { kind: 'int', help: 'number of ranks (default 1)' },
  rank: { kind: 'int', help: "this process's rank (default 0)" },
  steps: { kind: 'int', help: 'steps to print (default: to the end of the current epoch)' },
  sub_batch_size: { kind: 'int', help: 'pad in chunks of this many rows (default none)' },
  state_out: { kind: 'path', help: 'dump: write the resume state after the last printed step here (atomically)' },
  resume_from: { kind: 'path', help: 'dump: continue from this resume state; the first line is the step after it' },
  index_cache: { kind: 'path', help: "where task-file indexes are cached (default ~/.cache/llm-retriever-data; 'none': no cache)" },
  bad_records: { kind: 'text', help: "'fail' (default): stop at the first bad record; 'skip': leave bad records out and report them" },
  prefetch: { kind: 'int', help: 'batches read ahead (default 2; output is the same for any value)' },
  concurrency: { kind: 'int', help: 'batches built at once in this thread (default 1; 4 pays with the native backend; output is the same)' },
  workers: { kind: 'int', help: 'worker threads for texts and tokens (default 0: all in the main thread; output is the same)' },
  tokenizer_backend: { kind: 'text', help: "'js' (default: transformers.js) or 'native' (HF's Rust tokenizers, optional package @anush008/tokenizers); same output" },
  json: { kind: 'bool', help: 'plan: print JSON instead of text' },
  format: { kind: 'text', help: "dump: 'json' (default: one JSON object per line) or 'arrow' (an Arrow IPC stream, one record batch per step)" },
  with_text: { kind: 'bool', help: 'dump --format arrow, export: include queries_text and passages_text (JSON lines always have them)' },
  out: { kind: 'path', help: 'export: the folder (a Hugging Face DatasetDict, one split rank_<r> per rank)' },
  epochs: { kind: 'int', help: 'export: whole epochs to export from the start (or resume) epoch (default 1, unless --steps)' },
  steps_per_shard: { kind: 'int', help: 'export: rows (steps) per shard file (default 1000)' },
  all_ranks: { kind: 'bool', help: 'export: every rank of --world_size (default: this rank only, from --rank or RANK)' },
} as const satisfies Record<string, Spec>;

export type ArgumentName = keyof typeof ARGUMENTS;

type ValueOf<K extends Kind> = K extends 'int' | 'float' ? number : K extends 'bool' ? boolean : K extends 'list' ? string[] : string;

/** Parsed arguments: only those given. */
export type ParsedArguments = { -readonly [N in ArgumentName]?: ValueOf<(typeof ARGUMENTS)[N]['kind']> };

/** HfArgumentParser's `string_to_bool`. */
const parseBool = (name: string, raw: string): boolean => {
  const v = raw.toLowerCase();
  if (['yes', 'true', 't', 'y', '1'].includes(v)) return true;
  if (['no', 'false', 'f', 'n', '0'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
};

/** In text options the two characters backslash-n mean a newline, as FlagEmbedding's argument classes treat them. */
const unescapeNewlines = (s: string): string => s.replaceAll('\\n', '\n');

const parseValue = (name: ArgumentName, kind: Kind, raw: string): number | boolean | string => {
  switch (kind) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw new ConfigError(name, `integer out of range: ${raw}`);
      return n;
    }
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(name, `expected a number, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'bool':
      return parseBool(name, raw);
    case 'seed':
      if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a non-negative integer, got ${JSON.stringify(raw)}`);
      return raw; // kept as text: seeds above 2^53 must not pass through a double
    case 'text':
      return unescapeNewlines(raw);
    default:
      return raw;
  }
};

/**
 * Parses `--name value` arguments (also `--name=value`). List arguments take every value up to the
 * next `--name`; a boolean given without a value means true. Unknown names, missing values and
 * repeated arguments are {@link ConfigError}s.
 *
 * @example
 * parseArguments(['--train_data', 'a.jsonl', 'dir', '--query_max_len', '64']);
 * // { train_data: ['a.jsonl', 'dir'], query_max_len: 64 }
 *
 * @category constructors
 */
export const parseArguments = (argv: ReadonlyArray<string>): ParsedArguments => {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; ) {
    const token = argv[i]!;
    if (!token.startsWith('--')) throw new ConfigError('arguments', `unexpected value ${JSON.stringify(token)} (arguments are --name value)`);
    const eq = token.indexOf('=');
    const name = (eq < 0 ? token.slice(2) : token.slice(2, eq)) as ArgumentName;
    const spec: Spec | undefined = (ARGUMENTS as Record<string, Spec>)[name];
    if (spec === undefined) throw new ConfigError(name, 'unknown argument (see --help)');
    if (name in out) throw new ConfigError(name, 'given twice');
    const values: string[] = [];
    i += 1;
    if (eq >= 0) values.push(token.slice(eq + 1));
    else while (i < argv.length && !argv[i]!.startsWith('--')) values.push(argv[i++]!);
    if (spec.kind === 'list') {
      if (values.length === 0) throw new ConfigError(name, 'expects at least one value');
      out[name] = values;
    } else if (spec.kind === 'bool' && values.length === 0) {
      out[name] = true;
    } else {
      if (values.length !== 1) throw new ConfigError(name, values.length === 0 ? 'expects a value' : `expects one value, got ${values.length}`);
      out[name] = parseValue(name, spec.kind, values[0]!);
    }
  }
  return out as ParsedArguments;
};

/** The `--help` text. */
export const usage = (): string =>
  [
    'usage: llm-retriever-data <dump|plan|export> --train_data PATH [PATH ...] [options]',
    '',
    "  dump   print every step's batch as one JSON line (the reference oracle's fields)",
    '  plan   print the tasks, batch and group sizes, steps per epoch and every drop, from the index alone',
    '  export write steps (--steps N or --epochs N) of this rank (or --all_ranks) to --out as a Hugging Face dataset; resumable',
    '',
    'rank and world size default to the RANK and WORLD_SIZE variables torchrun sets, then to 0 and 1.',
    '',
    'options (FlagEmbedding names and defaults):',
    ...Object.entries(ARGUMENTS).map(([name, spec]) => `  --${name.padEnd(36)}${spec.help}`),
  ].join('\n');

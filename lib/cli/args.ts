/**
 * The command line's vocabulary: its commands and one table of every option (FlagEmbedding's names
 * and defaults, `--train_data`, `--query_max_len`, …, plus this library's own), each with its kind,
 * its help and the commands that take it. The parser (program.ts), the help, the config-file reader
 * (config.ts) and the types of parsed arguments all come from these two tables.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { didYouMean } from './suggest.js';

/**
 * The commands, with their help.
 *
 * **Adding a command** (e.g. `export`): add an entry here, add its runner to `RUNNERS` in
 * commands.ts (the type checker asks for it), and name it in the `commands` of every option it takes
 * (a command that runs the data pipeline: add it to {@link PIPELINE}, and it takes all of those).
 */
export const COMMANDS = {
  dump: {
    summary: "print every step's batch as one JSON line (the reference oracle's fields)",
    description:
      "Prints one JSON object per step for this rank: epoch, example_indices, queries_text, passages_text, teacher_scores, no_in_batch_neg, q_ids, q_mask, p_ids, p_mask (and false_negative_mask with --false_negative_scope local or global; with --flavor research: messages in place of no_in_batch_neg, as the research oracle prints them). Without --steps, to the end of the current epoch. With --format arrow: an Arrow IPC stream instead, one record batch per step with the same fields (ids and masks int32, texts only with --with_text) and the step's position and resume state, for python/llm_retriever_data.",
  },
  export: {
    summary: 'write steps of this rank (or --all_ranks) to --out as a Hugging Face dataset, resumably',
    description:
      "Writes --steps N steps (or --epochs N whole epochs; default: to the end of the current epoch) of this rank (under torchrun: its own; --all_ranks: every rank of --world_size) to --out: a DatasetDict with one save_to_disk folder per rank (rank_<r>/: Arrow shards of --steps_per_shard rows, dataset_info.json, state.json), one row per step with dump's fields (ids and masks int32, teacher scores float32) and the step's position and resume state. Shards appear atomically and export-manifest.json keeps their SHA-256: after a crash, the same command keeps the intact shards and continues.",
  },
  plan: {
    summary: 'print the tasks, batch and group sizes, steps per epoch and every drop, from the index alone',
    description:
      "Prints what a dump with the same options would do, from the task files' indexes (no tokenizer, no texts). It takes every dump option, so that a dump command line with plan in place of dump prints that run's plan; options that do not change the plan (tokenizer, budgets, --steps, state files, workers) are accepted and not used.",
  },
  stats: {
    summary: 'report per task: token lengths and what the budgets cut, in-context examples, padding waste, duplicates, the batch_size a token budget fits',
    description:
      "Builds every rank's batches of the first epoch (or of the first --steps steps) as dump would, and prints per task: token lengths (p50/p95/max) of formatted queries and passages before any cut, the shares cut at query_max_len and passage_max_len, in-context examples drawn, kept, dropped by the budget and truncated, padding waste, records whose negatives hold one of their positives, duplicate queries, and with --token_budget the largest per-file batch_size that fits. --json prints it as JSON; --html FILE also writes one self-contained page with a histogram per task.",
  },
} as const satisfies Record<string, { readonly summary: string; readonly description: string }>;

/** A command's name. */
export type CommandName = keyof typeof COMMANDS;

/** The commands that run the data pipeline: each takes every FlagEmbedding argument and the run options. */
export const PIPELINE = ['dump', 'plan', 'stats', 'export'] as const satisfies ReadonlyArray<CommandName>;
/** Every command. */
const EVERY = Object.keys(COMMANDS) as ReadonlyArray<CommandName>;

interface Common {
  /** One line for `--help`. */
  readonly help: string;
  /** The commands that take the option. */
  readonly commands: ReadonlyArray<CommandName>;
  /** What the help shows for the value (default by kind: N, X, TEXT, PATH, VALUE…, a|b). */
  readonly value?: string;
  /** The heading the help lists it under (default "Options:"). */
  readonly group?: string;
  /** The flavors (`--flavor`) that read the option; another flavor refuses it. Default: both. */
  readonly flavors?: ReadonlyArray<Flavor>;
}

/** The data paths the pipeline commands reproduce (`--flavor`). */
export type Flavor = 'icl' | 'research';

const FLAGEMBEDDING = "FlagEmbedding's arguments (its names and defaults):";
const RESEARCH = "The research flavor's arguments (--flavor research: research/llm_dense_retriever's DataArguments, its names and defaults):";
const ICL: ReadonlyArray<Flavor> = ['icl'];
const RESEARCH_ONLY: ReadonlyArray<Flavor> = ['research'];

/**
 * One option's kind, which decides how its value is read:
 * - `int`: a decimal safe integer ≥ `min` (default 0: every count and size).
 * - `float`: a finite number.
 * - `bool`: HfArgumentParser's `string_to_bool` (yes/no, true/false, t/f, y/n, 1/0, any case); the
 *   bare flag means true. `negatable` adds `--no_NAME` (false), as HfArgumentParser does for
 *   booleans that default to true.
 * - `text`: a string in which the two characters `\n` mean a newline (FlagEmbedding's convention).
 * - `path`: a string, as given.
 * - `list`: one or more strings: every value up to the next flag (`--train_data a b c`).
 * - `seed`: a non-negative decimal integer of any size, kept as text (never through a double).
 * - `choice`: one of `choices`.
 */
export type OptionSpec = Common &
  (
    | { readonly kind: 'int'; readonly min?: number }
    | { readonly kind: 'bool'; readonly negatable?: boolean }
    | { readonly kind: 'choice'; readonly choices: ReadonlyArray<string> }
    | { readonly kind: 'float' | 'text' | 'path' | 'list' | 'seed' }
  );

/**
 * Every option of every command: name (FlagEmbedding's spelling; `--name` on the command line, the
 * same key in a `--config` file) → kind, help, and the commands that take it.
 *
 * **Adding an option** is adding an entry: pick a kind (see {@link OptionSpec}; `choice` with
 * `choices` for a fixed set of words), write the help line with its default, list the commands
 * (`PIPELINE` for one that changes the batches or the run, or e.g. `['plan']`), then read it where
 * the command runs (`args.name`, typed from this table; commands.ts, or `optionsFromArguments` in
 * main.ts for a pipeline option). Parsing, `--help`, "did you mean", repeats, `--config` keys and
 * their types follow from the entry. Put FlagEmbedding's arguments with the others of their kind,
 * before this library's own.
 */
export const ARGUMENTS = {
  // FlagEmbedding's data and training arguments, with its names and defaults.
  train_data: { kind: 'list', value: 'PATH', commands: PIPELINE, group: FLAGEMBEDDING, help: 'task files (.json/.jsonl) and folders of them; one file = one task; research: one Hugging Face dataset folder (required)' },
  train_group_size: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'passages per query: 1 positive + negatives (default 8)' },
  query_max_len: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'query token budget (default 32)' },
  passage_max_len: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'passage token budget (default 128)' },
  pad_to_multiple_of: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'round padded lengths up to a multiple of this (default none; research: 8, as its run.py)' },
  max_example_num_per_dataset: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'subsample files with more records (default 100000000)' },
  query_instruction_for_retrieval: { kind: 'text', commands: PIPELINE, group: FLAGEMBEDDING, help: 'instruction for records without a prompt (default none)' },
  query_instruction_format: { kind: 'text', commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: "format(instruction, query) (default '{}{}')" },
  passage_instruction_for_retrieval: { kind: 'text', commands: PIPELINE, group: FLAGEMBEDDING, help: 'instruction for passages (default none)' },
  passage_instruction_format: { kind: 'text', commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: "format(instruction, passage) (default '{}{}')" },
  knowledge_distillation: { kind: 'bool', commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: 'carry teacher scores (default false)' },
  shuffle_ratio: { kind: 'float', commands: PIPELINE, group: FLAGEMBEDDING, help: "probability of shuffling a long positive's chunks (default 0)" },
  small_threshold: { kind: 'int', commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: "merge a folder's files below this size (default 0)" },
  drop_threshold: { kind: 'int', commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: 'drop merged small files below this size (default 0)' },
  example_query_max_len: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'tokens of an in-context example query (default 64)' },
  example_passage_max_len: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'tokens of an in-context example answer (default 96)' },
  retrieval_use_examples: { kind: 'bool', negatable: true, commands: PIPELINE, group: FLAGEMBEDDING, help: 'in-context examples for retrieval tasks too (default true)' },
  icl_suffix_str: { kind: 'text', commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: "ends every query and joins examples (default '\\nResponse:')" },
  additional_special_tokens: { kind: 'list', value: 'TOKEN', commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: 'special tokens added to the tokenizer, e.g. <instruct> <query> <response>' },
  same_dataset_within_batch: { kind: 'bool', negatable: true, commands: PIPELINE, flavors: ICL, group: FLAGEMBEDDING, help: 'accepted for compatibility; must be true (every batch is from one task)' },
  seed: { kind: 'seed', commands: PIPELINE, group: FLAGEMBEDDING, help: 'the run seed, any non-negative integer (default 42)' },
  per_device_train_batch_size: { kind: 'int', commands: PIPELINE, group: FLAGEMBEDDING, help: 'records per rank and step (default 8)' },
  sub_batch_size: { kind: 'int', min: Number.MIN_SAFE_INTEGER, commands: PIPELINE, group: FLAGEMBEDDING, help: 'pad in chunks of this many rows (default none; ≤ 0: none, as the reference)' },
  // The research module's own arguments (research/llm_dense_retriever/finetune/arguments.py).
  use_special_tokens: { kind: 'bool', negatable: true, commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: '<instruct>…\\n<query>… prompts and \\n<response>, with the three special tokens added; false: Instruct: …\\nQuery: … and \\nResponse: (default true)' },
  symmetric_batch_size: { kind: 'int', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'global batch of splits whose first row is symmetric, divided by the world size (default 128)' },
  symmetric_train_group_size: { kind: 'int', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'passages per query of sts and clustering batches (default 8)' },
  max_class_neg: { kind: 'int', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'class batches take max_class_neg + 1 passages per query (default 1000)' },
  load_from_disk: { kind: 'bool', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'read load_disk_path (a save_to_disk folder with the module\'s .log) instead of train_data; every task gets the per-device batch size (default false)' },
  load_disk_path: { kind: 'path', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'the folder load_from_disk reads' },
  save_to_disk: { kind: 'bool', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'write the loaded dataset and its .log to save_disk_path first, unless a .log is there (default false)' },
  save_disk_path: { kind: 'path', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'the folder save_to_disk writes' },
  num_shards: { kind: 'int', min: Number.MIN_SAFE_INTEGER, commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'shards save_to_disk writes, when > 0 (default 0: by save_max_shard_size)' },
  save_max_shard_size: { kind: 'path', value: 'SIZE', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: "largest shard save_to_disk writes, e.g. 500MB or 1GiB (default '50GB')" },
  exit_after_save: { kind: 'bool', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'with save_to_disk: write, then stop without batches (default false)' },
  cache_path: { kind: 'path', commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: "accepted and ignored (datasets' cache folder; this library indexes the files in place)" },
  nli_all_prompt: { kind: 'bool', negatable: true, commands: PIPELINE, flavors: RESEARCH_ONLY, group: RESEARCH, help: 'accepted; the module\'s data path does not read it (default true)' },
  // This library's options.
  flavor: {
    kind: 'choice',
    choices: ['icl', 'research'],
    commands: PIPELINE,
    help: "'icl' (default): FlagEmbedding 1.4's ICL dataset; 'research': research/llm_dense_retriever's SameDatasetTrainDataset on a Hugging Face dataset",
  },
  tokenizer: { kind: 'path', value: 'DIR', commands: PIPELINE, help: 'a Hugging Face tokenizer folder (default: the shipped Mistral-7B tokenizer)' },
  world_size: { kind: 'int', commands: PIPELINE, help: 'number of ranks (default: $WORLD_SIZE, else 1)' },
  rank: { kind: 'int', commands: PIPELINE, help: "this process's rank (default: $RANK, else 0)" },
  steps: { kind: 'int', commands: PIPELINE, help: 'dump: steps to print; export: steps to export (default for both: to the end of the current epoch); stats: steps to read (default: the first epoch)' },
  state_out: { kind: 'path', value: 'FILE', commands: PIPELINE, help: 'dump: write the resume state after the last printed step here (atomically)' },
  resume_from: { kind: 'path', value: 'FILE', commands: PIPELINE, help: 'dump, export: continue from this resume state; the first step is the one after it' },
  index_cache: { kind: 'path', value: 'DIR|none', commands: PIPELINE, flavors: ICL, help: "where task-file indexes are cached (default ~/.cache/llm-retriever-data; 'none': no cache)" },
  index_check: {
    kind: 'choice',
    choices: ['stat', 'content'],
    commands: PIPELINE,
    flavors: ICL,
    help: "how a cached index is checked against its file: 'stat' (default: size, times, inode, first and last 64 KiB) or 'content' (also a SHA-256 of the whole file: one more read of it per run)",
  },
  bad_records: { kind: 'choice', choices: ['fail', 'skip'], commands: PIPELINE, flavors: ICL, help: "'fail' (default): stop at the first bad record; 'skip': leave bad records out and report them" },
  prefetch: { kind: 'int', commands: PIPELINE, help: 'batches read ahead (default 2; output is the same for any value)' },
  concurrency: { kind: 'int', commands: PIPELINE, help: 'batches built at once in this thread (default 1; 4 pays with the native backend; output is the same)' },
  workers: { kind: 'int', commands: PIPELINE, help: 'worker threads for texts and tokens (default 0: all in the main thread; output is the same)' },
  tokenizer_backend: {
    kind: 'choice',
    choices: ['js', 'native', 'transformers'],
    commands: PIPELINE,
    help: "'js' (default: @huggingface/tokenizers), 'native' (HF's Rust tokenizers, optional package @anush008/tokenizers) or 'transformers' (transformers.js, optional peer @huggingface/transformers); same output",
  },
  json: { kind: 'bool', commands: ['plan', 'stats'], help: 'print JSON instead of text' },
  false_negative_scope: {
    kind: 'choice',
    choices: ['none', 'local', 'global'],
    commands: PIPELINE,
    help: "dump: add false_negative_mask: per query, a boolean row over this rank's passages ('local') or the whole global batch's in rank order ('global'); true = not a negative for it (default none: the reference's lines)",
  },
  token_budget: { kind: 'int', min: 1, commands: ['stats'], value: 'N', help: 'tokens per device: report the largest per-file batch_size whose padded queries and passages fit' },
  html: { kind: 'path', value: 'FILE', commands: ['stats'], help: 'also write the report as one self-contained HTML page (a histogram per task; no script, no network)' },
  format: {
    kind: 'choice',
    choices: ['json', 'arrow'],
    commands: ['dump'],
    help: "'json' (default): one JSON object per line; 'arrow': an Arrow IPC stream, one record batch per step (for python/llm_retriever_data)",
  },
  with_text: { kind: 'bool', commands: ['dump', 'export'], help: 'arrow and export: include queries_text and passages_text (JSON lines always have them)' },
  out: { kind: 'path', value: 'DIR', commands: ['export'], help: 'the folder to write (required): a DatasetDict, one split rank_<r> per rank' },
  epochs: { kind: 'int', min: 1, commands: ['export'], help: 'whole epochs to export, from the start (or resume) epoch on (instead of --steps)' },
  steps_per_shard: { kind: 'int', min: 1, commands: ['export'], help: 'rows (steps) per shard file (default 1000)' },
  all_ranks: { kind: 'bool', commands: ['export'], help: 'every rank of --world_size (default: this rank, from --rank or $RANK)' },
  report: { kind: 'path', value: 'FILE', commands: PIPELINE, help: 'write every report event (skips, drops, indexed files; file, line, cause) here, one JSON object per line' },
  progress: { kind: 'bool', negatable: true, commands: PIPELINE, help: 'show progress of long work on stderr (default: when stderr is a terminal)' },
  config: { kind: 'path', value: 'FILE', commands: EVERY, help: 'read options from a JSON or YAML file (same names as the flags); flags given here win' },
} as const satisfies Record<string, OptionSpec>;

/** An option's name. */
export type ArgumentName = keyof typeof ARGUMENTS;

type ValueOf<S> = S extends { readonly kind: 'int' | 'float' }
  ? number
  : S extends { readonly kind: 'bool' }
    ? boolean
    : S extends { readonly kind: 'list' }
      ? string[]
      : S extends { readonly kind: 'choice'; readonly choices: ReadonlyArray<infer C> }
        ? C
        : string;

/** Parsed arguments: only those given (on the command line or in a config file), typed by the table. */
export type ParsedArguments = { -readonly [N in ArgumentName]?: ValueOf<(typeof ARGUMENTS)[N]> };

/** The table entry of an option name, if there is one. */
export const specOf = (name: string): OptionSpec | undefined =>
  Object.hasOwn(ARGUMENTS, name) ? (ARGUMENTS as Record<string, OptionSpec>)[name] : undefined;

/** The options a command takes, in table order. */
export const optionsOf = (command: CommandName): ReadonlyArray<readonly [ArgumentName, OptionSpec]> =>
  (Object.entries(ARGUMENTS) as [ArgumentName, OptionSpec][]).filter(([, spec]) => spec.commands.includes(command));

/** What the help shows for an option's value. */
export const valueName = (spec: OptionSpec): string => {
  if (spec.value !== undefined) return spec.value;
  switch (spec.kind) {
    case 'int':
    case 'seed':
      return 'N';
    case 'float':
      return 'X';
    case 'bool':
      return '[true|false]';
    case 'text':
      return 'TEXT';
    case 'path':
      return 'PATH';
    case 'list':
      return 'VALUE';
    case 'choice':
      return spec.choices.join('|');
  }
};

/** HfArgumentParser's `string_to_bool`. */
export const parseBool = (name: string, raw: string): boolean => {
  const v = raw.toLowerCase();
  if (['yes', 'true', 't', 'y', '1'].includes(v)) return true;
  if (['no', 'false', 'f', 'n', '0'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false (or yes/no, t/f, y/n, 1/0), got ${JSON.stringify(raw)}`);
};

/** In text options the two characters backslash-n mean a newline, as FlagEmbedding's argument classes treat them. */
export const unescapeNewlines = (s: string): string => s.replaceAll('\\n', '\n');

/** Checks an integer against the option's range: safe, and ≥ its `min` (0 unless the table says otherwise). */
export const checkInteger = (name: string, spec: OptionSpec, n: number | bigint, shown: string): number => {
  const min = spec.kind === 'int' ? (spec.min ?? 0) : 0;
  if (typeof n === 'bigint' ? n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER) : !Number.isSafeInteger(n)) {
    throw new ConfigError(name, `integer out of range: ${shown}`);
  }
  const value = Number(n) + 0; // + 0: -0 is 0
  if (value < min) throw new ConfigError(name, min === 0 ? `must be a non-negative integer, got ${shown}` : `must be at least ${min}, got ${shown}`);
  return value;
};

/** Checks a word against a choice option's words. */
export const checkChoice = (name: string, choices: ReadonlyArray<string>, raw: string): string => {
  if (choices.includes(raw)) return raw;
  throw new ConfigError(name, `must be ${choices.join(' or ')}, got ${JSON.stringify(raw)}${didYouMean(raw, choices)}`);
};

/**
 * One command-line value of an option, read by its kind (a list's values one at a time). Throws a
 * {@link ConfigError} naming the option.
 */
export const parseValue = (name: string, spec: OptionSpec, raw: string): number | boolean | string => {
  switch (spec.kind) {
    case 'int':
      if (!/^[+-]?\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
      return checkInteger(name, spec, BigInt(raw), raw);
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
    case 'choice':
      return checkChoice(name, spec.choices, raw);
    case 'path':
    case 'list':
      return raw;
  }
};

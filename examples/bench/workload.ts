/**
 * The issue-4 benchmark workload shared by the benchmarks: bge-en-icl's fine-tuning settings as
 * dump arguments, and its corpus (../shared/fixtures, or this project's examples/data without it,
 * repeated to 2,500 records per file, two words swapped per text in each copy).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParsedArguments } from '../../lib/cli/args.js';
import type { FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { defaultTokenizerDir } from '../../lib/tokenizers/transformers.js';
import { makeCorpus } from './corpus.js';

export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const sharedFixtures = join(ROOT, '..', 'shared', 'fixtures', 'flagembedding-example-data');

/** bge-en-icl's fine-tuning settings, the workload; any dump argument given overrides. */
export const WORKLOAD: Record<string, string | string[]> = {
  query_max_len: '2048',
  passage_max_len: '512',
  train_group_size: '8',
  pad_to_multiple_of: '8',
  example_query_max_len: '256',
  example_passage_max_len: '256',
  query_instruction_for_retrieval: 'Given a query, retrieve passages that are relevant to the query.',
  query_instruction_format: '<instruct>{}\\n<query>{}',
  icl_suffix_str: '\\n<response>',
  additional_special_tokens: ['<instruct>', '<query>', '<response>'],
  knowledge_distillation: 'true',
  per_device_train_batch_size: '16',
  world_size: '1',
  rank: '0',
  seed: '42',
  steps: '50',
  index_cache: join(tmpdir(), 'llm-retriever-data-bench', 'index-cache'),
};

/** The workload as an argument list, without the arguments named in `except` (given elsewhere). */
export const workloadArguments = (except: ReadonlyArray<string> = []): string[] =>
  Object.entries(WORKLOAD)
    .filter(([k]) => !except.includes(`--${k}`))
    .flatMap(([k, v]) => [`--${k}`, ...(Array.isArray(v) ? v : [v])]);

/** Builds (once) the benchmark corpus; its task folders, and where it came from. */
export const benchmarkCorpus = async (): Promise<{ trainData: string[]; note: string }> => {
  const source = existsSync(sharedFixtures) ? sharedFixtures : join(ROOT, 'examples', 'data');
  const out = join(tmpdir(), 'llm-retriever-data-bench', existsSync(sharedFixtures) ? 'fixtures-20k' : 'samples-20k');
  await makeCorpus({ source, out, recordsPerFile: 2500, exclude: ['untyped'] });
  const trainData = readdirSync(out, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(out, d.name)).sort();
  return { trainData, note: `${out} (from ${source})` };
};

/**
 * FlagEmbedding's own data path on the same corpus and steps (examples/bench/reference.py), when
 * its oracle venv is on this machine (ORACLE_PYTHON, ORACLE_DIR); its JSON line, or null.
 */
export const runReference = (
  args: ParsedArguments,
  options: FlagEmbeddingOptions,
  run: { readonly steps: number; readonly repeats: number },
): Record<string, unknown> | null => {
  const python = process.env['ORACLE_PYTHON'] ?? '/tmp/oracle-venv/bin/python';
  if (!existsSync(python) || !existsSync(process.env['ORACLE_DIR'] ?? '/tmp/oracle-ref')) return null;
  const config = {
    tokenizer: args.tokenizer ?? defaultTokenizerDir(),
    additional_special_tokens: args.additional_special_tokens ?? null,
    seed: Number(args.seed),
    batch_size: options.perDeviceTrainBatchSize,
    world: options.worldSize,
    rank: options.rank,
    steps: run.steps,
    repeats: run.repeats,
    data_args: {
      train_data: options.trainData,
      train_group_size: options.trainGroupSize,
      query_max_len: options.queryMaxLen,
      passage_max_len: options.passageMaxLen,
      pad_to_multiple_of: options.padToMultipleOf,
      query_instruction_for_retrieval: options.queryInstructionForRetrieval,
      query_instruction_format: options.queryInstructionFormat,
      knowledge_distillation: options.knowledgeDistillation,
      same_dataset_within_batch: true,
      example_query_max_len: options.exampleQueryMaxLen,
      example_passage_max_len: options.examplePassageMaxLen,
      retrieval_use_examples: options.retrievalUseExamples,
      icl_suffix_str: options.iclSuffixStr,
      shuffle_ratio: options.shuffleRatio,
      small_threshold: options.smallThreshold,
      drop_threshold: options.dropThreshold,
      max_example_num_per_dataset: options.maxExampleNumPerDataset,
      passage_instruction_for_retrieval: options.passageInstructionForRetrieval,
      passage_instruction_format: options.passageInstructionFormat,
    },
  };
  const out = execFileSync(python, [join(ROOT, 'examples', 'bench', 'reference.py')], { input: JSON.stringify(config), stdio: ['pipe', 'pipe', 'ignore'], maxBuffer: 1 << 24 });
  return JSON.parse(out.toString().trim().split('\n').pop()!) as Record<string, unknown>;
};

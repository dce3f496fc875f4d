/**
 * Research-flavor parity on ../shared's real data (FlagEmbedding's example files), which must not be
 * copied here: the dataset folder (a README.md card whose splits name the files in ../shared) is
 * built in a temporary folder at run time, and only per-step, per-field SHA-256 digests of the research
 * module's output are kept (shared-digests.json). `node --import ./lib/cli/register.mjs
 * spec/golden/research/shared.ts` regenerates them with the oracle; shared.spec.ts compares.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultTokenizerDir } from '../../../lib/tokenizers/transformers.js';
import { stepDigest, sharedFixtures, type SharedDigests } from '../shared.js';
import { here, researchOracleInput, type ResearchGoldenConfig } from './configs.js';

export const researchDigestsFile = join(here, 'shared-digests.json');

export const loadResearchSharedConfigs = (): ReadonlyArray<ResearchGoldenConfig> =>
  JSON.parse(readFileSync(join(here, 'shared-configs.json'), 'utf8')) as ResearchGoldenConfig[];

/** Builds the dataset card over ../shared's files in a temporary folder; its path. */
export const sharedDataset = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-retriever-data-shared-research-'));
  const file = (path: string) => JSON.stringify(resolve(sharedFixtures, path));
  writeFileSync(
    join(dir, 'README.md'),
    [
      '---',
      'configs:',
      '- config_name: default',
      '  data_files:',
      `  - {split: retrieval, path: [${file('retrieval/msmarco.jsonl')}, ${file('retrieval/nq.jsonl')}]}`,
      `  - {split: nli, path: ${file('retrieval/nli.jsonl')}}`,
      `  - {split: classification, path: [${file('classification-no_in_batch_neg/AmazonClassification.jsonl')}, ${file('classification-no_in_batch_neg/Banking77Classification.jsonl')}]}`,
      `  - {split: clustering, path: [${file('clustering-no_in_batch_neg/arXiv_title.jsonl')}, ${file('clustering-no_in_batch_neg/bioRXiv_title.jsonl')}]}`,
      `  - {split: sts, path: ${file('sts/sts.jsonl')}}`,
      'dataset_info:',
      '  features:',
      '  - {name: query, dtype: string}',
      '  - {name: pos, list: string}',
      '  - {name: neg, list: string}',
      '  - {name: pos_scores, list: float64}',
      '  - {name: neg_scores, list: float64}',
      '  - {name: prompt, dtype: string}',
      '  - {name: type, dtype: string}',
      '  - {name: category, dtype: string}',
      '---',
      '',
    ].join('\n'),
  );
  return dir;
};

/** A configuration with `$SHARED` replaced by the built dataset. */
export const withShared = (config: ResearchGoldenConfig, dataset: string): ResearchGoldenConfig => ({
  ...config,
  args: Object.fromEntries(Object.entries(config.args).map(([k, v]) => [k, v === '$SHARED' ? dataset : v])),
});

const generate = async (): Promise<void> => {
  const { runResearchOracle } = await import('./generate.js');
  if (!existsSync(sharedFixtures)) throw new Error(`no ${sharedFixtures}`);
  const dataset = sharedDataset();
  const out: SharedDigests = {};
  for (const raw of loadResearchSharedConfigs()) {
    const config = withShared(raw, dataset);
    for (let rank = 0; rank < config.world_size; rank++) {
      const steps = runResearchOracle(researchOracleInput(config, rank, defaultTokenizerDir(), null));
      out[`${config.name}.rank${rank}`] = steps.map(stepDigest);
      console.log(`${config.name} rank ${rank}: ${steps.length} steps, ${new Set(steps.map((s) => s['epoch'])).size} epochs`);
    }
  }
  writeFileSync(researchDigestsFile, `${JSON.stringify(out, null, 1)}\n`);
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await generate();

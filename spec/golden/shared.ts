/**
 * Parity on ../shared's real data (FlagEmbedding's own example files), which must not be copied
 * into this repository: only per-step, per-field SHA-256 digests of the oracle's output are kept
 * (shared-digests.json). `node --import ./lib/cli/register.mjs spec/golden/shared.ts` regenerates them with the oracle;
 * shared.spec.ts compares our `dump` against them whenever ../shared is present.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultTokenizerDir } from '../../lib/tokenizers/transformers.js';
import { oracleConfig, type GoldenConfig } from './configs.js';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
/** ../shared's copy of FlagEmbedding's example data (LLM_RETRIEVER_DATA_SHARED_FIXTURES moves it: the skip meta-test points it nowhere). */
export const sharedFixtures = process.env['LLM_RETRIEVER_DATA_SHARED_FIXTURES'] ?? join(root, '..', 'shared', 'fixtures', 'flagembedding-example-data');
export const digestsFile = join(here, 'shared-digests.json');

export const loadSharedConfigs = (): ReadonlyArray<GoldenConfig> =>
  JSON.parse(readFileSync(join(here, 'shared-configs.json'), 'utf8')) as GoldenConfig[];

/** Per-field digests of one step (canonical: the value re-serialized by JSON.stringify). */
export const stepDigest = (step: Readonly<Record<string, unknown>>): Record<string, string> =>
  Object.fromEntries(
    Object.keys(step)
      .sort()
      .map((key) => [key, createHash('sha256').update(JSON.stringify(step[key])).digest('hex').slice(0, 20)]),
  );

export type SharedDigests = Record<string, ReadonlyArray<Record<string, string>>>;

const generate = (): void => {
  const python = process.env['ORACLE_PYTHON'] ?? '/tmp/oracle-venv/bin/python';
  const script = process.env['ORACLE_SCRIPT'] ?? join(root, '..', 'shared', 'oracle', 'run_ref.py');
  if (!existsSync(sharedFixtures)) throw new Error(`no ${sharedFixtures}`);
  const out: SharedDigests = {};
  for (const config of loadSharedConfigs()) {
    for (let rank = 0; rank < config.world_size; rank++) {
      const input = JSON.stringify(oracleConfig(config, rank, defaultTokenizerDir())).replace(/\{"__bigint":"(\d+)"\}/, '$1');
      const steps = JSON.parse(execFileSync(python, [script], { cwd: root, input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] }).toString('utf8')) as Record<string, unknown>[];
      out[`${config.name}.rank${rank}`] = steps.map(stepDigest);
      const epochs = new Set(steps.map((s) => s['epoch'])).size;
      console.log(`${config.name} rank ${rank}: ${steps.length} steps, ${epochs} epochs`);
    }
  }
  writeFileSync(digestsFile, `${JSON.stringify(out, null, 1)}\n`);
};

if (process.argv[1] === fileURLToPath(import.meta.url)) generate();

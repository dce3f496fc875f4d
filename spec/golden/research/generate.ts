/**
 * Regenerates the research flavor's parity goldens: runs the research module itself
 * (../shared/oracle/run_research.py, set up per its README) on every configuration of configs.json,
 * for every rank, and writes <name>.rank<r>.jsonl.gz here. A configuration with `save` first writes
 * its dataset with this library's save_to_disk, so its golden is the research module reading our
 * folder. Not part of `npm test`; run it by hand:
 *
 *   node --import ./lib/cli/register.mjs spec/golden/research/generate.ts [name ...]
 *
 * Environment: ORACLE_PYTHON (default /tmp/oracle-venv/bin/python), ORACLE_RESEARCH_SCRIPT
 * (default ../shared/oracle/run_research.py).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defaultTokenizerDir } from '../../../lib/tokenizers/transformers.js';
import { loadResearchConfigs, prepareSaved, researchGoldenFile, researchOracleInput, root } from './configs.js';

const python = process.env['ORACLE_PYTHON'] ?? '/tmp/oracle-venv/bin/python';
const script = process.env['ORACLE_RESEARCH_SCRIPT'] ?? join(root, '..', 'shared', 'oracle', 'run_research.py');
const only = new Set(process.argv.slice(2));

/** Runs the research oracle on one rank's config; its steps. */
export const runResearchOracle = (input: string): Record<string, unknown>[] =>
  JSON.parse(execFileSync(python, [script], { cwd: root, input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] }).toString('utf8')) as Record<string, unknown>[];

if (process.argv[1]?.endsWith('generate.ts')) {
  for (const config of loadResearchConfigs()) {
    if (only.size > 0 && !only.has(config.name)) continue;
    const saved = await prepareSaved(config);
    try {
      for (let rank = 0; rank < config.world_size; rank++) {
        const started = Date.now();
        const steps = runResearchOracle(researchOracleInput(config, rank, defaultTokenizerDir(), saved?.dir ?? null));
        const file = researchGoldenFile(config, rank);
        writeFileSync(file, gzipSync(steps.map((s) => JSON.stringify(s)).join('\n') + '\n', { level: 9 }));
        const epochs = new Set(steps.map((s) => s['epoch'])).size;
        console.log(`${config.name} rank ${rank}: ${steps.length} steps, ${epochs} epochs, ${(readFileSync(file).length / 1024).toFixed(0)} KiB (${Date.now() - started} ms)`);
      }
    } finally {
      saved?.cleanup();
    }
  }
}

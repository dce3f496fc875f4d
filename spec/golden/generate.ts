/**
 * Regenerates the parity goldens: runs FlagEmbedding's own data code (the oracle in
 * ../shared/oracle, set up per its README) on every configuration of configs.json, for every rank,
 * and writes <name>.rank<r>.jsonl.gz here. Not part of `npm test`; run it by hand:
 *
 *   node --import ./lib/cli/register.mjs spec/golden/generate.ts [name ...]
 *
 * Environment: ORACLE_PYTHON (default /tmp/oracle-venv/bin/python), ORACLE_SCRIPT (default
 * ../shared/oracle/run_ref.py).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defaultTokenizerDir } from '../../lib/tokenizers/transformers.js';
import { loadGoldenConfigs, oracleConfig } from './configs.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const python = process.env['ORACLE_PYTHON'] ?? '/tmp/oracle-venv/bin/python';
const script = process.env['ORACLE_SCRIPT'] ?? join(root, '..', 'shared', 'oracle', 'run_ref.py');
const only = new Set(process.argv.slice(2));

for (const config of loadGoldenConfigs()) {
  if (only.size > 0 && !only.has(config.name)) continue;
  for (let rank = 0; rank < config.world_size; rank++) {
    // The seed goes in as a bare integer literal (JSON numbers in JS lose digits past 2^53).
    const input = JSON.stringify(oracleConfig(config, rank, defaultTokenizerDir())).replace(/\{"__bigint":"(\d+)"\}/, '$1');
    const started = Date.now();
    const out = execFileSync(python, [script], { cwd: root, input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
    const steps = JSON.parse(out.toString('utf8')) as unknown[];
    const lines = steps.map((s) => JSON.stringify(s)).join('\n') + '\n';
    const file = join(here, `${config.name}.rank${rank}.jsonl.gz`);
    writeFileSync(file, gzipSync(lines, { level: 9 }));
    const epochs = new Set(steps.map((s) => (s as { epoch: number }).epoch)).size;
    console.log(`${config.name} rank ${rank}: ${steps.length} steps, ${epochs} epochs, ${(readFileSync(file).length / 1024).toFixed(0)} KiB (${Date.now() - started} ms)`);
  }
}

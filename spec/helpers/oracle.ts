/**
 * The reference oracle's Python (../shared/oracle, set up in /tmp/oracle-venv), for specs that
 * check files with Python's own `datasets` when it is on the machine and say why they skip when not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The venv's python, or null. */
export const oraclePython: string | null = (() => {
  const python = process.env['ORACLE_PYTHON'] ?? '/tmp/oracle-venv/bin/python';
  return existsSync(python) ? python : null;
})();

/** `{ skip: 'skipped: …' }` when the oracle's Python is absent, for node:test's `it(name, options, fn)`. */
export const needsOraclePython = (): { skip?: string } =>
  oraclePython === null ? { skip: 'skipped: no oracle Python (/tmp/oracle-venv, see ../shared/oracle/README.md) on this machine' } : {};

/** The research oracle script, or null when ../shared is absent. */
export const researchOracleScript: string | null = (() => {
  const script = process.env['ORACLE_RESEARCH_SCRIPT'] ?? join(root, '..', 'shared', 'oracle', 'run_research.py');
  return existsSync(script) && existsSync('/tmp/oracle-ref/research') ? script : null;
})();

/** `{ skip: … }` unless both the oracle's Python and the research oracle are here. */
export const needsResearchOracle = (): { skip?: string } =>
  oraclePython === null
    ? needsOraclePython()
    : researchOracleScript === null
      ? { skip: 'skipped: no research oracle (../shared/oracle/run_research.py and /tmp/oracle-ref/research) on this machine' }
      : {};

/** Runs Python code with the oracle's venv; returns stdout. */
export const runPython = (code: string, input?: string): string =>
  execFileSync(oraclePython!, ['-c', code], { input: input ?? '', maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1', HF_DATASETS_DISABLE_PROGRESS_BARS: '1' } }).toString('utf8');

/**
 * kill -9 during export, at moments drawn from the run's seed, several times in a row (each rerun
 * continues from what the killed one left, and may be killed in turn, also while its index cache
 * is being built): the folder ends byte for byte as an export that was never interrupted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FC_SEED } from '../helpers/fc.js';
import { filesOf } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-export-kills-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The command, to the end or until killed after `killAfter` ms; how it ended. */
const exportRun = (argv: ReadonlyArray<string>, killAfter: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'lib/cli/bin.mjs'), ...argv], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    if (killAfter !== null) void sleep(killAfter).then(() => child.exitCode === null && child.kill('SIGKILL'));
  });

describe(`export under kill -9 (FC_SEED=${FC_SEED})`, () => {
  it('killed at random moments, up to four times in a row, then run to the end: the same files, byte for byte, as an uninterrupted export', { timeout: 240_000 }, async () => {
    const argv = (out: string, cache: string) => [
      'export',
      '--train_data', join(ROOT, 'examples/data/retrieval'), join(ROOT, 'examples/data/sts'),
      '--query_max_len', '64', '--passage_max_len', '48', '--per_device_train_batch_size', '4', '--world_size', '2', '--all_ranks',
      '--steps', '1200', '--steps_per_shard', '8', '--out', out, '--index_cache', cache, '--no_progress',
    ];
    const whole = tempDir();
    const reference = await exportRun(argv(whole, tempDir()), null);
    assert.equal(reference.code, 0, reference.stderr);
    const dir = tempDir();
    const cache = tempDir();
    const kills = fc.sample(fc.integer({ min: 300, max: 4000 }), { seed: FC_SEED, numRuns: 4 });
    const endings: string[] = [];
    for (const after of kills) {
      const run = await exportRun(argv(dir, cache), after);
      endings.push(run.signal ?? `exit ${run.code}`);
      if (run.signal === null) {
        assert.equal(run.code, 0, run.stderr);
        break;
      }
    }
    const last = await exportRun(argv(dir, cache), null);
    assert.equal(last.code, 0, last.stderr);
    assert.ok(endings.includes('SIGKILL'), `at least one run was killed: ${endings.join(', ')}`);
    assert.deepEqual(filesOf(dir), filesOf(whole), `after ${endings.join(', ')}`);
  });
});

/**
 * kill -9 while resume states are written: whenever the writer dies, the state file is the last
 * state written before or the one being written, whole, never a part; and a `dump --state_out` killed at
 * any moment leaves no state or a whole one that resumes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeResumeState } from '../../lib/core/resume.js';
import { FC_SEED } from '../helpers/fc.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-resume-writes-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kill delays drawn from the run's seed (a failure replays with FC_SEED). */
const delays = (n: number, min: number, max: number) => fc.sample(fc.integer({ min, max }), { seed: FC_SEED, numRuns: n });

describe(`resume states under kill -9 (FC_SEED=${FC_SEED})`, () => {
  it('a writer killed at random moments, 8 times, in a loop of writes of ~1 MB states: the file always holds one whole state, the last one written or the next', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const script = join(dir, 'writer.mjs');
    // Big states (a plan of 100,000 tasks) so that a write takes long enough to be caught in the middle.
    writeFileSync(
      script,
      [
        `import { writeResumeState } from ${JSON.stringify(join(ROOT, 'lib/core/resume.ts'))};`,
        'const globalBatchSizes = Array.from({ length: 100000 }, (_, i) => 1 + (i % 7));',
        'for (let i = 1; ; i++) {',
        "  await writeResumeState(process.argv[2], { version: 2, globalStep: i, epoch: 0, step: i, fingerprint: { data: 'd', config: 'c', tokenizer: 't' }, plan: { worldSize: 1, perDeviceTrainBatchSize: 8, globalBatchSizes } });",
        '  process.stdout.write(`${i}\\n`);',
        '}',
      ].join('\n'),
    );
    let last = 0;
    for (const delay of delays(8, 30, 600)) {
      const child = spawn(process.execPath, ['--import', join(ROOT, 'lib/cli/register.mjs'), script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      const closed = new Promise((r) => child.on('close', r));
      let done = '';
      child.stdout.on('data', (d: Buffer) => (done += d.toString()));
      await new Promise((r) => child.stdout.once('data', r)); // started writing
      await sleep(delay);
      child.kill('SIGKILL');
      await closed;
      const written = done.trim().split('\n').map(Number);
      const confirmed = written[written.length - 1]!;
      const state = decodeResumeState(JSON.parse(readFileSync(file, 'utf8')));
      assert.ok(state.globalStep === confirmed || state.globalStep === confirmed + 1, `after a kill at +${delay} ms: the file holds step ${state.globalStep}, the writer had confirmed ${confirmed}`);
      assert.ok(state.version === 2 && state.plan.globalBatchSizes.length === 100_000);
      last = state.globalStep;
    }
    assert.ok(last > 0);
    // What a killed writer leaves: its temporary file (random name, never read), no other.
    for (const name of readdirSync(dir)) assert.match(name, /^(state\.json|writer\.mjs|\.state\.json\.[0-9a-f]{32}\.tmp)$/);
  });

  it('dump --state_out killed at random moments: no state file, or a whole one that resumes', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const base = ['dump', '--train_data', join(ROOT, 'examples/data/retrieval'), '--query_instruction_for_retrieval', 'x', '--per_device_train_batch_size', '2', '--index_cache', join(dir, 'cache')];
    const argv = [...base, '--steps', '20', '--state_out', file];
    for (const delay of delays(4, 200, 2500)) {
      const child = spawn(process.execPath, [join(ROOT, 'lib/cli/bin.mjs'), ...argv], { stdio: 'ignore' });
      // Listened for at once: a run that ends before the kill has closed already.
      const closed = new Promise((r) => child.on('close', r));
      await sleep(delay);
      child.kill('SIGKILL');
      await closed;
      if (!existsSync(file)) continue;
      const state = decodeResumeState(JSON.parse(readFileSync(file, 'utf8')));
      assert.equal(state.globalStep, 20, `after a kill at +${delay} ms`);
    }
    // Whatever is there resumes.
    if (existsSync(file)) {
      const resumed = await new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, [join(ROOT, 'lib/cli/bin.mjs'), ...base, '--resume_from', file, '--steps', '1'], { stdio: 'ignore' });
        p.on('close', resolve);
      });
      assert.equal(resumed, 0);
    }
  });
});

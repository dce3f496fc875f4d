/** The examples are documentation that runs: each must exit cleanly and print what the README shows. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = async (file: string, ...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', './lib/cli/register.mjs', file, ...args], { maxBuffer: 1 << 26 });

describe('examples', () => {
  it('quickstart prints, per step and rank, the task, counts, shapes and the decoded first query', async () => {
    const { stdout } = await run('examples/quickstart.ts', '3');
    const steps = stdout.split('\n').filter((l) => l.startsWith('epoch '));
    assert.equal(steps.length, 6, stdout);
    for (const rank of [0, 1]) assert.equal(steps.filter((l) => l.includes(` rank ${rank} `)).length, 3);
    assert.match(steps[0]!, /^epoch 0 step 0 rank 0 \| task examples\/data\/\S+ .* \| \d+ queries, \d+ passages \(group \d+\) \| q \d+×\d+ p \d+×\d+/);
    assert.match(stdout, /first query of rank 0, decoded from its ids .*\n {2}"<s><instruct>/);
    assert.match(stdout, /report \(both ranks\): /);
  });

  it('research prints research-flavor steps with their split, messages and scores', async () => {
    const { stdout } = await run('examples/research.ts', '4');
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 5, stdout);
    for (const line of lines.slice(0, 4)) assert.match(line, /^epoch 0 step \d \| examples\/research\/jsonl-configs \[\w+\] \(\w+\) \| 6 queries, \d+ passages \| messages: (not in-batch|\d+ × normal) \| scores: (\d+|none)$/);
    assert.match(stdout, /messages: not in-batch/);
  });

  it('customStage runs the hand-composed pipeline with the custom stages in it', async () => {
    const { stdout } = await run('examples/customStage.ts');
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 5, stdout);
    for (const line of lines) assert.match(line, /^step \d+ examples\/data\/\S+: \d+% of query cells and \d+% of passage cells are padding$/);
  });

  it('falseNegatives prints, per step, the global mask’s shape (this rank’s queries × both ranks’ passages) and how many passages it takes out', async () => {
    const { stdout } = await run('examples/falseNegatives.ts', '8');
    const steps = stdout.split('\n').filter((l) => l.startsWith('step '));
    assert.equal(steps.length, 8, stdout);
    for (const line of steps) {
      const m = /^step \d+ \| examples\/data\/\S+ \((\w+)\) \| mask (\d+)×(\d+) \| (\d+) masked$/.exec(line);
      assert.ok(m, line);
      // Two ranks: the columns are twice this rank's passages (queries × group size × 2).
      assert.equal(Number(m[3]) % (2 * Number(m[2])), 0, line);
    }
    assert.ok(steps.some((l) => /\(symmetric_class\) .* [1-9]\d* masked$/.test(l)), 'the class labels repeat across queries: masked');
  });
});

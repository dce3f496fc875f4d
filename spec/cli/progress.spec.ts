/**
 * Progress on stderr: drawn in place on a terminal, as lines when forced elsewhere, never on stdout,
 * on by default only when stderr is a terminal, `--progress` / `--no_progress` to force.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../lib/cli/main.js';
import { output } from '../../lib/cli/output.js';
import { stderrProgress } from '../../lib/cli/progress.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA = join(ROOT, 'examples/data');

/** A stream that keeps what is written, optionally claiming to be a terminal of `columns` columns. */
const sink = (tty?: { columns: number }) => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  if (tty !== undefined) Object.assign(stream, { isTTY: true, columns: tty.columns });
  return { stream, text: () => chunks.join('') };
};

/** A clock the test moves. */
const clock = () => {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

describe('stderrProgress', () => {
  it('lines: the first update at once, then at most one per interval, and a final "done" line', () => {
    const err = sink();
    const time = clock();
    const progress = stderrProgress(output(err.stream), { style: 'lines', interval: 1000, now: time.now });
    const task = progress.start('indexing task files', { total: 4_000_000, unit: 'bytes' });
    task.update(1_000_000, '1 of 4 files');
    time.advance(400);
    task.update(2_000_000, '2 of 4 files'); // within the interval: not drawn
    time.advance(700);
    task.update(3_000_000, '3 of 4 files');
    time.advance(500);
    task.end();
    task.end(); // twice: nothing more
    assert.deepEqual(err.text().split('\n'), [
      'indexing task files: 25% (1.0 MB of 4.0 MB), 1 of 4 files, 0.0 s',
      'indexing task files: 75% (3.0 MB of 4.0 MB), 3 of 4 files, 1.1 s, about 0.4 s left',
      'indexing task files: done, 75% (3.0 MB of 4.0 MB), 3 of 4 files, 1.6 s',
      '',
    ]);
  });

  it('line (a terminal): redrawn in place with \\r and erase-to-end, cut to the width, cleared at the end', () => {
    const err = sink({ columns: 40 });
    const time = clock();
    const progress = stderrProgress(output(err.stream), { style: 'line', interval: 100, now: time.now });
    const task = progress.start('indexing task files', { total: 10, unit: 'files' });
    task.update(0);
    time.advance(150);
    task.update(5, 'now a-very-long-file-name.jsonl');
    task.end();
    const draws = err.text().split('\r').filter((d) => d !== '');
    assert.equal(draws.length, 3);
    assert.equal(draws[0], 'indexing task files: 0% (0 files of 10…\x1b[K');
    for (const d of draws.slice(0, 2)) {
      assert.ok(d.endsWith('\x1b[K'), JSON.stringify(d));
      assert.ok(d.length - 3 <= 39, `fits in 39 columns: ${JSON.stringify(d)}`);
    }
    assert.equal(draws[2], '\x1b[K', 'cleared at the end');
    assert.ok(!err.text().includes('\n'), 'no new lines on a terminal');
  });

  it('while nothing changes (one big file), the elapsed time still moves, once per interval, until the end', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const err = sink();
    const time = clock();
    const task = stderrProgress(output(err.stream), { style: 'lines', interval: 1000, now: time.now }).start('indexing task files', { total: 100, unit: 'bytes' });
    task.update(0, 'now big.jsonl');
    for (let i = 0; i < 3; i++) {
      time.advance(1000);
      t.mock.timers.tick(1000);
    }
    task.end();
    time.advance(1000);
    t.mock.timers.tick(5000); // no more ticks after the end
    assert.deepEqual(
      err.text().split('\n').map((l) => /, (\d+\.\d s)$/.exec(l)?.[1] ?? l),
      ['0.0 s', '1.0 s', '2.0 s', '3.0 s', '3.0 s', ''],
    );
  });

  it('a task without a total shows the count; starting a task ends the one before', () => {
    const err = sink();
    const time = clock();
    const progress = stderrProgress(output(err.stream), { style: 'lines', interval: 1000, now: time.now });
    const first = progress.start('replaying', { unit: 'steps' });
    first.update(12_345);
    progress.start('exporting').end();
    first.end(); // already ended by the next start
    assert.deepEqual(err.text().split('\n'), ['replaying: 12,345 steps, 0.0 s', 'replaying: done, 12,345 steps, 0.0 s', 'exporting: done, 0.0 s', '']);
  });

  it('a task with a total says how long the rest will take at the pace so far (after a second); a wait (no unit) shows its note and time only; updates after the end draw nothing', () => {
    const err = sink();
    const time = clock();
    const progress = stderrProgress(output(err.stream), { style: 'lines', interval: 1000, now: time.now });
    const replay = progress.start('resuming at step 10,000,000', { total: 10_000_000, unit: 'steps' });
    replay.update(0);
    time.advance(2000);
    replay.update(1_000_000); // 2 s for a tenth: 18 s left
    replay.end();
    replay.update(2_000_000);
    const wait = progress.start('waiting for pid 7', {});
    time.advance(1500);
    wait.update(0, 'last heartbeat 0 s ago');
    wait.end();
    assert.deepEqual(err.text().split('\n'), [
      'resuming at step 10,000,000: 0% (0 steps of 10,000,000 steps), 0.0 s',
      'resuming at step 10,000,000: 10% (1,000,000 steps of 10,000,000 steps), 2.0 s, about 18.0 s left',
      'resuming at step 10,000,000: done, 10% (1,000,000 steps of 10,000,000 steps), 2.0 s',
      'waiting for pid 7: last heartbeat 0 s ago, 1.5 s',
      'waiting for pid 7: done, last heartbeat 0 s ago, 1.5 s',
      '',
    ]);
  });
});

describe('cli: progress', () => {
  const argv = (...rest: string[]) => ['dump', '--train_data', join(DATA, 'retrieval'), join(DATA, 'sts'), '--per_device_train_batch_size', '2', '--steps', '3', '--index_cache', mkdtempSync(join(tmpdir(), 'llm-retriever-data-progress-')), ...rest];
  const run = async (args: string[], ttyErr?: { columns: number }, ttyOut?: { columns: number }) => {
    const out = sink(ttyOut);
    const err = sink(ttyErr);
    const code = await main(args, { stdout: out.stream, stderr: err.stream, env: {} });
    return { code, stdout: out.text(), stderr: err.text() };
  };

  it('off by default when stderr is not a terminal: stderr has only the summary', async () => {
    const r = await run(argv());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^llm-retriever-data: dump: 3 steps printed; [^\n]*\n$/);
  });

  it('--progress on a non-terminal: plain lines about indexing on stderr, ending with "done" and every file; stdout is byte for byte the same', async () => {
    const plain = await run(argv());
    const r = await run(argv('--progress'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout === plain.stdout, 'the same output');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.match(lines[0]!, /^indexing task files: 0% \(0\.0 MB of 0\.\d MB\), 0 of 4 files, now faq\.jsonl, \d+\.\d s$/);
    assert.match(lines.at(-2)!, /^indexing task files: done, 100% \(0\.\d MB of 0\.\d MB\), 4 of 4 files, \d+\.\d s$/);
    assert.match(lines.at(-1)!, /^llm-retriever-data: dump: 3 steps printed; /);
  });

  it('on by default when stderr is a terminal (drawn in place and cleared before the summary); never on stdout, even a terminal stdout', async () => {
    const r = await run(argv(), { columns: 120 }, { columns: 120 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^\rindexing task files: /);
    assert.match(r.stderr, /\r\x1b\[Kllm-retriever-data: dump: 3 steps printed; [^\n]*\n$/);
    assert.doesNotMatch(r.stdout, /indexing|\r|\x1b/);
    assert.equal(r.stdout.split('\n').length, 4);
  });

  it('--no_progress (and --progress false) turn it off on a terminal', async () => {
    for (const flag of [['--no_progress'], ['--progress', 'false'], ['--no-progress']]) {
      const r = await run(argv(...flag), { columns: 120 });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /indexing/, flag.join(' '));
    }
  });

  it('plan shows it too', async () => {
    const r = await run(['plan', ...argv('--progress').slice(1)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^indexing task files: done, 100% .*4 of 4 files/m);
  });
});

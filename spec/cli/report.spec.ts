/**
 * What the command says about skips and drops: the one-line summary on stderr at the end of `dump`
 * and `plan`, and `--report FILE` (every event as one JSON line, with file, line and cause).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { teeReport } from '../../lib/core/report.js';
import { openReportFile, summarizeReport } from '../../lib/cli/report.js';
import { ConfigError } from '../../lib/core/errors.js';
import { collectReport, type ReportEvent } from '../../lib/core/report.js';
import { runCli, type CliRun } from '../helpers/run.js';
import { jsonl, record, writeTree } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-report-'));

describe('summarizeReport', () => {
  it('nothing to say', () => {
    assert.equal(summarizeReport([]), 'nothing skipped or dropped');
    assert.equal(summarizeReport([{ kind: 'fileIndexed', file: 'a.jsonl', records: 3, cached: true }]), 'nothing skipped or dropped');
  });

  it('counts every kind of skip and drop, with the records they cost', () => {
    const events: ReportEvent[] = [
      { kind: 'fileSkipped', file: 'notes.txt', reason: 'not-json' },
      { kind: 'fileSkipped', file: 'empty.jsonl', reason: 'empty' },
      { kind: 'fileSkipped', file: 'x.jsonl', reason: 'empty' },
      { kind: 'fileSubsampled', file: 'big.jsonl', records: 30, kept: 5 },
      { kind: 'fileSubsampled', file: 'big2.jsonl', records: 10, kept: 5 },
      { kind: 'taskDropped', files: ['s.jsonl'], records: 3, reason: 'small_threshold' },
      { kind: 'tailDropped', epoch: 0, task: 'a', records: 1 },
      { kind: 'tailDropped', epoch: 1, task: 'a', records: 1 },
      { kind: 'recordDropped', issues: [{ file: 'a.jsonl', line: 5, field: 'pos', message: 'is empty' }] },
      { kind: 'fileIndexed', file: 'a.jsonl', records: 3, cached: false },
    ];
    assert.equal(
      summarizeReport(events),
      'skipped or dropped: 3 files skipped (1 not .json/.jsonl, 2 empty), 2 files subsampled (30 records left out), 1 task dropped (3 records), 2 incomplete last batches (2 records), 1 bad record skipped',
    );
  });
});

describe('teeReport and openReportFile', () => {
  it('teeReport passes each event to every sink, in order', () => {
    const a = collectReport();
    const b = collectReport();
    const event: ReportEvent = { kind: 'tailDropped', epoch: 0, task: 't', records: 2 };
    teeReport(a, b).add(event);
    assert.deepEqual([a.events, b.events], [[event], [event]]);
  });

  it('writes each event as one JSON line, as they come', async () => {
    const path = join(tempDir(), 'report.jsonl');
    const file = await openReportFile(path);
    const events: ReportEvent[] = [
      { kind: 'fileSkipped', file: 'n.txt', reason: 'not-json' },
      { kind: 'recordDropped', issues: [{ file: 'a.jsonl', line: 2, message: 'malformed JSON' }] },
    ];
    for (const e of events) file.sink.add(e);
    await file.close();
    assert.deepEqual(
      readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown),
      events,
    );
  });

  it('a file that cannot be created is a ConfigError naming --report and the path, before any work', async () => {
    const path = join(tempDir(), 'no-such-folder', 'report.jsonl');
    await assert.rejects(openReportFile(path), (e) => e instanceof ConfigError && e.option === 'report' && e.message.includes(path));
  });
});

/** The last line on stderr, and that it is the only one. */
describe('summarizeReport: warnings', () => {
  it('unknown types (the first named, with the known ones), cache entries rebuilt (the first reason), waits and locks taken over, after the drops', () => {
    const known = ['normal', 'only_1neg', 'symmetric_sts', 'symmetric_class', 'symmetric_clustering'];
    const events: ReportEvent[] = [
      { kind: 'tailDropped', epoch: 0, task: 'a', records: 1 },
      { kind: 'unknownType', file: 'a.jsonl', line: 1, type: 'norml', known },
      { kind: 'unknownType', file: 'b.jsonl', line: 3, type: 'retrieval', known },
      { kind: 'cacheEntryRejected', file: 'c.jsonl', cacheFile: '/cache/k.index', reason: 'it is truncated' },
      { kind: 'lockWaited', file: 'a.jsonl', lock: '/cache/k.lock', holder: { pid: 7, host: 'h' }, seconds: 1.5, outcome: 'released' },
      { kind: 'lockWaited', file: 'b.jsonl', lock: '/cache/j.lock', holder: null, seconds: 2.5, outcome: 'taken-over', reason: 'it has stayed empty for 2 s' },
    ];
    assert.equal(
      summarizeReport(events),
      'skipped or dropped: 1 incomplete last batch (1 record); warnings: 2 files of a type the reference does not know, trained as normal (a.jsonl:1 "norml" and 1 more; known: normal, only_1neg, symmetric_sts, symmetric_class, symmetric_clustering), 1 cache entry rebuilt (c.jsonl: it is truncated), 2 waits for another process\'s index build (4.0 s; 1 lock taken over from a process gone or silent)',
    );
    assert.equal(summarizeReport([events[1]!]), 'nothing skipped or dropped; warnings: 1 file of a type the reference does not know, trained as normal (a.jsonl:1 "norml"; known: normal, only_1neg, symmetric_sts, symmetric_class, symmetric_clustering)');
  });
});

const summaryLine = (run: CliRun): string => {
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr: ${run.stderr}`);
  return lines[0]!;
};

const reportLines = (path: string): ReportEvent[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ReportEvent);

describe('cli: the summary line and --report', () => {
  /** A folder with a bad record, a file that is not JSON, an empty file, and good data. */
  const corpus = () =>
    writeTree({
      'tasks/a.jsonl': [
        ...Array.from({ length: 4 }, (_, i) => JSON.stringify(record(i, { prompt: 'Find it.', type: 'normal' }))),
        JSON.stringify({ query: 'THE BAD QUERY', pos: [], neg: ['x'], prompt: 'Find it.', type: 'normal' }),
        ...Array.from({ length: 5 }, (_, i) => JSON.stringify(record(10 + i, { prompt: 'Find it.', type: 'normal' }))),
        '',
      ].join('\n'),
      'tasks/b.jsonl': jsonl(...Array.from({ length: 7 }, (_, i) => record(20 + i, { prompt: 'Find it.', type: 'normal' }))),
      'tasks/notes.txt': 'not a task',
      'tasks/empty.jsonl': '',
    });
  const args = (command: string, root: string, ...rest: string[]) => [command, '--train_data', join(root, 'tasks'), '--per_device_train_batch_size', '2', '--index_cache', tempDir(), ...rest];

  it('dump --bad_records skip: one line at the end counting the skipped files, the bad record and the dropped tails (these were silent)', async () => {
    const run = await runCli(args('dump', corpus(), '--bad_records', 'skip'));
    assert.equal(
      summaryLine(run),
      'llm-retriever-data: dump: 7 steps printed; skipped or dropped: 2 files skipped (1 not .json/.jsonl, 1 empty), 2 incomplete last batches (2 records), 1 bad record skipped (--report FILE lists each)',
    );
  });

  it('--report FILE holds every event, each with its file (and line and cause for a bad record), and the summary points to it', async () => {
    const root = corpus();
    const path = join(tempDir(), 'report.jsonl');
    const run = await runCli(args('dump', root, '--bad_records', 'skip', '--report', path));
    assert.match(summaryLine(run), new RegExp(`\\(each in ${path.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
    const events = reportLines(path);
    const a = join(root, 'tasks', 'a.jsonl');
    assert.deepEqual(
      events.filter((e) => e.kind === 'recordDropped'),
      [{ kind: 'recordDropped', issues: [{ file: a, line: 5, field: 'pos', message: 'is empty; every record needs at least one positive' }] }],
    );
    assert.deepEqual(
      events.filter((e) => e.kind === 'fileSkipped').map((e) => e.kind === 'fileSkipped' && [e.file, e.reason]),
      [
        [join(root, 'tasks', 'notes.txt'), 'not-json'], // when the folder is listed
        [join(root, 'tasks', 'empty.jsonl'), 'empty'], // when it is indexed
      ],
    );
    assert.deepEqual(
      events.filter((e) => e.kind === 'tailDropped'),
      [
        { kind: 'tailDropped', epoch: 0, task: a, records: 1 },
        { kind: 'tailDropped', epoch: 0, task: join(root, 'tasks', 'b.jsonl'), records: 1 },
      ],
    );
    assert.equal(events.filter((e) => e.kind === 'fileIndexed').length, 3, 'a, b and the empty file were indexed');
  });

  it('plan says the same of the same data (its tails: those of one epoch)', async () => {
    const root = corpus();
    const path = join(tempDir(), 'report.jsonl');
    const run = await runCli(args('plan', root, '--bad_records', 'skip', '--report', path, '--json'));
    assert.match(summaryLine(run), /^llm-retriever-data: plan: 2 tasks, 7 steps per epoch; skipped or dropped: 2 files skipped \(1 not \.json\/\.jsonl, 1 empty\), 2 incomplete last batches \(2 records\), 1 bad record skipped \(each in /);
    assert.equal(reportLines(path).filter((e) => e.kind !== 'fileIndexed').length, 5);
  });

  it('a type the reference does not know: the run goes on, the summary line warns, --report has the event (plan and dump alike)', async () => {
    const root = writeTree({ 'tasks/a.jsonl': jsonl(...Array.from({ length: 4 }, (_, i) => record(i, { prompt: 'P', type: 'norml' }))) });
    for (const command of ['plan', 'dump'] as const) {
      const path = join(tempDir(), 'report.jsonl');
      const line = summaryLine(await runCli(args(command, root, '--report', path)));
      assert.match(line, new RegExp(`warnings: 1 file of a type the reference does not know, trained as normal \\(${join(root, 'tasks', 'a.jsonl').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1 "norml"; known: normal, only_1neg`));
      assert.deepEqual(
        reportLines(path).filter((e) => e.kind === 'unknownType').map((e) => e.kind === 'unknownType' && [e.line, e.type]),
        [[1, 'norml']],
      );
    }
  });

  it('nothing dropped: the summary says so', async () => {
    const root = writeTree({ 'tasks/a.jsonl': jsonl(...Array.from({ length: 4 }, (_, i) => record(i, { prompt: 'P', type: 'normal' }))) });
    assert.equal(summaryLine(await runCli(args('dump', root))), 'llm-retriever-data: dump: 2 steps printed; nothing skipped or dropped');
  });

  it('subsampling and small_threshold drops are counted too', async () => {
    const small = join(ROOT, 'examples/data/small');
    const run = await runCli(['plan', '--train_data', small, join(small, 'recipes.jsonl'), '--small_threshold', '5', '--drop_threshold', '20', '--max_example_num_per_dataset', '5', '--per_device_train_batch_size', '4', '--index_cache', tempDir()]);
    assert.match(summaryLine(run), /skipped or dropped: \d+ files? subsampled \(\d+ records? left out\), 2 tasks dropped \(10 records\)/);
  });

  it('no task fills a global batch: plan fails as dump does, with the same error (it used to print a plan of 0 steps)', async () => {
    const small = join(ROOT, 'examples/data/small');
    const argv = ['--train_data', small, '--max_example_num_per_dataset', '5', '--index_cache', tempDir()];
    const plan = await runCli(['plan', ...argv]);
    const dump = await runCli(['dump', ...argv, '--query_instruction_for_retrieval', 'x']);
    assert.equal(plan.code, 2, plan.stderr);
    assert.equal(dump.code, 2, dump.stderr);
    assert.match(plan.stderr, /per_device_train_batch_size: no task fills one global batch/);
    assert.equal(plan.stderr, dump.stderr);
    assert.equal(plan.stdout, '');
  });

  it('a run that fails on bad data still leaves the report of what happened before (exit 1)', async () => {
    const root = corpus();
    const path = join(tempDir(), 'report.jsonl');
    const run = await runCli(args('dump', root, '--report', path));
    assert.equal(run.code, 1);
    assert.deepEqual(
      reportLines(path).filter((e) => e.kind === 'fileSkipped').length,
      1,
      'notes.txt, listed before a.jsonl failed',
    );
  });

  it('--report in a folder that does not exist: exit 2, one line naming the file, nothing printed', async () => {
    const path = join(tempDir(), 'missing', 'report.jsonl');
    const run = await runCli(args('dump', corpus(), '--bad_records', 'skip', '--report', path));
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, new RegExp(`^llm-retriever-data: error: report: cannot write ${path.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT[^\\n]*\\n$`));
  });
});

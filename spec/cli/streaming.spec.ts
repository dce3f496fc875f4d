/**
 * The command at corpus scale: `dump --state_out` then `dump --resume_from` prints exactly what one
 * uninterrupted `dump` prints; states that do not belong to the run are refused; torchrun's RANK and
 * WORLD_SIZE; `plan` (text and JSON) from the index alone; `--bad_records`. Every run uses a
 * temporary `--index_cache`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PlanReport } from '../../lib/pipelines/planReport.js';
import { runCli, type CliRun } from '../helpers/run.js';
import { jsonl, record, writeTree } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA = join(ROOT, 'examples/data');
const CACHE = mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-cache-'));
const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-'));

/** A few folders of the sample corpus, small batches (so 60 steps cross an epoch at world size 2). */
const CORPUS = ['--train_data', join(DATA, 'retrieval'), join(DATA, 'sts'), join(DATA, 'classification-no_in_batch_neg')];
const dump = (...rest: string[]) => ['dump', ...CORPUS, '--per_device_train_batch_size', '2', '--index_cache', CACHE, ...rest];
const plan = (...rest: string[]) => ['plan', '--index_cache', CACHE, ...rest];

const ok = (run: CliRun): string => {
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
};
const lines = (stdout: string): string[] => stdout.split('\n').filter((l) => l !== '');

/** Records of a task file: its non-blank lines (JSON Lines), or the length of its array. */
const recordsIn = (file: string): number => {
  const text = readFileSync(file, 'utf8');
  return text.trimStart().startsWith('[') ? (JSON.parse(text) as unknown[]).length : text.split('\n').filter((l) => l.trim() !== '').length;
};

describe('cli: dump --state_out, then dump --resume_from', () => {
  for (const ranks of [[], ['--world_size', '2', '--rank', '1']] as const) {
    const title = ranks.length === 0 ? 'world size 1' : 'world size 2, rank 1';
    it(`--steps 25 --state_out S, then --steps 35 --resume_from S, prints byte for byte the 60 lines of --steps 60 (${title})`, async () => {
      const state = join(tempDir(), 'state.json');
      const first = ok(await runCli(dump(...ranks, '--steps', '25', '--state_out', state)));
      const second = ok(await runCli(dump(...ranks, '--steps', '35', '--resume_from', state)));
      const whole = ok(await runCli(dump(...ranks, '--steps', '60')));
      assert.equal(lines(whole).length, 60);
      assert.equal(lines(first).length, 25);
      assert.equal(lines(second).length, 35);
      assert.ok(first + second === whole, 'the two runs concatenated equal the uninterrupted run');
    });
  }

  it('the state file is JSON: version 2, globalStep = steps printed, with data/config/tokenizer fingerprints and the plan', async () => {
    const state = join(tempDir(), 'state.json');
    ok(await runCli(dump('--steps', '25', '--state_out', state)));
    const parsed = JSON.parse(readFileSync(state, 'utf8')) as Record<string, unknown> & { fingerprint: Record<string, unknown>; plan: Record<string, unknown> };
    assert.equal(parsed['version'], 2);
    assert.equal(typeof parsed.plan['worldSize'], 'number');
    assert.ok(Array.isArray(parsed.plan['globalBatchSizes']));
    assert.equal(parsed['globalStep'], 25);
    assert.equal(typeof parsed['epoch'], 'number');
    assert.equal(typeof parsed['step'], 'number');
    for (const k of ['data', 'config', 'tokenizer']) assert.equal(typeof parsed.fingerprint[k], 'string', k);
  });

  it('--resume_from without --steps prints the rest of the epoch the state is in', async () => {
    const state = join(tempDir(), 'state.json');
    ok(await runCli(dump('--steps', '25', '--state_out', state)));
    const epoch = lines(ok(await runCli(dump())));
    const rest = lines(ok(await runCli(dump('--resume_from', state))));
    assert.ok(epoch.length > 25);
    assert.deepEqual(rest, epoch.slice(25));
  });

  it('--resume_from a state made with other arguments: exit 1, "cannot resume", nothing printed', async () => {
    const state = join(tempDir(), 'state.json');
    ok(await runCli(dump('--steps', '5', '--state_out', state)));
    for (const other of [
      ['--seed', '7'],
      ['--train_group_size', '4'],
    ]) {
      const run = await runCli(dump(...other, '--steps', '5', '--resume_from', state));
      assert.equal(run.code, 1, other.join(' '));
      assert.ok(run.stderr.startsWith('llm-retriever-data: cannot resume:'), run.stderr);
      assert.match(run.stderr, /the configuration/);
      assert.doesNotMatch(run.stderr, /the data\b/);
      assert.equal(run.stdout, '');
    }
    const otherData = await runCli(['dump', '--train_data', join(DATA, 'retrieval'), '--per_device_train_batch_size', '2', '--index_cache', CACHE, '--steps', '5', '--resume_from', state]);
    assert.equal(otherData.code, 1);
    assert.ok(otherData.stderr.startsWith('llm-retriever-data: cannot resume:'), otherData.stderr);
    assert.match(otherData.stderr, /the data\b/);
    assert.doesNotMatch(otherData.stderr, /the configuration/);
  });

  it('a missing or malformed state file: exit 1, "cannot resume"', async () => {
    const missing = await runCli(dump('--steps', '5', '--resume_from', join(tempDir(), 'no-such-state.json')));
    assert.equal(missing.code, 1);
    assert.ok(missing.stderr.startsWith('llm-retriever-data: cannot resume:'), missing.stderr);
    const bad = join(tempDir(), 'bad.json');
    writeFileSync(bad, '{"version": 2}');
    const malformed = await runCli(dump('--steps', '5', '--resume_from', bad));
    assert.equal(malformed.code, 1);
    assert.ok(malformed.stderr.startsWith('llm-retriever-data: cannot resume:'), malformed.stderr);
  });
});

describe("cli: torchrun's RANK and WORLD_SIZE", () => {
  it('are used when --rank and --world_size are absent: same output as the flags', async () => {
    const fromEnv = ok(await runCli(dump('--steps', '8'), { RANK: '1', WORLD_SIZE: '2', LOCAL_RANK: '1' }));
    const fromFlags = ok(await runCli(dump('--steps', '8', '--rank', '1', '--world_size', '2')));
    assert.equal(fromEnv, fromFlags);
    assert.notEqual(fromEnv, ok(await runCli(dump('--steps', '8'))), 'rank 1 of 2 differs from the single-rank run');
  });

  it('are ignored when the flags are given', async () => {
    const withEnv = ok(await runCli(dump('--steps', '8', '--rank', '0', '--world_size', '1'), { RANK: '1', WORLD_SIZE: '2' }));
    assert.equal(withEnv, ok(await runCli(dump('--steps', '8', '--rank', '0', '--world_size', '1'))));
  });

  it('broken variables do not win over the flags (a garbage WORLD_SIZE used to); when they are used, the error names them', async () => {
    const withFlags = dump('--steps', '8', '--rank', '1', '--world_size', '2');
    assert.equal(ok(await runCli(withFlags, { RANK: 'x', WORLD_SIZE: 'garbage' })), ok(await runCli(withFlags)));
    const run = await runCli(dump('--steps', '1'), { RANK: '0', WORLD_SIZE: 'garbage' });
    assert.equal(run.code, 2);
    assert.equal(run.stderr, 'llm-retriever-data: error: WORLD_SIZE: environment variable must be a non-negative integer, got "garbage"\n');
  });

  it('RANK without WORLD_SIZE (or the other way round) is a usage error: exit 2', async () => {
    for (const env of [{ RANK: '1' }, { WORLD_SIZE: '2' }]) {
      const run = await runCli(dump('--steps', '1'), env);
      assert.equal(run.code, 2, JSON.stringify(env));
      assert.match(run.stderr, /^llm-retriever-data: error: (RANK|WORLD_SIZE)/);
      assert.equal(run.stdout, '');
    }
  });

  it('plan reads them too', async () => {
    const report = JSON.parse(ok(await runCli(plan(...CORPUS, '--json'), { RANK: '1', WORLD_SIZE: '2' }))) as PlanReport;
    assert.equal(report.worldSize, 2);
  });
});

describe('cli: plan', () => {
  const planArgs = [...CORPUS, '--per_device_train_batch_size', '2', '--world_size', '2'];

  it('prints one line per task and the totals', async () => {
    const text = ok(await runCli(plan(...planArgs)));
    const report = JSON.parse(ok(await runCli(plan(...planArgs, '--json')))) as PlanReport;
    const out = text.split('\n');
    assert.match(out[0]!, new RegExp(`^${report.tasks.length} tasks, world size 2, per-device batch 2: ${report.stepsPerEpoch} steps per epoch`));
    for (const t of report.tasks) {
      assert.equal(out.filter((l) => l.startsWith(`#${t.index} ${t.name}`)).length, 1, t.name);
    }
    assert.ok(out.some((l) => /incomplete last batches: \d+ records per epoch/.test(l)));
  });

  it('--json: stepsPerEpoch = the lines of a dump without --steps; per task, batches and drops are floor and remainder of records / (batch × world)', async () => {
    const report = JSON.parse(ok(await runCli(plan(...planArgs, '--json')))) as PlanReport;
    const epoch = lines(ok(await runCli(dump('--world_size', '2', '--rank', '1'))));
    assert.equal(report.stepsPerEpoch, epoch.length);
    assert.equal(report.tasks.length, 6);
    for (const t of report.tasks) {
      assert.equal(t.records, t.files.reduce((n, f) => n + recordsIn(f), 0), t.name);
      // Symmetric tasks use half the per-device batch size (the reference's rule).
      assert.equal(t.batchSize, t.type?.startsWith('symmetric') ? 1 : 2, t.name);
      assert.equal(t.globalBatchSize, t.batchSize * 2);
      assert.equal(t.batchesPerEpoch, Math.floor(t.records / (t.batchSize * 2)), t.name);
      assert.equal(t.droppedPerEpoch, t.records % (t.batchSize * 2), t.name);
    }
    assert.equal(report.dropped.incompleteLastBatchPerEpoch, report.tasks.reduce((n, t) => n + t.droppedPerEpoch, 0));
    assert.equal(report.recordsPerEpoch, report.tasks.reduce((n, t) => n + t.batchesPerEpoch * t.globalBatchSize, 0));
  });

  it('--json lists the small_threshold, drop_threshold and subsampling drops', async () => {
    const small = join(DATA, 'small');
    const retrieval = join(DATA, 'retrieval');
    const recipes = join(small, 'recipes.jsonl');
    const report = JSON.parse(
      ok(
        await runCli(
          plan('--train_data', small, retrieval, recipes, '--small_threshold', '5', '--drop_threshold', '20', '--max_example_num_per_dataset', '5', '--per_device_train_batch_size', '2', '--json'),
        ),
      ),
    ) as PlanReport;
    // Files over 5 records keep 5; in a folder, files under 5 are merged (recipes 3 + travel 4 = 7 < 20: dropped);
    // recipes named directly has 3 < 5: dropped by small_threshold.
    assert.deepEqual(report.dropped.smallThreshold, [{ files: [recipes], records: 3 }]);
    assert.deepEqual(report.dropped.dropThreshold, [{ files: [join(small, 'recipes.jsonl'), join(small, 'travel.jsonl')], records: 7 }]);
    assert.deepEqual(
      report.dropped.subsampling,
      ['small/history.jsonl', 'retrieval/faq.jsonl', 'retrieval/glossary.jsonl', 'retrieval/paraphrase.jsonl'].map((f) => ({ file: join(DATA, f), records: recordsIn(join(DATA, f)), kept: 5 })),
    );
    assert.deepEqual(
      report.tasks.map((t) => [t.name, t.records]),
      [
        [join(small, 'history.jsonl'), 5],
        [join(small, 'weather.jsonl'), 5],
        [join(retrieval, 'faq.jsonl'), 5],
        [join(retrieval, 'glossary.jsonl'), 5],
        [join(retrieval, 'paraphrase.jsonl'), 5],
      ],
    );
    const text = ok(
      await runCli(plan('--train_data', small, retrieval, recipes, '--small_threshold', '5', '--drop_threshold', '20', '--max_example_num_per_dataset', '5', '--per_device_train_batch_size', '2')),
    );
    assert.match(text, /small_threshold: .*recipes\.jsonl \(3 records\)/);
    assert.match(text, /drop_threshold: merged .*recipes\.jsonl, .*travel\.jsonl \(7 records\)/);
    assert.match(text, /subsampling \(max_example_num_per_dataset\): .*faq\.jsonl keeps 5 of 24/);
  });

  it('needs no tokenizer (--tokenizer /nonexistent still works)', async () => {
    const withBadTokenizer = ok(await runCli(plan(...planArgs, '--tokenizer', '/nonexistent', '--json')));
    assert.equal(withBadTokenizer, ok(await runCli(plan(...planArgs, '--json'))));
  });
});

describe('cli: --bad_records', () => {
  const corpus = () =>
    writeTree({
      'tasks/a.jsonl': [
        ...Array.from({ length: 4 }, (_, i) => JSON.stringify(record(i, { prompt: 'Find it.', type: 'normal' }))),
        JSON.stringify({ query: 'THE BAD QUERY', pos: [], neg: ['x'], prompt: 'Find it.', type: 'normal' }),
        ...Array.from({ length: 5 }, (_, i) => JSON.stringify(record(10 + i, { prompt: 'Find it.', type: 'normal' }))),
        '',
      ].join('\n'),
      'tasks/b.jsonl': jsonl(...Array.from({ length: 6 }, (_, i) => record(20 + i, { prompt: 'Find it.', type: 'normal' }))),
    });
  const args = (root: string, ...rest: string[]) => ['dump', '--train_data', join(root, 'tasks'), '--per_device_train_batch_size', '2', '--index_cache', tempDir(), ...rest];

  it('skip: dump runs, and the bad record never appears', async () => {
    const root = corpus();
    const out = ok(await runCli(args(root, '--bad_records', 'skip', '--steps', '30')));
    assert.equal(lines(out).length, 30);
    assert.ok(!out.includes('THE BAD QUERY'));
    assert.ok(out.includes('query 10'), 'the records after the bad one are read');
  });

  it('fail: exit 1, naming file:line: field', async () => {
    const root = corpus();
    const run = await runCli(args(root, '--bad_records', 'fail', '--steps', '3'));
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.ok(run.stderr.includes(`${join(root, 'tasks', 'a.jsonl')}:5: pos:`), run.stderr);
  });

  it('fail is the default', async () => {
    const root = corpus();
    const run = await runCli(args(root, '--steps', '3'));
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(`${join(root, 'tasks', 'a.jsonl')}:5: pos:`), run.stderr);
  });

  it('plan with skip counts the bad record', async () => {
    const root = corpus();
    const report = JSON.parse(ok(await runCli(['plan', '--train_data', join(root, 'tasks'), '--index_cache', tempDir(), '--bad_records', 'skip', '--json']))) as PlanReport;
    assert.equal(report.dropped.badRecords, 1);
    assert.deepEqual(
      report.tasks.map((t) => t.records),
      [9, 6],
    );
  });
});

/**
 * The command line of the features beyond the reference: `dump --false_negative_scope` (off by
 * default: the oracle's keys exactly), `stats` (text, `--json`, `--html FILE`, `--token_budget`),
 * and elastic resume (`--resume_from` a state of another world size, with the same global batch
 * size). Every run uses a temporary `--index_cache`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DataStats } from '../../lib/stats/dataStats.js';
import { dumpLines, runCli, type CliRun } from '../helpers/run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA = join(ROOT, 'examples/data');
const CACHE = mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-cache-'));
const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-'));
const CORPUS = ['--train_data', join(DATA, 'retrieval'), join(DATA, 'classification-no_in_batch_neg'), '--index_cache', CACHE, '--query_max_len', '512', '--passage_max_len', '128'];

const ok = (run: CliRun): string => {
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
};

const ORACLE_KEYS = ['epoch', 'example_indices', 'queries_text', 'passages_text', 'teacher_scores', 'no_in_batch_neg', 'q_ids', 'q_mask', 'p_ids', 'p_mask'];

describe('cli: dump --false_negative_scope', () => {
  it('without it (or with none) each line has exactly the oracle’s keys, and the same lines', async () => {
    const plain = ok(await runCli(['dump', ...CORPUS, '--per_device_train_batch_size', '2', '--steps', '4']));
    const none = ok(await runCli(['dump', ...CORPUS, '--per_device_train_batch_size', '2', '--steps', '4', '--false_negative_scope', 'none']));
    assert.equal(none, plain);
    for (const line of dumpLines(plain)) assert.deepEqual(Object.keys(line as object), ORACLE_KEYS);
  });

  it('local: false_negative_mask has one row per query and a column per passage of the line; global: per passage of every rank; the other fields unchanged', async () => {
    const base = ['dump', ...CORPUS, '--per_device_train_batch_size', '2', '--world_size', '2', '--rank', '1', '--steps', '5'];
    const [plain, local, global, rank0] = await Promise.all([
      runCli(base),
      runCli([...base, '--false_negative_scope', 'local']),
      runCli([...base, '--false_negative_scope', 'global']),
      runCli([...base.slice(0, -4), '--rank', '0', '--steps', '5']),
    ]);
    const rows = (run: CliRun) => dumpLines(ok(run)) as Array<Record<string, unknown> & { queries_text: string[]; passages_text: string[]; false_negative_mask: boolean[][] }>;
    const [p, l, g, r0] = [rows(plain), rows(local), rows(global), rows(rank0)];
    for (const [k, line] of l.entries()) {
      assert.deepEqual(Object.keys(line), [...ORACLE_KEYS, 'false_negative_mask']);
      const { false_negative_mask: mask, ...rest } = line;
      assert.deepEqual(rest, p[k]);
      assert.equal(mask.length, line.queries_text.length);
      assert.ok(mask.every((row) => row.length === line.passages_text.length));
      const wide = g[k]!.false_negative_mask;
      const own = line.passages_text.length;
      assert.ok(wide.every((row) => row.length === r0[k]!.passages_text.length + own));
      // Rank 1's own passages are the last columns of the global rows: there the two scopes agree.
      assert.deepEqual(wide.map((row) => row.slice(-own)), mask);
    }
    assert.ok(l.some((line) => line.false_negative_mask.flat().some(Boolean)), 'the classification labels repeat: something is masked');
  });

  it('an unknown scope is an argument error (exit 2)', async () => {
    const run = await runCli(['dump', ...CORPUS, '--steps', '1', '--false_negative_scope', 'everywhere']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /false_negative_scope/);
  });
});

describe('cli: stats', () => {
  it('prints a block per task; --json the same report as JSON; --html FILE writes one page with a histogram per task', async () => {
    const html = join(tempDir(), 'stats.html');
    const args = ['stats', ...CORPUS, '--per_device_train_batch_size', '2', '--world_size', '2', '--token_budget', '16384'];
    const [text, json] = await Promise.all([runCli([...args, '--html', html]), runCli([...args, '--json'])]);
    const report = JSON.parse(ok(json)) as DataStats;
    assert.equal(report.over, 'epoch');
    assert.equal(report.worldSize, 2);
    assert.ok(report.tasks.length >= 4);
    for (const t of report.tasks) {
      assert.ok(ok(text).includes(`${t.task} (`), t.task);
      assert.equal(t.batchSizeForBudget?.tokenBudget, 16384);
    }
    const page = readFileSync(html, 'utf8');
    assert.equal(page.match(/<svg class="histogram"/g)?.length, report.tasks.length);
    assert.match(text.stderr, /steps read, \d+ tasks, .*stats\.html written/);
  });

  it('its summary line counts each drop once (every rank is read, the plan’s drops are reported once): the same as plan’s', async () => {
    const args = [...CORPUS, '--per_device_train_batch_size', '4', '--world_size', '2'];
    const [stats, plan] = await Promise.all([runCli(['stats', ...args]), runCli(['plan', ...args])]);
    const drops = (run: CliRun) => /skipped or dropped: .*$/m.exec(run.stderr)?.[0];
    assert.ok(drops(plan) !== undefined, plan.stderr);
    ok(stats);
    assert.equal(drops(stats), drops(plan));
  });

  it('--steps N reads the first N steps', async () => {
    const report = JSON.parse(ok(await runCli(['stats', ...CORPUS, '--per_device_train_batch_size', '2', '--steps', '3', '--json']))) as DataStats;
    assert.equal(report.steps, 3);
    assert.equal(report.over, 3);
  });

  it('--token_budget 0 and --html on dump are argument errors (exit 2)', async () => {
    assert.equal((await runCli(['stats', ...CORPUS, '--token_budget', '0'])).code, 2);
    assert.equal((await runCli(['dump', ...CORPUS, '--html', 'x.html'])).code, 2);
  });
});

describe('cli: elastic resume', () => {
  it('a state from 2 ranks × 2 resumes on 1 rank × 4: each line is the two ranks’ lines joined', async () => {
    const state = join(tempDir(), 'state.json');
    const two = ['dump', ...CORPUS, '--per_device_train_batch_size', '2', '--world_size', '2'];
    ok(await runCli([...two, '--rank', '0', '--steps', '3', '--state_out', state]));
    const ranks = await Promise.all([0, 1].map(async (r) => (dumpLines(ok(await runCli([...two, '--rank', String(r), '--steps', '9']))) as Array<{ example_indices: number[] }>).slice(3)));
    const resumed = dumpLines(ok(await runCli(['dump', ...CORPUS, '--per_device_train_batch_size', '4', '--world_size', '1', '--rank', '0', '--steps', '6', '--resume_from', state]))) as Array<{ example_indices: number[] }>;
    assert.deepEqual(
      resumed.map((l) => l.example_indices),
      ranks[0]!.map((l, k) => [...l.example_indices, ...ranks[1]![k]!.example_indices]),
    );
  });

  it('a per-device batch size that changes the global batch size: exit 1, saying which to use', async () => {
    const state = join(tempDir(), 'state.json');
    ok(await runCli(['dump', ...CORPUS, '--per_device_train_batch_size', '2', '--world_size', '2', '--rank', '0', '--steps', '2', '--state_out', state]));
    const run = await runCli(['dump', ...CORPUS, '--per_device_train_batch_size', '2', '--world_size', '1', '--rank', '0', '--steps', '1', '--resume_from', state]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot resume: the global batch size would change: .*\(use per_device_train_batch_size 4 with world_size 1\)/);
    assert.equal(run.stdout, '');
  });
});

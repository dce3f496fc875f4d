/**
 * The research flavor on the command line: `--flavor research` and the research module's argument
 * names, per-flavor defaults, options of the other flavor refused by name, `plan`, config files,
 * save_to_disk / exit_after_save, and the research oracle's fields in `dump`, its Arrow stream and
 * `export`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { dumpLines, runCli, runCliBytes } from '../helpers/run.js';
import { assertTableEqualsDump } from '../helpers/stepRows.js';

const base = ['--flavor', 'research', '--train_data', 'examples/research/jsonl-patterns', '--per_device_train_batch_size', '6', '--symmetric_batch_size', '6', '--query_max_len', '400'];

describe('CLI: --flavor research', () => {
  it("dump prints the research oracle's fields, messages included, with pad_to_multiple_of 8 by default", async () => {
    const run = await runCli(['dump', ...base, '--steps', '3']);
    assert.equal(run.code, 0, run.stderr);
    const steps = dumpLines(run.stdout) as Record<string, unknown>[];
    assert.equal(steps.length, 3);
    for (const step of steps) {
      assert.deepEqual(Object.keys(step), ['epoch', 'example_indices', 'queries_text', 'passages_text', 'messages', 'teacher_scores', 'q_ids', 'q_mask', 'p_ids', 'p_mask']);
      assert.equal((step['q_ids'] as number[][])[0]!.length % 8, 0);
      assert.ok((step['queries_text'] as string[]).every((q) => q.endsWith('\n<response>')));
    }
  });

  it('use_special_tokens false switches the prompts (and loads the tokenizer without the three tokens)', async () => {
    const run = await runCli(['dump', ...base, '--steps', '1', '--use_special_tokens', 'false']);
    assert.equal(run.code, 0, run.stderr);
    const [step] = dumpLines(run.stdout) as { queries_text: string[] }[];
    assert.ok(step!.queries_text.every((q) => q.includes('Instruct: ') && q.endsWith('\nResponse:')));
    const negated = await runCli(['dump', ...base, '--steps', '1', '--no_use_special_tokens']);
    assert.equal(negated.stdout, run.stdout);
  });

  it('an option of the other flavor is refused by name (exit 2)', async () => {
    const icl = await runCli(['dump', ...base, '--knowledge_distillation', 'true']);
    assert.equal(icl.code, 2);
    assert.match(icl.stderr, /knowledge_distillation: is an argument of the icl flavor/);
    const research = await runCli(['dump', '--train_data', 'examples/data/retrieval', '--max_class_neg', '3']);
    assert.equal(research.code, 2);
    assert.match(research.stderr, /max_class_neg: is an argument of the research flavor: give --flavor research/);
  });

  it('cache_path, nli_all_prompt, shuffle_ratio are accepted (and change nothing)', async () => {
    const plain = await runCli(['dump', ...base, '--steps', '2']);
    const extra = await runCli(['dump', ...base, '--steps', '2', '--cache_path', '/nonexistent', '--nli_all_prompt', 'false', '--shuffle_ratio', '0.9']);
    assert.equal(extra.code, 0, extra.stderr);
    assert.equal(extra.stdout, plain.stdout);
  });

  it('plan prints one task per split with the module\'s batch sizes', async () => {
    const run = await runCli(['plan', ...base, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as { tasks: { name: string; batchSize: number; records: number }[]; stepsPerEpoch: number };
    assert.deepEqual(plan.tasks.map((t) => [t.name, t.batchSize, t.records]), [
      ['examples/research/jsonl-patterns [train]', 6, 46],
      ['examples/research/jsonl-patterns [validation]', 6, 16],
      ['examples/research/jsonl-patterns [test]', 6, 22],
    ]);
    assert.equal(plan.stepsPerEpoch, 7 + 2 + 3);
  });

  it('a crash of the module is an argument error before any step (a batch below 6 with examples)', async () => {
    const run = await runCli(['dump', ...base.slice(0, 4), '--per_device_train_batch_size', '4', '--steps', '1']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /per_device_train_batch_size: .*random\.sample/);
  });

  it('save_to_disk with exit_after_save writes the folder and prints no step; load_from_disk then reads it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-')), 'saved');
    const save = await runCli(['dump', ...base, '--save_to_disk', '--save_disk_path', dir, '--num_shards', '2', '--exit_after_save']);
    assert.equal(save.code, 0, save.stderr);
    assert.equal(save.stdout, '');
    assert.deepEqual(readdirSync(dir).sort(), ['.log', 'data-00000-of-00002.arrow', 'data-00001-of-00002.arrow', 'dataset_info.json', 'state.json']);
    const load = await runCli(['dump', '--flavor', 'research', '--load_from_disk', '--load_disk_path', dir, '--per_device_train_batch_size', '6', '--query_max_len', '400', '--steps', '2']);
    assert.equal(load.code, 0, load.stderr);
    assert.equal(dumpLines(load.stdout).length, 2);
  });

  it('a config file takes the same keys, flavor included', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-')), 'research.yaml');
    writeFileSync(file, 'flavor: research\ntrain_data: examples/research/jsonl-patterns\nper_device_train_batch_size: 6\nsymmetric_batch_size: 6\nquery_max_len: 400\nuse_special_tokens: false\n');
    const viaFile = await runCli(['dump', '--config', file, '--steps', '2']);
    const viaFlags = await runCli(['dump', ...base, '--use_special_tokens', 'false', '--steps', '2']);
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.equal(viaFile.stdout, viaFlags.stdout);
  });

  it('dump --help lists the research arguments under their own heading', async () => {
    const run = await runCli(['dump', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--flavor icl\|research/);
    assert.match(run.stdout, /The research flavor's arguments[^\n]*\n(.*\n)*\s+--symmetric_batch_size N/);
  });

  it('dump --format arrow: each row is the JSON line of its step, messages included; texts only with --with_text', async () => {
    const args = [...base.slice(0, 6), '--symmetric_batch_size', '12', '--query_max_len', '400', '--world_size', '2', '--rank', '1', '--steps', '6'];
    const dumped = await runCli(['dump', ...args]);
    assert.equal(dumped.code, 0, dumped.stderr);
    const json = dumpLines(dumped.stdout) as Record<string, unknown>[];
    assert.ok(json.some((r) => (r['messages'] as string[])[0] === 'not in-batch') && json.some((r) => r['teacher_scores'] !== null));
    for (const withText of [false, true]) {
      const run = await runCliBytes(['dump', ...args, '--format', 'arrow', ...(withText ? ['--with_text'] : [])]);
      assert.equal(run.code, 0, run.stderr);
      const table = tableFromIPC(run.stdout);
      assert.equal(table.getChild('no_in_batch_neg'), null, 'the research oracle has no no_in_batch_neg');
      assertTableEqualsDump(table, json, withText);
    }
  });

  it("export writes an epoch of research steps: dump's lines, the flavor in the manifest, each drop reported once; a rerun keeps it, an icl export is refused", async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-'));
    const out = join(tmp, 'out');
    const exported = await runCli(['export', ...base, '--epochs', '1', '--with_text', '--out', out, '--report', join(tmp, 'export.jsonl')]);
    assert.equal(exported.code, 0, exported.stderr);
    const dumped = await runCli(['dump', ...base, '--report', join(tmp, 'dump.jsonl')]);
    assertTableEqualsDump(tableFromIPC(readFileSync(join(out, 'rank_0', 'data-00000-of-00001.arrow'))), dumpLines(dumped.stdout) as Record<string, unknown>[], true);
    assert.equal((JSON.parse(readFileSync(join(out, 'rank_0', 'export-manifest.json'), 'utf8')) as { run: { flavor?: string } }).run.flavor, 'research');
    // The batches stop at the epoch's end: reading ahead into the next would report its drops as well.
    assert.equal(readFileSync(join(tmp, 'export.jsonl'), 'utf8'), readFileSync(join(tmp, 'dump.jsonl'), 'utf8'));
    const rerun = await runCli(['export', ...base, '--epochs', '1', '--with_text', '--out', out]);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /0 shards written, 1 kept from an earlier run/);
    const icl = await runCli(['export', '--train_data', 'examples/data/retrieval', '--per_device_train_batch_size', '6', '--steps', '12', '--with_text', '--out', out]);
    assert.equal(icl.code, 2);
    assert.match(icl.stderr, /holds another export/);
    const nothing = await runCli(['export', ...base, '--steps', '2', '--out', join(tmp, 'none'), '--save_to_disk', '--save_disk_path', join(tmp, 'saved'), '--exit_after_save']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /exit_after_save: .*nothing to export/);
  });
});

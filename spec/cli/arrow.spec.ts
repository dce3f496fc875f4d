/**
 * `dump --format arrow`: the Arrow stream on stdout, read back equal to `dump`'s JSON lines; texts
 * only with --with_text; the state after the last step as with JSON.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { dumpLines, runCli, runCliBytes } from '../helpers/run.js';
import { assertTableEqualsDump, plainArrow } from '../helpers/stepRows.js';
import { writeTree } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARGS = ['--train_data', join(ROOT, 'examples/data/retrieval'), join(ROOT, 'examples/data/sts'), '--knowledge_distillation', 'true', '--query_max_len', '64', '--passage_max_len', '48', '--per_device_train_batch_size', '4', '--world_size', '2', '--rank', '1', '--steps', '6'];

describe('dump --format arrow', () => {
  it("every row equals dump's JSON line of the same step, field for field; texts only with --with_text", async () => {
    const json = dumpLines((await runCli(['dump', ...ARGS])).stdout) as Record<string, unknown>[];
    for (const withText of [false, true]) {
      const run = await runCliBytes(['dump', ...ARGS, '--format', 'arrow', ...(withText ? ['--with_text'] : [])]);
      assert.equal(run.code, 0, run.stderr);
      assertTableEqualsDump(tableFromIPC(run.stdout), json, withText);
    }
  });

  it('with --false_negative_scope the mask comes too, equal to the JSON line’s (a bool matrix per step)', async () => {
    for (const scope of ['local', 'global']) {
      const args = [...ARGS, '--false_negative_scope', scope];
      const json = dumpLines((await runCli(['dump', ...args])).stdout) as Record<string, unknown>[];
      const run = await runCliBytes(['dump', ...args, '--format', 'arrow']);
      assert.equal(run.code, 0, run.stderr);
      const table = tableFromIPC(run.stdout);
      assert.equal(table.numRows, json.length);
      json.forEach((record, i) => {
        assert.ok(Array.isArray(record['false_negative_mask']));
        assert.deepEqual(plainArrow(table.getChild('false_negative_mask')!.get(i)), record['false_negative_mask'], `${scope} step ${i}`);
      });
    }
    const without = tableFromIPC((await runCliBytes(['dump', ...ARGS, '--format', 'arrow'])).stdout);
    assert.equal(without.getChild('false_negative_mask'), null, 'no mask column unless asked, as the JSON line');
  });

  it('--state_out writes the resume state of the last step, the one its row carries', async () => {
    const state = join(writeTree({}), 'state.json');
    const run = await runCliBytes(['dump', ...ARGS, '--format', 'arrow', '--state_out', state]);
    assert.equal(run.code, 0, run.stderr);
    const table = tableFromIPC(run.stdout);
    assert.deepEqual(JSON.parse(readFileSync(state, 'utf8')), JSON.parse(table.getChild('resume')!.get(table.numRows - 1) as string));
  });

  it('an unknown format is a usage error', async () => {
    const run = await runCli(['dump', ...ARGS, '--format', 'xml']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /format: must be json or arrow/);
  });
});

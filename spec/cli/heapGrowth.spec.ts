/**
 * The command's heap growth: lean from the start, roomy for `dump --format arrow` (its reader is
 * a trainer; heapGrowth.ts says why), a flag of the user's own always wins.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setHeapGrowth, type HeapGrowth } from '../../lib/cli/heapGrowth.js';
import { main } from '../../lib/cli/main.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARGS = ['--train_data', join(ROOT, 'examples/data/retrieval'), '--query_max_len', '64', '--passage_max_len', '48', '--per_device_train_batch_size', '4', '--steps', '2'];

/** The growth kinds a run asks for. */
const asked = async (argv: ReadonlyArray<string>): Promise<{ code: number; growth: HeapGrowth[] }> => {
  const growth: HeapGrowth[] = [];
  const sink = () => new Writable({ write: (_chunk, _e, done) => done() });
  const code = await main(argv, { stdout: sink(), stderr: sink(), heapGrowth: (g) => void growth.push(g) });
  return { code, growth };
};

describe('heap growth', () => {
  it('dump --format arrow asks for the roomy growth; dump, plan and stats ask for nothing (the lean start stays)', async () => {
    assert.deepEqual(await asked(['dump', ...ARGS, '--format', 'arrow']), { code: 0, growth: ['roomy'] });
    assert.deepEqual(await asked(['dump', ...ARGS]), { code: 0, growth: [] });
    assert.deepEqual(await asked(['plan', ...ARGS]), { code: 0, growth: [] });
  });

  it('a flag of the user’s own wins, on the command line of node or in NODE_OPTIONS', () => {
    assert.equal(setHeapGrowth('lean', ['--heap-growing-percent=50'], undefined), false);
    assert.equal(setHeapGrowth('roomy', [], '--max-old-space-size=900 --heap_growing_percent=20'), false);
  });

  it('otherwise it is set, whatever else node was given', () => {
    assert.equal(setHeapGrowth('lean', ['--max-old-space-size=900'], '--enable-source-maps'), true);
    assert.equal(setHeapGrowth('roomy', [], undefined), true);
  });
});

/**
 * Parity with FlagEmbedding: `dump` on the project's sample corpus equals, field for field and
 * step for step, what the reference's own code printed for the same configuration (goldens made by
 * generate.ts with the oracle of ../shared/oracle; see configs.json for what each one exercises).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { dumpLines, runCli } from '../helpers/run.js';
import { needsTransformers } from '../helpers/transformers.js';
import { dumpArgv, goldenFile, loadGoldenConfigs } from './configs.js';

type Step = Record<string, unknown>;

const readGolden = (file: string): Step[] => dumpLines(gunzipSync(readFileSync(file)).toString('utf8')) as Step[];

/** The first difference between two steps, described for a human, or null. */
const firstDifference = (expected: Step, actual: Step): string | null => {
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    if (isDeepStrictEqual(expected[key], actual[key])) continue;
    const e = expected[key];
    const a = actual[key];
    if (Array.isArray(e) && Array.isArray(a)) {
      const i = e.findIndex((x, j) => !isDeepStrictEqual(x, a[j]));
      const at = i < 0 ? e.length : i;
      return `${key}[${at}]: expected ${JSON.stringify(e[at])?.slice(0, 400)}, got ${JSON.stringify(a[at])?.slice(0, 400)} (lengths ${e.length}/${a.length})`;
    }
    return `${key}: expected ${JSON.stringify(e)?.slice(0, 400)}, got ${JSON.stringify(a)?.slice(0, 400)}`;
  }
  return null;
};

/**
 * Every configuration is checked with each tokenizer backend and with worker threads: the output
 * must not depend on how it is computed. The transformers.js variant (a tokenizer loaded by
 * transformers.js's `AutoTokenizer` and handed in) needs the optional peer installed, and says so.
 */
const VARIANTS: ReadonlyArray<{ readonly name: string; readonly argv: ReadonlyArray<string>; readonly skip?: { skip?: string } }> = [
  { name: '@huggingface/tokenizers, this thread', argv: [] },
  { name: 'native tokenizers, 4 batches at once', argv: ['--tokenizer_backend', 'native', '--concurrency', '4'] },
  { name: '@huggingface/tokenizers, 2 worker threads', argv: ['--workers', '2'] },
  { name: 'native tokenizers, 2 worker threads', argv: ['--tokenizer_backend', 'native', '--workers', '2'] },
  { name: 'transformers.js (AutoTokenizer, handed in), this thread', argv: ['--tokenizer_backend', 'transformers'], skip: needsTransformers() },
];

describe('parity with FlagEmbedding (oracle goldens on examples/data)', () => {
  const configs = loadGoldenConfigs();

  it('covers at least 12 configurations over at least 3 epochs each', () => {
    assert.ok(configs.length >= 12, `${configs.length} configurations`);
    for (const config of configs) {
      const epochs = Math.max(...readGolden(goldenFile(config, 0)).map((s) => s['epoch'] as number)) + 1;
      assert.ok(epochs >= 3, `${config.name}: ${epochs} epochs`);
    }
  });

  for (const variant of VARIANTS) {
    describe(variant.name, () => {
      for (const config of configs) {
        for (let rank = 0; rank < config.world_size; rank++) {
          it(`${config.name}, rank ${rank}/${config.world_size}: ${config.about}`, variant.skip ?? {}, async () => {
            const expected = readGolden(goldenFile(config, rank));
            const run = await runCli([...dumpArgv(config, rank), ...variant.argv]);
            assert.equal(run.code, 0, run.stderr);
            const actual = dumpLines(run.stdout) as Step[];
            assert.equal(actual.length, expected.length, 'number of steps');
            expected.forEach((step, i) => {
              const difference = firstDifference(step, actual[i]!);
              assert.equal(difference, null, `step ${i} (epoch ${String(step['epoch'])}): ${difference}`);
            });
          });
        }
      }
    });
  }
});

/**
 * Parity with FlagEmbedding: `dump` on the project's sample corpus equals, field for field and
 * step for step, what the reference's own code printed for the same configuration (goldens made by
 * generate.ts with the oracle of ../shared/oracle; see configs.json for what each one exercises).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dumpLines, runCli } from '../helpers/run.js';
import { dumpArgv, goldenFile, loadGoldenConfigs } from './configs.js';
import { ranksOf, VARIANTS } from './variants.js';
import { firstDifference, readGolden, type Step } from './compare.js';

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
      for (const [index, config] of configs.entries()) {
        for (const rank of ranksOf(variant, index, config.world_size)) {
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

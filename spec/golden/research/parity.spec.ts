/**
 * Parity with the research module (research/llm_dense_retriever/finetune/data.py): the research
 * flavor on the project's sample datasets (examples/research), as `dump --flavor research` prints
 * it, equals, field for field and step for step, what the module itself printed through ../shared/oracle/run_research.py (goldens made by
 * generate.ts; configs.json says what each configuration exercises), on every tokenizer backend and
 * worker variant of the ICL parity spec.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { defaultTokenizerDir } from '../../../lib/tokenizers/transformers.js';
import { dumpLines, runCli } from '../../helpers/run.js';
import { needsResearchOracle } from '../../helpers/oracle.js';
import { firstDifference, readGolden, type Step } from '../compare.js';
import { ranksOf, VARIANTS } from '../variants.js';
import { loadResearchConfigs, prepareSaved, researchDumpArgv, researchGoldenFile, researchOracleInput, type ResearchGoldenConfig } from './configs.js';
import { runResearchOracle } from './generate.js';

/** Folders written by this library's save_to_disk, one per configuration that needs one. */
const savedFolders = new Map<string, Promise<Awaited<ReturnType<typeof prepareSaved>>>>();
const savedFor = (config: ResearchGoldenConfig) => {
  if (!savedFolders.has(config.name)) savedFolders.set(config.name, prepareSaved(config));
  return savedFolders.get(config.name)!;
};
after(async () => {
  for (const saved of savedFolders.values()) (await saved)?.cleanup();
});

const run = async (config: ResearchGoldenConfig, rank: number, variant: ReadonlyArray<string>): Promise<Step[]> => {
  const saved = await savedFor(config);
  const result = await runCli([...researchDumpArgv(config, rank, saved?.dir ?? null), ...variant]);
  assert.equal(result.code, 0, result.stderr);
  return dumpLines(result.stdout) as Step[];
};

const assertSameSteps = (expected: ReadonlyArray<Step>, actual: ReadonlyArray<Step>) => {
  assert.equal(actual.length, expected.length, 'number of steps');
  expected.forEach((step, i) => {
    const difference = firstDifference(step, actual[i]!);
    assert.equal(difference, null, `step ${i} (epoch ${String(step['epoch'])}): ${difference}`);
  });
};

describe('parity with the research module (oracle goldens on examples/research)', () => {
  const configs = loadResearchConfigs();

  it('covers at least 10 configurations over at least 3 epochs each, on worlds 1, 2 and 4', () => {
    assert.ok(configs.length >= 10, `${configs.length} configurations`);
    for (const config of configs) {
      const epochs = Math.max(...readGolden(researchGoldenFile(config, 0)).map((s) => s['epoch'] as number)) + 1;
      assert.ok(epochs >= 3, `${config.name}: ${epochs} epochs`);
    }
    assert.deepEqual([...new Set(configs.map((c) => c.world_size))].sort(), [1, 2, 4]);
  });

  for (const variant of VARIANTS) {
    describe(variant.name, () => {
      for (const [index, config] of configs.entries()) {
        for (const rank of ranksOf(variant, index, config.world_size)) {
          it(`${config.name}, rank ${rank}/${config.world_size}: ${config.about}`, variant.skip ?? {}, async () => {
            assertSameSteps(readGolden(researchGoldenFile(config, rank)), await run(config, rank, variant.argv));
          });
        }
      }
    });
  }

  it("the research module reads a folder this library's save_to_disk wrote and yields this library's batches", needsResearchOracle(), async () => {
    const config = configs.find((c) => c.save !== undefined)!;
    const saved = await savedFor(config);
    const live = runResearchOracle(researchOracleInput(config, 0, defaultTokenizerDir(), saved!.dir));
    assertSameSteps(live, await run(config, 0, []));
  });
});

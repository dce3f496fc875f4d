/**
 * Parity on ../shared's real data, when ../shared is there (CI has it; a fresh clone alone does not):
 * our `dump` must give, step for step and field for field, the digests of what the oracle printed.
 * Without ../shared every comparison is still listed, as skipped with the reason, so that the count
 * shows what did not run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dumpLines, runCli } from '../helpers/run.js';
import { dumpArgv } from './configs.js';
import { loadResearchSharedConfigs } from './research/shared.js';
import { digestsFile, loadSharedConfigs, root, sharedFixtures, stepDigest, type SharedDigests } from './shared.js';

const present = existsSync(sharedFixtures);
const absent = present ? undefined : `skipped: ${sharedFixtures} is absent (FlagEmbedding's example data lives in ../shared, never in this repository)`;

/** Every comparison this suite makes: one per configuration and rank. */
const comparisons = () => loadSharedConfigs().flatMap((config) => Array.from({ length: config.world_size }, (_, rank) => ({ config, rank })));

/**
 * Whether a node:test TAP report lists `expected` tests as skipped because ../shared is absent
 * (reason "skipped: … is absent …"), and nothing failed: what a checkout without ../shared shows.
 */
export const listsSkips = (tap: string, expected: number): boolean => {
  const skipped = tap.split('\n').filter((line) => /^\s*ok \d+ - .* # SKIP skipped: .+ is absent/.test(line));
  return skipped.length === expected && /^# fail 0$/m.test(tap);
};

describe(`parity on ../shared fixtures (${present ? 'present' : 'absent: every comparison skipped'})`, () => {
  const digests = JSON.parse(readFileSync(digestsFile, 'utf8')) as SharedDigests;

  it('has digests for every configuration and rank', () => {
    for (const { config, rank } of comparisons()) assert.ok(digests[`${config.name}.rank${rank}`]?.length, `${config.name}.rank${rank}`);
  });

  for (const { config, rank } of comparisons()) {
    it(`${config.name}, rank ${rank}/${config.world_size}: ${config.about}`, absent === undefined ? {} : { skip: absent }, async () => {
      const expected = digests[`${config.name}.rank${rank}`]!;
      const run = await runCli(dumpArgv(config, rank));
      assert.equal(run.code, 0, run.stderr);
      const actual = (dumpLines(run.stdout) as Record<string, unknown>[]).map(stepDigest);
      assert.equal(actual.length, expected.length, 'number of steps');
      actual.forEach((step, i) => assert.deepEqual(step, expected[i], `step ${i}: fields whose digests differ`));
    });
  }

  it(
    'meta: without ../shared this suite and the research one list every comparison as skipped with the reason; the check sees a suite that vanishes instead (as they used to)',
    process.env['LLM_RETRIEVER_DATA_SHARED_FIXTURES'] === undefined ? { timeout: 60_000 } : { skip: 'skipped: this is the run the meta-test makes' },
    () => {
      const runTap = (file: string) =>
        spawnSync(process.execPath, ['--import', join(root, 'lib/cli/register.mjs'), '--test', '--test-reporter=tap', file], {
          cwd: root,
          encoding: 'utf8',
          // Without NODE_TEST_CONTEXT: with it the child would report to this runner, not print TAP.
          env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), LLM_RETRIEVER_DATA_SHARED_FIXTURES: join(tmpdir(), 'no-such-shared-folder') },
        }).stdout;
      assert.equal(listsSkips(runTap(fileURLToPath(import.meta.url)), comparisons().length), true);
      // The research flavor's suite on ../shared does the same (it used to vanish as below).
      const researchComparisons = loadResearchSharedConfigs().reduce((n, c) => n + c.world_size, 0);
      assert.equal(listsSkips(runTap(join(root, 'spec/golden/research/shared.spec.ts')), researchComparisons), true);
      // The old suite: without ../shared it registered nothing, so the count did not show what was left out.
      const vanishing = join(mkdtempSync(join(tmpdir(), 'llm-retriever-data-meta-')), 'vanishing.spec.mjs');
      writeFileSync(
        vanishing,
        [
          "import { describe, it } from 'node:test';",
          "describe('parity on ../shared fixtures (absent: nothing to compare on this checkout)', () => {",
          "  it('has digests for every configuration and rank', () => {});",
          '  if (true) return;',
          "  it('a comparison', () => {});",
          '});',
        ].join('\n'),
      );
      assert.equal(listsSkips(runTap(vanishing), comparisons().length), false);
    },
  );
});

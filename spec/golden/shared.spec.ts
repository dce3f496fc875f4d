/**
 * Parity on ../shared's real data, when ../shared is there (CI has it; a fresh clone alone does not):
 * our `dump` must give, step for step and field for field, the digests of what the oracle printed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dumpLines, runCli } from '../helpers/run.js';
import { dumpArgv } from './configs.js';
import { digestsFile, loadSharedConfigs, sharedFixtures, stepDigest, type SharedDigests } from './shared.js';

const present = existsSync(sharedFixtures);

describe(`parity on ../shared fixtures (${present ? 'present' : 'absent: nothing to compare on this checkout'})`, () => {
  const digests = JSON.parse(readFileSync(digestsFile, 'utf8')) as SharedDigests;

  it('has digests for every configuration and rank', () => {
    for (const config of loadSharedConfigs()) {
      for (let rank = 0; rank < config.world_size; rank++) assert.ok(digests[`${config.name}.rank${rank}`]?.length, `${config.name}.rank${rank}`);
    }
  });

  if (!present) return;
  for (const config of loadSharedConfigs()) {
    for (let rank = 0; rank < config.world_size; rank++) {
      it(`${config.name}, rank ${rank}/${config.world_size}: ${config.about}`, async () => {
        const expected = digests[`${config.name}.rank${rank}`]!;
        const run = await runCli(dumpArgv(config, rank));
        assert.equal(run.code, 0, run.stderr);
        const actual = (dumpLines(run.stdout) as Record<string, unknown>[]).map(stepDigest);
        assert.equal(actual.length, expected.length, 'number of steps');
        actual.forEach((step, i) => assert.deepEqual(step, expected[i], `step ${i}: fields whose digests differ`));
      });
    }
  }
});

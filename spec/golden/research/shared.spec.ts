/**
 * Research-flavor parity on ../shared's real data, when ../shared is there: step for step and field
 * for field, the digests of what the research module printed (see shared.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dumpLines, runCli } from '../../helpers/run.js';
import { sharedFixtures, stepDigest, type SharedDigests } from '../shared.js';
import { researchDumpArgv } from './configs.js';
import { loadResearchSharedConfigs, researchDigestsFile, sharedDataset, withShared } from './shared.js';

const present = existsSync(sharedFixtures);

describe(`research parity on ../shared fixtures (${present ? 'present' : 'absent: nothing to compare on this checkout'})`, () => {
  const digests = JSON.parse(readFileSync(researchDigestsFile, 'utf8')) as SharedDigests;

  it('has digests for every configuration and rank', () => {
    for (const config of loadResearchSharedConfigs()) {
      for (let rank = 0; rank < config.world_size; rank++) assert.ok(digests[`${config.name}.rank${rank}`]?.length, `${config.name}.rank${rank}`);
    }
  });

  if (!present) return;
  const dataset = sharedDataset();
  for (const raw of loadResearchSharedConfigs()) {
    const config = withShared(raw, dataset);
    for (let rank = 0; rank < config.world_size; rank++) {
      it(`${config.name}, rank ${rank}/${config.world_size}: ${config.about}`, async () => {
        const expected = digests[`${config.name}.rank${rank}`]!;
        const result = await runCli(researchDumpArgv(config, rank, null));
        assert.equal(result.code, 0, result.stderr);
        const actual = (dumpLines(result.stdout) as Record<string, unknown>[]).map(stepDigest);
        assert.equal(actual.length, expected.length, 'number of steps');
        actual.forEach((step, i) => assert.deepEqual(step, expected[i], `step ${i}: fields whose digests differ`));
      });
    }
  }
});

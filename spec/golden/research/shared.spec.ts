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
const absent = present ? undefined : `skipped: ${sharedFixtures} is absent (FlagEmbedding's example data lives in ../shared, never in this repository)`;

describe(`research parity on ../shared fixtures (${present ? 'present' : 'absent: every comparison skipped'})`, () => {
  const digests = JSON.parse(readFileSync(researchDigestsFile, 'utf8')) as SharedDigests;

  it('has digests for every configuration and rank', () => {
    for (const config of loadResearchSharedConfigs()) {
      for (let rank = 0; rank < config.world_size; rank++) assert.ok(digests[`${config.name}.rank${rank}`]?.length, `${config.name}.rank${rank}`);
    }
  });

  // Without ../shared every comparison is still listed, skipped with the reason, so the count shows it.
  let dataset: string | undefined;
  for (const raw of loadResearchSharedConfigs()) {
    for (let rank = 0; rank < raw.world_size; rank++) {
      it(`${raw.name}, rank ${rank}/${raw.world_size}: ${raw.about}`, absent === undefined ? {} : { skip: absent }, async () => {
        dataset ??= sharedDataset();
        const config = withShared(raw, dataset);
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

/**
 * Arguments into pipeline options: rank and world size from the flags, else from torchrun's RANK and
 * WORLD_SIZE, where a broken variable never wins over a flag and errors name the variable; and a
 * runner for every command.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../lib/cli/args.js';
import { distributedFromEnv, optionsFromArguments, RUNNERS } from '../../lib/cli/commands.js';
import { ConfigError } from '../../lib/core/errors.js';
import type { FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';

const noTokenizer = undefined as unknown as FlagEmbeddingOptions['tokenizer'];
const ranks = (args: Parameters<typeof optionsFromArguments>[0], env: Readonly<Record<string, string | undefined>>) => {
  const o = optionsFromArguments({ train_data: ['x'], ...args }, noTokenizer, env);
  return { rank: o.rank, worldSize: o.worldSize };
};
const isConfigError = (option: string, message: RegExp) => (e: unknown) => e instanceof ConfigError && e.option === option && message.test(e.message);

describe("rank and world size: flags, then torchrun's variables, then 0 and 1", () => {
  it('both flags: the variables are not read at all, even broken ones (a garbage WORLD_SIZE used to win over them)', () => {
    for (const env of [{ RANK: '1', WORLD_SIZE: '2' }, { RANK: 'x', WORLD_SIZE: 'garbage' }, { WORLD_SIZE: '-3' }, { RANK: '9', WORLD_SIZE: '2' }]) {
      assert.deepEqual(ranks({ rank: 0, world_size: 1 }, env), { rank: 0, worldSize: 1 }, JSON.stringify(env));
    }
  });

  it('one flag: the other from its variable when set; a broken one of those is an error naming it', () => {
    assert.deepEqual(ranks({ rank: 1 }, { WORLD_SIZE: '4', RANK: 'garbage' }), { rank: 1, worldSize: 4 });
    assert.deepEqual(ranks({ world_size: 4 }, { RANK: '3', WORLD_SIZE: 'garbage' }), { rank: 3, worldSize: 4 });
    assert.deepEqual(ranks({ rank: 0 }, {}), { rank: 0, worldSize: 1 });
    assert.throws(() => ranks({ rank: 0 }, { WORLD_SIZE: 'two' }), isConfigError('WORLD_SIZE', /must be a non-negative integer, got "two"/));
  });

  it('no flag: both variables (as a pair), else 0 and 1', () => {
    assert.deepEqual(ranks({}, { RANK: '3', WORLD_SIZE: '8', LOCAL_RANK: '3' }), { rank: 3, worldSize: 8 });
    assert.deepEqual(ranks({}, {}), { rank: 0, worldSize: 1 });
    assert.deepEqual(ranks({}, { RANK: '', WORLD_SIZE: '' }), { rank: 0, worldSize: 1 });
  });

  it('broken variables: named, whatever is wrong', () => {
    const cases: ReadonlyArray<readonly [Record<string, string>, string, RegExp]> = [
      [{ RANK: '1' }, 'WORLD_SIZE', /missing while the other/],
      [{ WORLD_SIZE: '2' }, 'RANK', /missing while the other/],
      [{ RANK: '-1', WORLD_SIZE: '2' }, 'RANK', /non-negative integer, got "-1"/],
      [{ RANK: '0', WORLD_SIZE: '1.5' }, 'WORLD_SIZE', /non-negative integer, got "1\.5"/],
      [{ RANK: '0', WORLD_SIZE: '99999999999999999999' }, 'WORLD_SIZE', /non-negative integer/],
      [{ RANK: '0', WORLD_SIZE: '0' }, 'WORLD_SIZE', /at least 1/],
      [{ RANK: '2', WORLD_SIZE: '2' }, 'RANK', /below WORLD_SIZE \(2\), got 2/],
    ];
    for (const [env, variable, message] of cases) {
      assert.throws(() => distributedFromEnv(env), isConfigError(variable, message), JSON.stringify(env));
      assert.throws(() => ranks({}, env), isConfigError(variable, message), JSON.stringify(env));
    }
  });
});

describe('optionsFromArguments', () => {
  it('train_data is required; same_dataset_within_batch false is refused', () => {
    assert.throws(() => optionsFromArguments({}, noTokenizer), isConfigError('train_data', /is required/));
    assert.throws(() => optionsFromArguments({ train_data: ['x'], same_dataset_within_batch: false }, noTokenizer), isConfigError('same_dataset_within_batch', /must be true/));
  });
});

describe('RUNNERS', () => {
  it('one runner for every command of COMMANDS, and nothing else', () => {
    assert.deepEqual(Object.keys(RUNNERS).sort(), Object.keys(COMMANDS).sort());
  });
});

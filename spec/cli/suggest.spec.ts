/** "Did you mean": close misspellings are suggested, unrelated words are not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { didYouMean, suggest } from '../../lib/cli/suggest.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';

const OPTIONS = ['train_data', 'train_group_size', 'query_max_len', 'passage_max_len', 'seed', 'steps', 'state_out'];

describe('suggest', () => {
  it('typos, transpositions, a missing or extra letter, dashes for underscores', () => {
    assert.equal(suggest('trian_data', OPTIONS), 'train_data');
    assert.equal(suggest('query_max_lne', OPTIONS), 'query_max_len');
    assert.equal(suggest('query_maxlen', OPTIONS), 'query_max_len');
    assert.equal(suggest('train-group-size', OPTIONS), 'train_group_size');
    assert.equal(suggest('step', OPTIONS), 'steps');
  });

  it('nothing for words that are not close', () => {
    assert.equal(suggest('bogus', OPTIONS), undefined);
    assert.equal(suggest('frobnicate', ['dump', 'plan']), undefined);
    assert.equal(suggest('x', OPTIONS), undefined);
  });

  it('didYouMean formats it, or says nothing', () => {
    assert.equal(didYouMean('--sede', ['--seed', '--steps']), ' (did you mean --seed?)');
    assert.equal(didYouMean('zzz', ['dump']), '');
  });
});

describe(`suggest properties (FC_SEED=${FC_SEED})`, () => {
  it('a name with one letter changed, dropped or doubled is suggested back as that name (among names at least 4 edits apart)', () => {
    const names = ['train_data', 'query_max_len', 'passage_instruction_format', 'knowledge_distillation'];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.nat(), fc.constantFrom('change', 'drop', 'double'), (name, at, edit) => {
        const i = at % name.length;
        const typo = edit === 'drop' ? name.slice(0, i) + name.slice(i + 1) : edit === 'double' ? name.slice(0, i) + name[i] + name.slice(i) : name.slice(0, i) + (name[i] === 'z' ? 'y' : 'z') + name.slice(i + 1);
        return suggest(typo, names) === name;
      }),
      fcParams({ numRuns: 300 }),
    );
  });
});

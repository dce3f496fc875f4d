/**
 * tokenize / withSpecialTokens: Python's single-sequence truncation — content cut to
 * max_len − special tokens, special tokens always kept — and budgets too small for the special
 * tokens rejected at construction.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError } from '../../lib/core/errors.js';
import type { TextBatch } from '../../lib/core/model.js';
import { tokenize, withSpecialTokens } from '../../lib/stages/tokenize.js';
import type { TokenizerPort } from '../../lib/tokenizers/port.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { runnable, textBatchesOf, type Runnable } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { example, localBatch, task } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type WithSpecial = typeof withSpecialTokens;
type Special = TokenizerPort['specialTokens'];

/**
 * The four sentences of the contract: length ≤ max_len; starts with the prefix ids; ends with the
 * suffix ids; the content between them is a prefix of the unlimited ids, as long as the budget allows.
 */
const isTruncatedWithSpecials = (ids: ReadonlyArray<number>, unlimited: ReadonlyArray<number>, special: Special, maxLen: number): boolean => {
  const { prefix, suffix } = special;
  const content = ids.slice(prefix.length, ids.length - suffix.length);
  return (
    ids.length <= maxLen &&
    isDeepStrictEqual(ids.slice(0, prefix.length), [...prefix]) &&
    isDeepStrictEqual(ids.slice(ids.length - suffix.length), [...suffix]) &&
    ids.length >= prefix.length + suffix.length &&
    isDeepStrictEqual(content, unlimited.slice(0, content.length)) &&
    content.length === Math.min(unlimited.length, maxLen - prefix.length - suffix.length)
  );
};

const truncationCase = fc
  .record({
    content: fc.array(fc.integer({ min: 3, max: 400 }), { maxLength: 20 }),
    prefix: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
    suffix: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
    extra: fc.nat({ max: 25 }),
  })
  .map(({ content, prefix, suffix, extra }) => ({ content, special: { prefix, suffix }, maxLen: prefix.length + suffix.length + extra }));

const truncatesLikePython = (f: WithSpecial) =>
  fc.property(truncationCase, ({ content, special, maxLen }) => isTruncatedWithSpecials(f(content, special, maxLen), content, special, maxLen));

const tokenizedFollowTheContract = async (r: Runnable): Promise<boolean> => {
  const texts = await textBatchesOf(r);
  const tokenizer = r.options.tokenizer;
  const out = await toArray(from(texts).pipe(tokenize(r.options)));
  for (const [i, batch] of texts.entries()) {
    const [queries, passages] = [await tokenizer.encodeBatch(batch.queries), await tokenizer.encodeBatch(batch.passages)];
    const ok =
      out[i]!.queryIds.length === queries.length &&
      out[i]!.passageIds.length === passages.length &&
      out[i]!.queryIds.every((ids, k) => isTruncatedWithSpecials(ids, queries[k]!, tokenizer.specialTokens, r.options.queryMaxLen)) &&
      out[i]!.passageIds.every((ids, k) => isTruncatedWithSpecials(ids, passages[k]!, tokenizer.specialTokens, r.options.passageMaxLen));
    if (!ok) return false;
    const { queryIds: _q, passageIds: _p, ...rest } = out[i]!;
    if (!isDeepStrictEqual(rest, batch)) return false;
  }
  return true;
};

describe(`tokenize (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: runnable,
    input: (r) => textBatchesOf(r),
    op: (r) => tokenize(r.options),
    numRuns: 8,
  });

  it('withSpecialTokens: length ≤ max_len, starts with the prefix ids, ends with the suffix ids, the content is the longest prefix of the unlimited ids that fits', () => {
    fc.assert(truncatesLikePython(withSpecialTokens), fcParams({ numRuns: 300 }));
  });

  it('withSpecialTokens: the doc example, and a budget of exactly the special tokens keeps no content', () => {
    assert.deepEqual(withSpecialTokens([5, 6, 7, 8], { prefix: [1], suffix: [2] }, 4), [1, 5, 6, 2]);
    assert.deepEqual(withSpecialTokens([5, 6, 7, 8], { prefix: [1], suffix: [2] }, 2), [1, 2]);
    assert.deepEqual(withSpecialTokens([5], { prefix: [1], suffix: [2] }, 10), [1, 5, 2]);
  });

  it('the stage: every query and passage follows the contract against the tokenizer\'s unlimited ids, and the rest of the batch is kept', async () => {
    await fc.assert(fc.asyncProperty(runnable, tokenizedFollowTheContract), fcParams({ numRuns: 25 }));
  });

  it('the stage, by hand: "the cat" with the fixture tokenizer is <s> ▁the ▁ c a t </s>; cut to 5 it is <s> ▁the ▁ c </s>', async () => {
    const t = task({ name: 'a.jsonl', records: [example(0)], batchSize: 1 });
    const text: TextBatch = {
      ...localBatch(t),
      groupSize: 2,
      queries: ['the cat'],
      passages: ['the cat', 'a'],
      teacherScores: null,
      noInBatchNeg: false,
    };
    const [out] = await toArray(from([text]).pipe(tokenize({ tokenizer: fixtureTokenizer(), queryMaxLen: 5, passageMaxLen: 4 })));
    assert.deepEqual(out!.queryIds, [[1, 356, 259, 326, 2]]);
    assert.deepEqual(out!.passageIds, [[1, 356, 259, 2], [1, 357, 2]]);
  });

  it('max_len below the number of special tokens is a ConfigError at construction', () => {
    const tokenizer = fixtureTokenizer();
    const bad: Array<[{ queryMaxLen?: number; passageMaxLen?: number }, string]> = [
      [{ queryMaxLen: 1 }, 'query_max_len'],
      [{ queryMaxLen: 0 }, 'query_max_len'],
      [{ passageMaxLen: 1 }, 'passage_max_len'],
      [{ passageMaxLen: 2.5 }, 'passage_max_len'],
    ];
    for (const [options, option] of bad) {
      assert.throws(() => tokenize({ tokenizer, ...options }), (e: unknown) => e instanceof ConfigError && e.option === option, JSON.stringify(options));
    }
    tokenize({ tokenizer, queryMaxLen: 2, passageMaxLen: 2 });
    // Without EOS the tokenizer has one special token, so 1 is enough.
    tokenize({ tokenizer: fixtureTokenizer({ addEosToken: false }), queryMaxLen: 1, passageMaxLen: 1 });
    assert.throws(() => tokenize({ tokenizer: undefined as never }), (e: unknown) => e instanceof ConfigError && e.option === 'tokenizer');
  });

  it('meta: the contract catches transformers.js-style truncation (special tokens cut off), a cut from the end, and a cut one token short', () => {
    const cutsSpecials: WithSpecial = (content, special, maxLength) => [...special.prefix, ...content, ...special.suffix].slice(0, maxLength);
    const fromTheEnd: WithSpecial = (content, special, maxLength) => {
      const budget = maxLength - special.prefix.length - special.suffix.length;
      return [...special.prefix, ...content.slice(Math.max(0, content.length - budget)), ...special.suffix];
    };
    const short: WithSpecial = (content, special, maxLength) => withSpecialTokens(content.slice(0, -1), special, maxLength);
    for (const broken of [cutsSpecials, fromTheEnd, short]) {
      assert.equal(fc.check(truncatesLikePython(broken), { seed: FC_SEED, numRuns: 300 }).failed, true);
    }
  });
});

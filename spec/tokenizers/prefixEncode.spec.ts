/**
 * Encoding with a token budget: `encodePrefixBatch(texts, limits)` gives exactly the first
 * `limits[i]` ids of `encodeBatch(texts)[i]`, on fuzzed texts (words, runs of spaces, newlines,
 * tabs, emoji, accents, added tokens next to spaces), with the default reach and with one so tight
 * that the cut falls right at the budget; what it reads of a text follows the budget, not the text;
 * and a variant that cuts anywhere (not where a word starts) fails the same check.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { TokenizerPort } from '../../lib/tokenizers/port.js';
import { defaultTokenizerDir, loadDefaultTokenizer, wordCutOf } from '../../lib/tokenizers/transformers.js';
import { encodePrefixes, prefixCut, wordEncoder, type WordCut } from '../../lib/tokenizers/wordBpe.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

const SPECIALS = ['<instruct>', '<query>', '<response>'];
const tokenizerJson = JSON.parse(readFileSync(join(defaultTokenizerDir(), 'tokenizer.json'), 'utf8')) as { normalizer: unknown; added_tokens: { content: string; id: number }[] };
const splitTokens = [...tokenizerJson.added_tokens, ...SPECIALS.map((content, i) => ({ content, id: 32000 + i }))];
const mistralCut: WordCut = wordCutOf(tokenizerJson.normalizer)!;

/** Texts that stress the cut: words of every length, runs of blanks, added tokens with and without spaces around them. */
const text = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('the', 'bread', 'goes', 'stale', 'antidisestablishmentarianism', 'naïve', 'café', '東京', '😀', 'x', 'I', ',', '.', "don't", '12345') },
      { weight: 4, arbitrary: fc.constantFrom(' ', ' ', '  ', '   ', '\n', '\n\n', '\t', ' \n ') },
      { weight: 1, arbitrary: fc.constantFrom('<s>', '</s>', '<query>', ' <instruct>', '<response> ', '<unk>') },
      { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
    ),
    { maxLength: 400 },
  )
  .map((parts) => parts.join(''));
const cases = fc.array(fc.tuple(text, fc.integer({ min: 0, max: 48 })), { minLength: 1, maxLength: 6 });

/** encodePrefixBatch's (or a variant's) first ids equal the whole text's first ids, for every text and limit. */
const firstIdsAreExact = (tokenizer: TokenizerPort, prefixes: (texts: string[], limits: number[]) => Promise<ReadonlyArray<ReadonlyArray<number>>>) =>
  fc.asyncProperty(cases, async (pairs) => {
    const texts = pairs.map(([t]) => t);
    const limits = pairs.map(([, n]) => n);
    const whole = await tokenizer.encodeBatch(texts);
    const got = await prefixes(texts, limits);
    return whole.every((ids, i) => isDeepStrictEqual([...got[i]!], ids.slice(0, limits[i])));
  });

describe(`encodePrefixBatch: the first ids of a text from as little of it as they take (FC_SEED=${FC_SEED})`, () => {
  it('equals encodeBatch(texts)[i].slice(0, limits[i]) on fuzzed texts (Mistral-7B\'s tokenizer, the default reach)', async () => {
    const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: SPECIALS });
    assert.ok(tokenizer.encodePrefixBatch !== undefined, 'the default tokenizer encodes by words, so it has a prefix encoder');
    await fc.assert(firstIdsAreExact(tokenizer, (t, l) => tokenizer.encodePrefixBatch!(t, l)), fcParams({ numRuns: 300 }));
  });

  it('equals it too when the first reach is one character per token (cuts land right at the budget, and grow four times until enough)', async () => {
    const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: SPECIALS });
    const tight = (texts: string[], limits: number[]) => encodePrefixes({ encodeBatch: tokenizer.encodeBatch, wordCut: mistralCut, splitTokens, firstReach: (n) => n }, texts, limits);
    await fc.assert(firstIdsAreExact(tokenizer, tight), fcParams({ numRuns: 300 }));
  });

  it('meta: a variant that cuts anywhere (inside words and added tokens) fails the same check', async () => {
    const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: SPECIALS });
    const anywhere = (texts: string[], limits: number[]) => encodePrefixes({ encodeBatch: tokenizer.encodeBatch, wordCut: () => true, splitTokens: [], firstReach: (n) => n }, texts, limits);
    assert.equal((await fc.check(firstIdsAreExact(tokenizer, anywhere), { seed: FC_SEED, numRuns: 300 })).failed, true);
  });

  it('the cut: where a word starts (a space after a non-space), never inside an added token, the whole text when there is none', () => {
    assert.deepEqual(prefixCut('one two three', 4, mistralCut, splitTokens), { text: 'one two', whole: false });
    assert.deepEqual(prefixCut('one  two', 4, mistralCut, splitTokens), { text: 'one  two', whole: true }, 'the second of two spaces starts no word');
    assert.deepEqual(prefixCut('a <instruct b> c', 2, mistralCut, [{ content: '<instruct b>', id: 9 }]), { text: 'a <instruct b>', whole: false });
    assert.deepEqual(prefixCut('wordwithoutspaces', 3, mistralCut, []), { text: 'wordwithoutspaces', whole: true });
  });

  it('what it reads follows the budget, not the text: 32 tokens of a 5 MB text normalize and encode a few hundred characters', async () => {
    let normalized = 0;
    let modelled = 0;
    const encoder = wordEncoder({
      splitTokens,
      normalize: (piece) => ((normalized += piece.length), `\u2581${piece.replaceAll(' ', '\u2581')}`),
      model: (words) => words.map((w) => ((modelled += w.length), [...w].map((c) => c.charCodeAt(0)))),
      wordCut: mistralCut,
    });
    const big = 'the bread goes stale '.repeat(250_000);
    const [ids] = await encoder.encodePrefixBatch([big], [32]);
    assert.equal(ids!.length, 32);
    assert.ok(normalized <= 8 * 32 + 64 + 32, `${normalized} characters normalized`);
    assert.ok(modelled <= 8 * 32 + 64 + 32, `${modelled} characters encoded`);
    const [all] = await encoder.encodeBatch([big]);
    assert.deepEqual(ids, all!.slice(0, 32));
  });
});

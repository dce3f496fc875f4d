/**
 * withSegmentCache over a small fake tokenizer that behaves like Hugging Face's on the points that
 * matter (it splits at added tokens, leftmost-longest, and the first piece of a text is encoded
 * differently from the others): cached ids equal uncached ids for random texts, any capacity and
 * concurrent calls; when the anchor does not come out as its own first id the wrapper falls back to
 * whole texts and stays correct; and the cache does keep what fits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { addedTokenSplitter, type SplitToken } from '../../lib/tokenizers/addedTokens.js';
import type { TokenizerPort } from '../../lib/tokenizers/port.js';
import { withSegmentCache } from '../../lib/tokenizers/segmentCache.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

// ------------------------------------------------------------------------------------------------
// The fake tokenizer
// ------------------------------------------------------------------------------------------------

/** `<q>` is a prefix of `<q>>`: the longest match must win. */
const ADDED: ReadonlyArray<SplitToken> = [
  { content: '<s>', id: 1 },
  { content: '</s>', id: 2 },
  { content: '<q>', id: 3 },
  { content: '<q>>', id: 4 },
];
const BOS = ADDED[0]!;
/** Put before the ids of a text's first piece when the text does not start with an added token (Metaspace `prepend_scheme: "first"`). */
const FIRST = 7;
/** `ab` inside a piece is one id (a merge), so that cutting a piece apart would show. */
const AB = 500;

/**
 * The fake's ids, written out independently of the library's splitter: scan left to right; at each
 * place the longest added token that starts there is its id; other text is a piece, whose ids are
 * `ab` → 500 and any other code point → 1000 + code point, after the FIRST marker when the piece
 * starts the text.
 */
const fakeIds = (text: string): number[] => {
  const out: number[] = [];
  let i = 0;
  let pieceStart = -1;
  while (i < text.length) {
    const match = ADDED.filter((t) => text.startsWith(t.content, i)).sort((a, b) => b.content.length - a.content.length)[0];
    if (match !== undefined) {
      out.push(match.id);
      i += match.content.length;
      pieceStart = -1;
      continue;
    }
    if (pieceStart < 0) {
      pieceStart = i;
      if (i === 0) out.push(FIRST);
    }
    if (text.startsWith('ab', i)) {
      out.push(AB);
      i += 2;
      continue;
    }
    const cp = text.codePointAt(i)!;
    out.push(1000 + cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return out;
};

/**
 * A TokenizerPort computing {@link fakeIds}, after `delay(texts)` event-loop turns (so that
 * concurrent calls interleave), recording every call's texts.
 */
const fakePort = (delay: (texts: ReadonlyArray<string>) => number = () => 1) => {
  const calls: Array<ReadonlyArray<string>> = [];
  const port: TokenizerPort = {
    name: 'fake',
    async encodeBatch(texts) {
      calls.push([...texts]);
      for (let k = delay(texts); k > 0; k--) await new Promise<void>((r) => setImmediate(r));
      return texts.map(fakeIds);
    },
    async decodeBatch(ids) {
      return ids.map((row) => row.map(String).join(' '));
    },
    specialTokens: { prefix: [1], suffix: [2] },
    bosToken: '<s>',
    eosToken: '</s>',
    padTokenId: 2,
    paddingSide: 'left',
    fingerprint: 'fake',
  };
  return { port, calls, encodedTexts: () => calls.reduce((n, c) => n + c.length, 0) };
};

// ------------------------------------------------------------------------------------------------
// Arbitraries
// ------------------------------------------------------------------------------------------------

/** Texts made of added tokens, parts of them, `ab`, and a few other characters, glued together. */
const textArb = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ADDED.map((t) => t.content)) },
      { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', '>', '<', 's', 'q', '/', ' ', 'é', '😀'), maxLength: 5 }) },
    ),
    { maxLength: 7 },
  )
  .map((parts) => parts.join(''));

/** Calls of texts (several calls, so that later ones meet what earlier ones cached). */
const callsArb = fc.array(fc.array(textArb, { maxLength: 6 }), { minLength: 1, maxLength: 5 });

const capacityArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }), fc.constant(1_000_000));

const expected = (texts: ReadonlyArray<string>): number[][] => texts.map(fakeIds);

// ------------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------------

type Wrap = (port: TokenizerPort, capacityChars: number, anchor?: SplitToken) => TokenizerPort;

const wrapWithSegmentCache: Wrap = (port, capacityChars, anchor = BOS) => withSegmentCache(port, { splitTokens: ADDED, anchor, capacityChars });

/** Call after call, the wrapped port gives the fake's own ids. */
const sequentialCallsAreExact = (wrap: Wrap) =>
  fc.asyncProperty(capacityArb, callsArb, async (capacity, calls) => {
    const cached = wrap(fakePort().port, capacity);
    for (const texts of calls) if (!isDeepStrictEqual(await cached.encodeBatch(texts), expected(texts))) return false;
    return true;
  });

/** Concurrent calls (the port answers after a random number of turns) give the fake's own ids. */
const concurrentCallsAreExact = (wrap: Wrap) =>
  fc.asyncProperty(capacityArb, callsArb, fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 6 }), async (capacity, calls, delays) => {
    let n = 0;
    const cached = wrap(fakePort(() => delays[n++ % delays.length]!).port, capacity);
    // Twice: the second round meets what the first cached (and evicted).
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(calls.map((texts) => cached.encodeBatch(texts)));
      if (!results.every((ids, i) => isDeepStrictEqual(ids, expected(calls[i]!)))) return false;
    }
    return true;
  });

/** A meta-test's verdict: the property failed on a counterexample (not by running out of time or preconditions). */
const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(
    result.failed && result.counterexample !== null && !result.interrupted,
    `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips, interrupted: result.interrupted })}`,
  );

describe(`withSegmentCache (FC_SEED=${FC_SEED})`, () => {
  it('the fake tokenizer is what its comment says (hand-computed ids)', () => {
    assert.deepEqual(fakeIds(''), []);
    assert.deepEqual(fakeIds('ab'), [FIRST, AB]);
    assert.deepEqual(fakeIds('<s>ab'), [1, AB]);
    assert.deepEqual(fakeIds('x<q>>a'), [FIRST, 1000 + 0x78, 4, 1000 + 0x61]);
    assert.deepEqual(fakeIds('<q>b</s>😀'), [3, 1000 + 0x62, 2, 1000 + 0x1f600]);
    assert.deepEqual(fakeIds('ab<s>'), [FIRST, AB, 1]);
  });

  it('cached ids equal uncached ids, call after call, for random texts and any capacity (0, tiny, large)', async () => {
    await fc.assert(
      sequentialCallsAreExact(wrapWithSegmentCache),
      fcParams({ numRuns: 300, examples: [[5, [['a<s>>ab', '<s>>ab', 'b<q>>'], ['<q>ab', 'ab']]]] }),
    );
  });

  it('cached ids equal uncached ids under concurrent calls on one wrapper (Promise.all, random port delays)', async () => {
    await fc.assert(concurrentCallsAreExact(wrapWithSegmentCache), fcParams({ numRuns: 200 }));
  });

  it('the same piece at the start of a text and after an added token gets different ids, each right', async () => {
    const { port } = fakePort();
    const cached = wrapWithSegmentCache(port, 1_000);
    assert.deepEqual(await cached.encodeBatch(['ab', '<s>ab', 'ab</s>ab']), [
      [FIRST, AB],
      [1, AB],
      [FIRST, AB, 2, AB],
    ]);
    assert.deepEqual(await cached.encodeBatch(['<s>ab', 'ab']), [
      [1, AB],
      [FIRST, AB],
    ]);
  });

  it('a repeated text is served from the cache: the port sees each piece once, and nothing on a repeat', async () => {
    const fake = fakePort();
    const cached = wrapWithSegmentCache(fake.port, 1_000);
    const texts = ['<s>prompt<q>query one', '<s>prompt<q>query two', '<s>prompt<q>query one'];
    assert.deepEqual(await cached.encodeBatch(texts), expected(texts));
    // Pieces: "prompt", "query one", "query two" (each after an added token, so with the anchor).
    assert.deepEqual(fake.calls, [['<s>prompt', '<s>query one', '<s>query two']]);
    assert.deepEqual(await cached.encodeBatch(texts), expected(texts));
    assert.equal(fake.calls.length, 1, 'a repeat needs no port call');
  });

  it('capacity 0 or no added tokens: the port itself, unwrapped', () => {
    const { port } = fakePort();
    assert.equal(withSegmentCache(port, { splitTokens: ADDED, anchor: BOS, capacityChars: 0 }), port);
    assert.equal(withSegmentCache(port, { splitTokens: [], anchor: BOS, capacityChars: 100 }), port);
  });

  it('when the anchor does not come out as its own first id, it falls back to whole texts, stays correct, and keeps doing so', async () => {
    await fc.assert(
      fc.asyncProperty(capacityArb.filter((c) => c > 0), callsArb, async (capacity, calls) => {
        const fake = fakePort();
        // The port never gives id 99 for "<s>": every anchored piece comes back without it.
        const cached = withSegmentCache(fake.port, { splitTokens: ADDED, anchor: { content: '<s>', id: 99 }, capacityChars: capacity });
        let fellBack = false;
        for (const texts of calls) {
          if (!isDeepStrictEqual(await cached.encodeBatch(texts), expected(texts))) return false;
          // Once a piece needed the anchor, every later call goes to the port as whole texts.
          if (fellBack && texts.length > 0 && !isDeepStrictEqual(fake.calls.at(-1), texts)) return false;
          fellBack ||= texts.some((t) => addedTokenSplitter(ADDED)(t).some((p) => 'text' in p && p.start > 0));
        }
        return true;
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('an anchor that merges with the next piece ("<q>" + ">x" reads as "<q>>" + "x") is caught, and the ids stay right', async () => {
    const fake = fakePort();
    const anchorQ = ADDED[2]!;
    const cached = wrapWithSegmentCache(fake.port, 1_000, anchorQ);
    const texts = ['<s>>x', '<s>>x<q>ab', 'ab<s>y'];
    assert.deepEqual(await cached.encodeBatch(texts), expected(texts));
    assert.deepEqual(await cached.encodeBatch(texts), expected(texts));
    assert.deepEqual(fake.calls.at(-1), texts, 'whole texts after the fallback');
  });

  it('the fallback is correct under concurrent calls too', async () => {
    await fc.assert(
      concurrentCallsAreExact((port, capacity) => withSegmentCache(port, { splitTokens: ADDED, anchor: ADDED[2]!, capacityChars: capacity })),
      fcParams({ numRuns: 150, examples: [[10, [['<s>>a', 'ab'], ['<s>b', '<q>a']], [2, 0]]] }),
    );
  });

  it('after concurrent calls that miss the same pieces, a piece well under the capacity is still kept (the cache does not shrink)', async () => {
    // Two concurrent calls that both miss a piece both store it. The cache must count it once:
    // otherwise its character count drifts up with every such pair, and what it can hold drifts down.
    const fake = fakePort();
    const capacity = 100;
    const cached = wrapWithSegmentCache(fake.port, capacity);
    for (let i = 0; i < 40; i++) {
      const text = `<s>piece ${i}`;
      await Promise.all([cached.encodeBatch([text]), cached.encodeBatch([text])]);
    }
    const probe = '<s>a piece of twenty chars'; // 23 characters of piece text: a fifth of the capacity
    assert.deepEqual(await cached.encodeBatch([probe]), expected([probe]));
    const before = fake.encodedTexts();
    assert.deepEqual(await cached.encodeBatch([probe]), expected([probe]));
    assert.equal(fake.encodedTexts() - before, 0, 'the piece just encoded should come from the cache');
  });

  it('meta: a cache that keys pieces by text alone (not by whether they start their text) fails the exactness property', async () => {
    const positionBlind: Wrap = (port) => {
      const split = addedTokenSplitter(ADDED);
      const cache = new Map<string, ReadonlyArray<number>>();
      return {
        ...port,
        async encodeBatch(texts) {
          const out: number[][] = [];
          for (const text of texts) {
            const ids: number[] = [];
            for (const p of split(text)) {
              if ('id' in p) {
                ids.push(p.id);
                continue;
              }
              let piece = cache.get(p.text);
              if (piece === undefined) {
                const [anchored] = await port.encodeBatch([p.start === 0 ? p.text : BOS.content + p.text]);
                piece = p.start === 0 ? anchored! : anchored!.slice(1);
                cache.set(p.text, piece);
              }
              ids.push(...piece);
            }
            out.push(ids);
          }
          return out;
        },
      };
    };
    assertCaught(await fc.check(sequentialCallsAreExact(positionBlind), fcParams({ numRuns: 300 })));
  });

  it('meta: a wrapper that encodes each piece alone (no anchor) fails the exactness property', async () => {
    const anchorless: Wrap = (port) => {
      const split = addedTokenSplitter(ADDED);
      return {
        ...port,
        async encodeBatch(texts) {
          const out: number[][] = [];
          for (const text of texts) {
            const ids: number[] = [];
            for (const p of split(text)) ids.push(...('id' in p ? [p.id] : (await port.encodeBatch([p.text]))[0]!));
            out.push(ids);
          }
          return out;
        },
      };
    };
    assertCaught(await fc.check(sequentialCallsAreExact(anchorless), fcParams({ numRuns: 300 })));
  });
});

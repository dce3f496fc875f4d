/**
 * Per-batch draws: the chunk shuffle's cutting (`applyChunkOrder`) and `drawBatch`'s draw order
 * checked call for call against CPython.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyChunkOrder, drawBatch, type BatchShape } from '../../lib/plan/batchDraws.js';
import { PythonRandom } from '../../lib/random/pythonRandom.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text of `n` code points, none of them a space (so the joined chunks split back unambiguously). */
const noSpaceText = (min: number, max: number): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof(fc.constantFrom('a', 'é', '中', '😀', '𝔽', '\u05d0', '-'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), {
      minLength: min,
      maxLength: max,
    })
    .map((cs) => cs.map((c) => (c === ' ' ? '_' : c)).join(''));

const PERMUTATIONS_OF_3 = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
] as const;

describe('applyChunkOrder', () => {
  it('equals cutting the code points of the text (Python\'s characters, lone surrogates one each) into chunks of len // 3 + 1, for any text and any order of its chunks', () => {
    const model = (text: string, order: ReadonlyArray<number>) => {
      const points = [...text];
      const chunk = Math.floor(points.length / 3) + 1;
      return order.map((c) => points.slice(c * chunk, (c + 1) * chunk).join('')).join(' ');
    };
    const textAndOrder = fc
      .array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('\ud800', '\udc00', '😀', ' ')), { maxLength: 12 })
      .map((parts) => parts.join(''))
      .chain((text) => {
        const n = [...text].length;
        const chunks = Math.ceil(n / (Math.floor(n / 3) + 1));
        return fc.shuffledSubarray(Array.from({ length: chunks }, (_, i) => i), { minLength: chunks, maxLength: chunks }).map((order) => [text, order] as const);
      });
    fc.assert(
      fc.property(textAndOrder, ([text, order]) => applyChunkOrder(text, order) === model(text, order)),
      fcParams({ numRuns: 500 }),
    );
  });

  it('null leaves the text as it is', () => {
    const text = 'x'.repeat(150);
    assert.equal(applyChunkOrder(text, null), text);
  });

  it('the identity order on a text without spaces gives the chunks joined by single spaces', () => {
    // 101 code points → chunks of 101 // 3 + 1 = 34: 34, 34, 33.
    const text = 'a'.repeat(34) + 'b'.repeat(34) + 'c'.repeat(33);
    assert.equal(applyChunkOrder(text, [0, 1, 2]), `${'a'.repeat(34)} ${'b'.repeat(34)} ${'c'.repeat(33)}`);
  });

  it('a permutation reorders the chunks', () => {
    const text = 'a'.repeat(34) + 'b'.repeat(34) + 'c'.repeat(33);
    assert.equal(applyChunkOrder(text, [2, 0, 1]), `${'c'.repeat(33)} ${'a'.repeat(34)} ${'b'.repeat(34)}`);
  });

  it('cuts by code points, not UTF-16 units: 150 emoji give chunks of 51, 51 and 48 emoji, no surrogate split', () => {
    const text = '😀'.repeat(150);
    const out = applyChunkOrder(text, [0, 1, 2]);
    assert.deepEqual(
      out.split(' ').map((c) => [...c].length),
      [51, 51, 48],
    );
    assert.ok(!LONE_SURROGATE.test(out), 'a surrogate pair was cut');
    // Mixed: chunk boundaries fall between code points whatever their width.
    const mixed = 'a😀'.repeat(60) + 'b'; // 121 code points → chunks of 41
    const parts = applyChunkOrder(mixed, [1, 2, 0]).split(' ');
    assert.deepEqual(parts.map((c) => [...c].length), [41, 39, 41]);
    assert.equal([parts[2], parts[0], parts[1]].join(''), mixed);
  });

  describe(`properties (FC_SEED=${FC_SEED})`, () => {
    it('the chunks, put back in chunk order and joined without the separator, give back the text', () => {
      fc.assert(
        fc.property(noSpaceText(101, 400), fc.constantFrom(...PERMUTATIONS_OF_3), (text, order) => {
          const parts = applyChunkOrder(text, order).split(' ');
          assert.equal(parts.length, 3);
          const chunks: string[] = [];
          order.forEach((c, i) => (chunks[c] = parts[i]!));
          return chunks.join('') === text;
        }),
        fcParams({ numRuns: 200 }),
      );
    });

    it('a text over 100 code points always gives 3 non-empty chunks of at most len // 3 + 1 code points', () => {
      fc.assert(
        fc.property(noSpaceText(101, 400), (text) => {
          const n = [...text].length;
          const parts = applyChunkOrder(text, [0, 1, 2]).split(' ');
          return (
            parts.length === 3 &&
            parts.every((p) => p.length > 0 && [...p].length <= Math.floor(n / 3) + 1) &&
            !parts.some((p) => LONE_SURROGATE.test(p))
          );
        }),
        fcParams({ numRuns: 200 }),
      );
    });
  });
});

// -------------------------------------------------------------------------------------------------
// drawBatch against CPython 3.11.7. The literals below were printed by this script (run once while
// writing the spec; the spec does not need Python):
//
//   import random
//   random.seed(42)
//   random.choice(list(range(3)))            # record 0: 3 positives              -> 2
//   random.sample(list(range(7)), 4)         # record 0: 7 negatives, tgs 5       -> [0, 6, 2, 1]
//   random.choice(list(range(4)))            # record 1: 4 positives              -> 1
//   random.sample(list(range(2)) * 2, 4)     # record 1: 2 negatives, repeated    -> [1, 0, 0, 1]
//   random.choice(list(range(2)))            # record 2: 2 positives              -> 1
//   random.sample(list(range(3)) * 2, 4)     # record 2: 3 negatives, repeated    -> [0, 2, 1, 0]
//   for i in range(3):
//       c = random.choice([0, 1, 2, 3, 4, 5])                  # -> 1, 4, 3
//       if c > 0: random.sample(list(range(3)), min(c + 1, 3))  # -> [2, 0], [0, 1, 2], [2, 1, 0]
//   random.random()                          # the stream position afterwards     -> 0.7588073671297673
//
// The ICL ids are those samples with the query's own id removed, cut to c: [2], [0, 2], [1, 0].
// Without ICL (same records): the counts are 1, 4, 4 (no samples drawn in between), and the next
// random.random() is 0.026535969683863625.
// -------------------------------------------------------------------------------------------------
const THREE_RECORDS: BatchShape['records'] = [
  { positiveLengths: [10, 20, 30], negatives: 7 },
  { positiveLengths: [10, 20, 30, 40], negatives: 2 },
  { positiveLengths: [10, 20], negatives: 3 },
];

describe('drawBatch: draw order, call for call as CPython (random.seed(42))', () => {
  it('with ICL: positives, negatives (plain and repeated populations), then counts and example ids', () => {
    const random = PythonRandom.fromSeed(42);
    const draws = drawBatch(random, { groupSize: 5, icl: true, records: THREE_RECORDS }, { shuffleRatio: 0 });
    assert.deepEqual(draws, {
      records: [
        { positiveIndex: 2, chunkOrder: null, negativeIndices: [0, 6, 2, 1] },
        { positiveIndex: 1, chunkOrder: null, negativeIndices: [1, 0, 0, 1] },
        { positiveIndex: 1, chunkOrder: null, negativeIndices: [0, 2, 1, 0] },
      ],
      icl: [
        { count: 1, exampleIds: [2] },
        { count: 4, exampleIds: [0, 2] },
        { count: 3, exampleIds: [1, 0] },
      ],
    });
    assert.equal(random.random(), 0.7588073671297673, 'the stream is left where CPython leaves it');
  });

  it('without ICL the counts are still drawn, but no example sample', () => {
    const random = PythonRandom.fromSeed(42);
    const draws = drawBatch(random, { groupSize: 5, icl: false, records: THREE_RECORDS }, { shuffleRatio: 0 });
    assert.deepEqual(
      draws.records.map((r) => r.positiveIndex),
      [2, 1, 1],
    );
    assert.deepEqual(draws.icl, [
      { count: 1, exampleIds: [] },
      { count: 4, exampleIds: [] },
      { count: 4, exampleIds: [] },
    ]);
    assert.equal(random.random(), 0.026535969683863625);
  });

  // CPython 3.11.7:
  //   random.seed(42)
  //   random.choice(list(range(1)))   # the only positive (150 code points)  -> 0
  //   random.random()                 # _shuffle_text's coin                  -> 0.025010755222666936
  //   chunks = [0, 1, 2]; random.shuffle(chunks)                              -> [2, 0, 1]
  //   random.choice([0, 1, 2, 3, 4, 5])                                       -> 1
  //   random.random()                                                         -> 0.1395379285251439
  it('the chunk shuffle: shuffle_ratio 1 and a 150-code-point positive draw random(), then shuffle of 3', () => {
    const random = PythonRandom.fromSeed(42);
    const draws = drawBatch(random, { groupSize: 1, icl: false, records: [{ positiveLengths: [150], negatives: 0 }] }, { shuffleRatio: 1 });
    assert.deepEqual(draws, {
      records: [{ positiveIndex: 0, chunkOrder: [2, 0, 1], negativeIndices: [] }],
      icl: [{ count: 1, exampleIds: [] }],
    });
    assert.equal(random.random(), 0.1395379285251439);
  });

  // CPython 3.11.7, as above but the coin 0.025010755222666936 is not below 0.02 (no shuffle):
  //   random.seed(42); random.choice(list(range(1))) -> 0; random.random() -> 0.025010755222666936;
  //   random.choice([0, 1, 2, 3, 4, 5]) -> 2; random.random() -> 0.24489185380347622
  it('the coin is drawn even when it says no (shuffle_ratio 0.02)', () => {
    const random = PythonRandom.fromSeed(42);
    const draws = drawBatch(random, { groupSize: 1, icl: false, records: [{ positiveLengths: [150], negatives: 0 }] }, { shuffleRatio: 0.02 });
    assert.deepEqual(draws, { records: [{ positiveIndex: 0, chunkOrder: null, negativeIndices: [] }], icl: [{ count: 2, exampleIds: [] }] });
    assert.equal(random.random(), 0.24489185380347622);
  });

  // CPython 3.11.7: random.seed(42); random.choice(list(range(1))) -> 0;
  //   random.choice([0, 1, 2, 3, 4, 5]) -> 0; random.random() -> 0.7415504997598329
  it('a positive of exactly 100 code points draws no coin', () => {
    const random = PythonRandom.fromSeed(42);
    const draws = drawBatch(random, { groupSize: 1, icl: true, records: [{ positiveLengths: [100], negatives: 0 }] }, { shuffleRatio: 1 });
    assert.deepEqual(draws, { records: [{ positiveIndex: 0, chunkOrder: null, negativeIndices: [] }], icl: [{ count: 0, exampleIds: [] }] });
    assert.equal(random.random(), 0.7415504997598329);
  });
});

describe(`drawBatch shape laws (FC_SEED=${FC_SEED})`, () => {
  const shapeArb = fc.record({
    seed: fc.nat(),
    groupSize: fc.integer({ min: 1, max: 10 }),
    icl: fc.boolean(),
    shuffleRatio: fc.constantFrom(0, 0.5, 1),
    records: fc.array(
      fc.record({
        positiveLengths: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 4 }),
        negatives: fc.integer({ min: 1, max: 12 }),
      }),
      { minLength: 1, maxLength: 12 },
    ),
  });

  it('indices stay in range, groups have groupSize − 1 negatives, examples never include the query itself', () => {
    fc.assert(
      fc.property(shapeArb, ({ seed, groupSize, icl, shuffleRatio, records }) => {
        const draws = drawBatch(PythonRandom.fromSeed(seed), { groupSize, icl, records }, { shuffleRatio });
        assert.equal(draws.records.length, records.length);
        assert.equal(draws.icl.length, records.length);
        draws.records.forEach((d, i) => {
          const shape = records[i]!;
          assert.ok(d.positiveIndex >= 0 && d.positiveIndex < shape.positiveLengths.length);
          assert.equal(d.negativeIndices.length, groupSize - 1);
          assert.ok(d.negativeIndices.every((n) => n >= 0 && n < shape.negatives));
          if (shape.negatives >= groupSize - 1) assert.equal(new Set(d.negativeIndices).size, d.negativeIndices.length, 'no repeats when there are enough');
          if (d.chunkOrder !== null) {
            assert.ok(shape.positiveLengths[d.positiveIndex]! > 100 && shuffleRatio > 0);
            assert.deepEqual([...d.chunkOrder].sort(), [0, 1, 2]);
          }
        });
        draws.icl.forEach((d, i) => {
          assert.ok(d.count >= 0 && d.count <= 5);
          assert.ok(d.exampleIds.length <= d.count);
          if (!icl) assert.equal(d.exampleIds.length, 0);
          assert.ok(!d.exampleIds.includes(i), 'an example is the query itself');
          assert.equal(new Set(d.exampleIds).size, d.exampleIds.length);
          assert.ok(d.exampleIds.every((id) => id >= 0 && id < records.length));
        });
        return true;
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('with shuffle_ratio 1 every positive over 100 code points is shuffled', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 101, max: 500 }), (seed, length) => {
        const draws = drawBatch(PythonRandom.fromSeed(seed), { groupSize: 1, icl: false, records: [{ positiveLengths: [length], negatives: 0 }] }, { shuffleRatio: 1 });
        return draws.records[0]!.chunkOrder !== null;
      }),
      fcParams({ numRuns: 100 }),
    );
  });
});

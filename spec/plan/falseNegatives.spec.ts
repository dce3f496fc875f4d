/**
 * The false-negative rule, sentence by sentence (falseNegativeRows' TSDoc), then against a model
 * written from those sentences on random steps with duplicates.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { falseNegativeRows, maskGroupsOf, type MaskGroup } from '../../lib/plan/falseNegatives.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

/** Marked (row, column) pairs of a mask, as "i→j". */
const marks = (rows: ReadonlyArray<ReadonlyArray<boolean>>): string[] => rows.flatMap((row, i) => row.flatMap((m, j) => (m ? [`${i}→${j}`] : [])));

const g = (positives: string[], passages: string[]): MaskGroup => ({ positives, passages });

describe('falseNegativeRows: the rule, sentence by sentence', () => {
  it('one row per query of the rank, one column per passage of every rank given (rank order)', () => {
    const rows = falseNegativeRows([[g(['a'], ['a', 'x', 'y'])], [g(['b'], ['b', 'z', 'w']), g(['c'], ['c', 'v', 'u'])]], 1);
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.length === 9));
  });

  it('rule 1: a passage whose source text is one of the positives of the query’s record is marked, also one that was not the drawn positive', () => {
    // Query 0's record has positives a and a2 (a drawn); query 1 holds a2 as a negative.
    const rows = falseNegativeRows([[g(['a', 'a2'], ['a', 'x']), g(['b'], ['b', 'a2'])]], 0);
    assert.deepEqual(marks(rows), ['0→3']);
  });

  it('rule 1 inside the query’s own group: a negative equal to one of its record’s positives is marked', () => {
    const rows = falseNegativeRows([[g(['a', 'a2'], ['a', 'a2', 'x'])]], 0);
    assert.deepEqual(marks(rows), ['0→1']);
  });

  it('the query’s own positive slot is never marked, even when its text appears again (then the other copy is)', () => {
    const rows = falseNegativeRows([[g(['a'], ['a', 'a', 'x']), g(['a'], ['a', 'y', 'z'])]], 0);
    assert.deepEqual(marks(rows), ['0→1', '0→3', '1→0', '1→1']);
  });

  it('rule 2: a copy outside the query’s group of a passage in its group (a negative) is marked; the one inside is not', () => {
    const rows = falseNegativeRows([[g(['a'], ['a', 'n']), g(['b'], ['b', 'n'])]], 0);
    // Row 0: column 3 (query 1's copy of n). Row 1: column 1 (query 0's copy of n).
    assert.deepEqual(marks(rows), ['0→3', '1→1']);
  });

  it('a negative repeated inside the query’s own group (a tiled neg list) is not marked', () => {
    const rows = falseNegativeRows([[g(['a'], ['a', 'n', 'm', 'n', 'm'])]], 0);
    assert.deepEqual(marks(rows), []);
  });

  it('… but its copies in other groups are (rule 2), for the query that holds it', () => {
    const rows = falseNegativeRows([[g(['a'], ['a', 'n', 'n']), g(['b'], ['b', 'n', 'x'])]], 0);
    assert.deepEqual(marks(rows), ['0→4', '1→1', '1→2']);
  });

  it('passages of other groups that are duplicates of each other but of nothing in the query’s group are not marked', () => {
    const rows = falseNegativeRows([[g(['a'], ['a', 'x']), g(['b'], ['b', 'd']), g(['c'], ['c', 'd'])]], 0);
    assert.deepEqual(marks(rows).filter((m) => m.startsWith('0→')), []);
  });

  it('texts compare as exact strings: no Unicode normalization, no trimming, case-sensitive', () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const rows = falseNegativeRows([[g([nfc], [nfc, 'x']), g(['b'], ['b', nfd]), g(['c'], ['c', `${nfc} `]), g(['d'], ['d', 'CAF\u00c9'])]], 0);
    assert.deepEqual(marks(rows).filter((m) => m.startsWith('0→')), []);
  });

  it('two records with the same query are not linked unless their passages are', () => {
    const rows = falseNegativeRows([[g(['a'], ['a', 'x']), g(['b'], ['b', 'y'])]], 0);
    assert.deepEqual(marks(rows), []);
  });

  it('global: columns run over every rank’s passages, and the query’s group is located in its own rank’s block', () => {
    // Rank 0's query holds n and b (rank 1's positive) as negatives; rank 1's query holds n.
    const ranks = [[g(['a'], ['a', 'n', 'b'])], [g(['b'], ['b', 'n', 'y'])]];
    // Rank 1's row: rank 0's n (a copy of its negative) and b (its record's positive).
    assert.deepEqual(marks(falseNegativeRows(ranks, 1)), ['0→1', '0→2']);
    // Rank 0's row: rank 1's b and n, copies of its own negatives.
    assert.deepEqual(marks(falseNegativeRows(ranks, 0)), ['0→3', '0→4']);
  });

  it('maskGroupsOf: a positive slot’s source is the drawn pos entry, a negative’s the drawn neg entry (tiled draws repeat)', () => {
    const records = [{ file: 'f', line: 1, record: 0, value: { query: 'q', pos: ['p0', 'p1'], neg: ['n0', 'n1'] } }] as const;
    const groups = [{ positiveIndex: 1, positive: 'shuffled p1', negativeIndices: [1, 0, 1], teacherScores: null }] as const;
    assert.deepEqual(maskGroupsOf({ records, groups } as never), [{ positives: ['p0', 'p1'], passages: ['p1', 'n1', 'n0', 'n1'] }]);
  });
});

/** The rule as its sentences say it, over explicit positions (no interning, no sets). */
const modelRows = (ranks: ReadonlyArray<ReadonlyArray<MaskGroup>>, rank: number): boolean[][] => {
  const columns = ranks.flatMap((groups, r) => groups.flatMap((group, q) => group.passages.map((text, k) => ({ text, r, q, k }))));
  return ranks[rank]!.map((group, i) =>
    columns.map((col) => {
      const own = col.r === rank && col.q === i;
      if (own && col.k === 0) return false;
      if (group.positives.includes(col.text)) return true;
      return !own && group.passages.includes(col.text);
    }),
  );
};

/** Steps of 1–3 ranks with 1–3 queries each, texts from a small alphabet (so duplicates are common). */
const step = fc.integer({ min: 1, max: 3 }).chain((groupSize) =>
  fc.array(
    fc.array(
      fc.record({
        positives: fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 3 }),
        negatives: fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { minLength: groupSize - 1, maxLength: groupSize - 1 }),
        drawn: fc.nat(),
      }).map(({ positives, negatives, drawn }): MaskGroup => ({ positives, passages: [positives[drawn % positives.length]!, ...negatives] })),
      { minLength: 1, maxLength: 3 },
    ),
    { minLength: 1, maxLength: 3 },
  ),
);

describe(`falseNegativeRows against the model (FC_SEED=${FC_SEED})`, () => {
  it('every rank’s rows equal the model’s, on steps full of duplicates', () => {
    fc.assert(
      fc.property(step, (ranks) => ranks.every((_, rank) => JSON.stringify(falseNegativeRows(ranks, rank)) === JSON.stringify(modelRows(ranks, rank)))),
      fcParams({ numRuns: 500 }),
    );
  });

  it('a local mask (one rank given) equals the global mask’s own block', () => {
    fc.assert(
      fc.property(step, fc.nat(), (ranks, r) => {
        const rank = r % ranks.length;
        const before = ranks.slice(0, rank).reduce((n, gs) => n + gs.reduce((m, x) => m + x.passages.length, 0), 0);
        const width = ranks[rank]!.reduce((m, x) => m + x.passages.length, 0);
        const local = falseNegativeRows([ranks[rank]!], 0);
        const global = falseNegativeRows(ranks, rank);
        return JSON.stringify(local) === JSON.stringify(global.map((row) => row.slice(before, before + width)));
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it('meta: a rule without its second sentence (copies of the group’s negatives) fails the model comparison', () => {
    const withoutRule2 = (ranks: ReadonlyArray<ReadonlyArray<MaskGroup>>, rank: number) =>
      falseNegativeRows(
        ranks.map((gs) => gs.map((x) => ({ positives: x.positives, passages: x.passages }))),
        rank,
      ).map((row, i) => {
        const positives = ranks[rank]![i]!.positives;
        const texts = ranks.flatMap((gs) => gs.flatMap((x) => x.passages));
        return row.map((m, j) => m && positives.includes(texts[j]!));
      });
    const result = fc.check(
      fc.property(step, (ranks) => ranks.every((_, rank) => JSON.stringify(withoutRule2(ranks, rank)) === JSON.stringify(modelRows(ranks, rank)))),
      fcParams({ numRuns: 500 }),
    );
    assert.ok(result.failed);
  });
});

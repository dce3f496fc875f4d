/**
 * The false-negative rule as a pure function: which passages of a step must not count as negatives
 * for which query.
 *
 * @module
 */
import type { SampledBatch } from '../core/model.js';

/**
 * What the rule needs of one query: its record's positives and the source texts of its group's
 * passages (its positive slot first, then its negatives, in passage order).
 *
 * @category models
 */
export interface MaskGroup {
  readonly positives: ReadonlyArray<string>;
  readonly passages: ReadonlyArray<string>;
}

/**
 * The {@link MaskGroup}s of a sampled batch, in query order: a positive slot's source text is the
 * `pos` entry drawn for it (before the chunk shuffle), a negative's the `neg` entry drawn for it.
 *
 * @example
 * maskGroupsOf(sampled)[0]; // { positives: record 0's pos, passages: [its drawn pos, its drawn negs…] }
 *
 * @category plan
 */
export const maskGroupsOf = (batch: Pick<SampledBatch, 'records' | 'groups'>): ReadonlyArray<MaskGroup> =>
  batch.records.map(({ value }, i) => {
    const group = batch.groups[i]!;
    return { positives: value.pos, passages: [value.pos[group.positiveIndex]!, ...group.negativeIndices.map((n) => value.neg[n]!)] };
  });

/**
 * The false-negative mask of one rank's queries: for each query of `ranks[rank]`, a boolean row over
 * every passage of `ranks` (rank 0's groups, then rank 1's, …; pass one rank for a local mask).
 *
 * **The rule.** A passage's *source text* is the string its record holds for it: the drawn `pos`
 * entry of a positive slot, the drawn `neg` entry of a negative, taken before the chunk shuffle
 * (`shuffle_ratio`), instructions, in-context examples, truncation and the tokenizer's round trip.
 * Texts compare as exact strings (no Unicode normalization, no trimming, case-sensitive). Passage j
 * is marked (true) for query i when j is not i's own positive slot and
 * 1. j's source text is one of the positives of i's record (wherever j is, i's own negatives
 *    included), or
 * 2. j lies outside i's group and its source text is that of a passage in i's group (a second copy
 *    of a passage i already scores: its positive or one of its negatives).
 *
 * Nothing else is marked. Hence, as decided edge cases: i's own positive slot is never marked; a
 * negative repeated inside i's own group (the reference tiles a short `neg` list to fill the
 * group) is not marked, since rule 2 only reaches outside the group (the group stays the
 * reference's); passages with the same source text are the same passage even when formatted or
 * chunk-shuffled differently, and passages with different source texts are different even when
 * formatting, truncation or decoding make them identical; two records with the same query are not
 * linked unless their passages are.
 *
 * **Gotchas**: groups may differ in size (a `symmetric_class` slice's group size follows its first
 * record); columns follow the groups as they are.
 *
 * @example
 * falseNegativeRows([[{ positives: ['a'], passages: ['a', 'x'] }, { positives: ['b'], passages: ['b', 'a'] }]], 0);
 * // [[false, false, false, true], [true, false, false, false]]: query 0's positive 'a' is also query 1's
 * // negative: for query 0 a false negative (rule 1), for query 1 a second copy of its own negative (rule 2)
 *
 * @category plan
 */
export const falseNegativeRows = (ranks: ReadonlyArray<ReadonlyArray<MaskGroup>>, rank: number): boolean[][] => {
  // Texts become small integers once per step, so that the rows compare numbers.
  const ids = new Map<string, number>();
  const idOf = (text: string): number => {
    let id = ids.get(text);
    if (id === undefined) {
      id = ids.size;
      ids.set(text, id);
    }
    return id;
  };
  const columns: number[] = [];
  const starts: number[][] = [];
  for (const groups of ranks) {
    starts.push(
      groups.map((g) => {
        const start = columns.length;
        for (const text of g.passages) columns.push(idOf(text));
        return start;
      }),
    );
  }
  const own = ranks[rank] ?? [];
  return own.map((group, i) => {
    const start = starts[rank]![i]!;
    const end = start + group.passages.length;
    const positives = new Set(group.positives.map(idOf));
    const inGroup = new Set(columns.slice(start, end));
    return columns.map((id, j) => j !== start && (positives.has(id) || ((j < start || j >= end) && inGroup.has(id))));
  });
};

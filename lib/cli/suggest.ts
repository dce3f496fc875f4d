/**
 * "Did you mean": the closest of some candidates to a misspelled word.
 *
 * @module
 */

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a substring). */
const editDistance = (a: string, b: string): number => {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
};

/**
 * The candidate closest to `word`, if it is close enough to be what was meant: at most a third of
 * the candidate's length away (at least 1 edit, at most 4), or `word` with `-` for `_` (or the
 * other way round). Ties go to the first candidate.
 *
 * @example
 * suggest('qurey_max_len', ['query_max_len', 'passage_max_len']); // 'query_max_len'
 * suggest('zzz', ['dump', 'plan']); // undefined
 */
export const suggest = (word: string, candidates: Iterable<string>): string | undefined => {
  let best: string | undefined;
  let bestDistance = Infinity;
  const plain = word.replaceAll('-', '_').toLowerCase();
  for (const candidate of candidates) {
    if (candidate.replaceAll('-', '_').toLowerCase() === plain) return candidate;
    const distance = editDistance(word, candidate);
    const limit = Math.min(4, Math.max(1, Math.floor(candidate.length / 3)));
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
};

/** `" (did you mean X?)"`, or nothing. */
export const didYouMean = (word: string, candidates: Iterable<string>, prefix = ''): string => {
  const found = suggest(word, candidates);
  return found === undefined ? '' : ` (did you mean ${prefix}${found}?)`;
};

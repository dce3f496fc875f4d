/** Reading goldens and describing the first difference between two steps. */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { dumpLines } from '../helpers/run.js';

export type Step = Record<string, unknown>;

/** The steps of a gzipped JSON Lines golden. */
export const readGolden = (file: string): Step[] => dumpLines(gunzipSync(readFileSync(file)).toString('utf8')) as Step[];

/** The first difference between two steps, described for a human, or null. */
export const firstDifference = (expected: Step, actual: Step): string | null => {
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    if (isDeepStrictEqual(expected[key], actual[key])) continue;
    const e = expected[key];
    const a = actual[key];
    if (Array.isArray(e) && Array.isArray(a)) {
      const i = e.findIndex((x, j) => !isDeepStrictEqual(x, a[j]));
      const at = i < 0 ? e.length : i;
      return `${key}[${at}]: expected ${JSON.stringify(e[at])?.slice(0, 400)}, got ${JSON.stringify(a[at])?.slice(0, 400)} (lengths ${e.length}/${a.length})`;
    }
    return `${key}: expected ${JSON.stringify(e)?.slice(0, 400)}, got ${JSON.stringify(a)?.slice(0, 400)}`;
  }
  return null;
};


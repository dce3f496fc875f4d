/**
 * Decoding one row of a Hugging Face dataset into an {@link Example} as the research module
 * (research/llm_dense_retriever/finetune/data.py) reads it, collecting every field problem of the
 * row at once, each located by file, line (or row) and field.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { Issue } from '../core/errors.js';
import type { Example, Provenance } from '../core/model.js';

type Issues = RNEA.ReadonlyNonEmptyArray<Issue>;

const describe = (u: unknown): string =>
  u === null || u === undefined ? 'null' : Array.isArray(u) ? 'a list' : typeof u === 'object' ? 'an object' : `${typeof u} ${JSON.stringify(typeof u === 'bigint' ? String(u) : u)}`;

const toNumber = (u: unknown): number | null | undefined =>
  u === null || u === undefined ? null : typeof u === 'number' && Number.isFinite(u) ? u : typeof u === 'bigint' ? Number(u) : undefined;

/**
 * Decodes one row (a JSON object, or a Parquet/Arrow row as plain values) for the research flavor.
 *
 * **Details**: what the research module needs of a row, and where it would crash or garble the text:
 * - `query`, `prompt`, `type`: strings (a null `prompt` or `query` would be formatted as the text
 *   `"None"`; a null `type` crashes `'symmetric' in type`);
 * - `pos`: a non-empty list of strings (`random.choice` of an empty list crashes); `neg`: a list of
 *   strings (may be empty);
 * - `category`: a string when `type` contains `clustering` (its in-context examples answer with it);
 * - `pos_scores` / `neg_scores`: null, or lists of numbers and nulls at least as long as `pos` /
 *   `neg` (the module indexes them by the sampled positions: a shorter `pos_scores` raises
 *   IndexError, a shorter `neg_scores` makes it print and `sys.exit()`). Their nulls are kept: the
 *   module skips them.
 * Other columns are ignored, as the module ignores them.
 *
 * @example
 * decodeResearchRow({ query: 'q', pos: ['p'], neg: [], prompt: 'Retrieve.', type: 'normal' }, { file: 'train.jsonl', line: 1, record: 0 });
 *
 * @category constructors
 */
export const decodeResearchRow = (row: unknown, at: Provenance): E.Either<RNEA.ReadonlyNonEmptyArray<Issue>, Example> => {
  const issues: Issue[] = [];
  const issue = (field: string | undefined, message: string) =>
    issues.push(field === undefined ? { file: at.file, line: at.line, message } : { file: at.file, line: at.line, field, message });
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    issue(undefined, `expected an object (a row), got ${describe(row)}`);
    return E.left(issues as unknown as Issues);
  }
  const r = row as Readonly<Record<string, unknown>>;
  const text = (key: string, why: string): string | undefined => {
    const v = r[key];
    if (typeof v === 'string') return v;
    issue(key, v === null || v === undefined ? `is missing or null; ${why}` : `expected a string, got ${describe(v)}`);
    return undefined;
  };
  const texts = (key: string, nonEmpty: boolean): string[] | undefined => {
    const v = r[key];
    if (!Array.isArray(v)) {
      issue(key, v === null || v === undefined ? 'is missing or null; the research module takes its length (len(None) raises)' : `expected a list of strings, got ${describe(v)}`);
      return undefined;
    }
    const bad = v.findIndex((x) => typeof x !== 'string');
    if (bad >= 0) {
      issue(`${key}.${bad}`, `expected a string, got ${describe(v[bad])}`);
      return undefined;
    }
    if (nonEmpty && v.length === 0) {
      issue(key, 'is empty; every record needs at least one positive (random.choice of an empty list raises)');
      return undefined;
    }
    return v as string[];
  };
  const query = text('query', 'the research module would put the text "None" in the query');
  const pos = texts('pos', true);
  const neg = texts('neg', false);
  const prompt = text('prompt', 'get_query_prompt would put the text "None" in the instruction');
  const type = text('type', "the research module tests 'symmetric' in type, which raises on null");
  const category = type !== undefined && type.includes('clustering') ? text('category', 'clustering examples answer with the category (the tokenizer raises on None)') : undefined;
  const scores = (key: 'pos_scores' | 'neg_scores', of: string[] | undefined): ReadonlyArray<number | null> | undefined => {
    const v = r[key];
    if (v === null || v === undefined) return undefined;
    if (!Array.isArray(v)) {
      issue(key, `expected a list of numbers, got ${describe(v)}`);
      return undefined;
    }
    const numbers = v.map(toNumber);
    const bad = numbers.findIndex((x) => x === undefined);
    if (bad >= 0) {
      issue(`${key}.${bad}`, `expected a number, got ${describe(v[bad])}`);
      return undefined;
    }
    if (of !== undefined && numbers.length < of.length) {
      const passages = key === 'pos_scores' ? 'pos' : 'neg';
      issue(
        key,
        `has ${numbers.length} scores for ${of.length} ${passages} passages; the research module indexes it by the sampled ${passages} position (${key === 'pos_scores' ? 'IndexError' : 'it prints and calls sys.exit()'})`,
      );
      return undefined;
    }
    return numbers as ReadonlyArray<number | null>;
  };
  const posScores = scores('pos_scores', pos);
  const negScores = scores('neg_scores', neg);
  if (issues.length > 0) return E.left(issues as unknown as Issues);
  const example: Example = {
    query: query!,
    pos: pos! as unknown as RNEA.ReadonlyNonEmptyArray<string>,
    neg: neg!,
    prompt: prompt!,
    type: type!,
    ...(category === undefined ? {} : { category }),
    ...(posScores === undefined ? {} : { posScores }),
    ...(negScores === undefined ? {} : { negScores }),
  };
  return E.right(example);
};

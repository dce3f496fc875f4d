/**
 * Decoding one JSON value into an {@link Example}, collecting every field problem of the record at
 * once (fp-ts Validation), each located by file, line and field.
 *
 * @module
 */
import { apS } from 'fp-ts/lib/Apply.js';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as RA from 'fp-ts/lib/ReadonlyArray.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { Issue } from '../core/errors.js';
import { loneSurrogateAt, MAX_PASSAGES_PER_STEP } from '../core/limits.js';
import type { Example, Provenance } from '../core/model.js';

/**
 * What a record decoder needs to know besides the value.
 *
 * @category constructors
 */
export interface DecodeExampleOptions {
  /**
   * Read and check `pos_scores` / `neg_scores` (the reference's `knowledge_distillation`). When
   * false the reference drops those columns, and so do we: they are neither read nor checked.
   * Default: false.
   */
  readonly knowledgeDistillation?: boolean;
}

type Issues = RNEA.ReadonlyNonEmptyArray<Issue>;

/**
 * A decoded value, or every issue found on the way (fp-ts `Either`: `left` holds the issues).
 *
 * @category models
 */
export type Decoded<A> = E.Either<RNEA.ReadonlyNonEmptyArray<Issue>, A>;

const V = E.getApplicativeValidation(RNEA.getSemigroup<Issue>());
const field = apS(V);

const describe = (u: unknown): string =>
  u === null ? 'null' : Array.isArray(u) ? 'an array' : typeof u === 'object' ? 'an object' : `${typeof u} ${JSON.stringify(u)}`;

/**
 * Decodes one record. JSON `null` counts as absent, as it does in the reference's Arrow columns.
 *
 * **Details**: required: `query` (string), `pos` (non-empty list of strings), `neg` (list of strings).
 * Optional: `prompt`, `type`, `category` (strings), `train_group_size`, `batch_size` (positive
 * integers up to `MAX_PASSAGES_PER_STEP`), and with knowledge distillation `pos_scores` / `neg_scores` (lists of numbers exactly as
 * long as `pos` / `neg`, both or neither). Unknown keys are ignored, as the reference ignores them.
 * Every string must be Unicode text (no lone surrogate escape).
 *
 * @example
 * decodeExample({ query: 'q', pos: ['p'], neg: [] }, { file: 'a.jsonl', line: 1, record: 0 });
 * // right({ query: 'q', pos: ['p'], neg: [] })
 * decodeExample({ query: 1, pos: [] }, at);
 * // left([{ field: 'query', … }, { field: 'pos', … }, { field: 'neg', … }])
 *
 * @category constructors
 */
export const decodeExample = (
  u: unknown,
  at: Provenance,
  options: DecodeExampleOptions = {},
): Decoded<Example> => {
  const issue = (fieldName: string | undefined, message: string): Issues =>
    RNEA.of(fieldName === undefined ? { file: at.file, line: at.line, message } : { file: at.file, line: at.line, field: fieldName, message });
  if (typeof u !== 'object' || u === null || Array.isArray(u)) {
    return E.left(issue(undefined, `expected a JSON object (a record), got ${describe(u)}`));
  }
  const record = u as Readonly<Record<string, unknown>>;
  const present = (key: string): boolean => record[key] !== undefined && record[key] !== null;

  /** A string must be Unicode text: JSON can spell a lone surrogate (`"\ud800"`), which is not. */
  const text = (fieldName: string, s: string): Decoded<string> => {
    const at = loneSurrogateAt(s);
    return at < 0
      ? E.right(s)
      : E.left(
          issue(
            fieldName,
            `has a lone surrogate (\\u${s.charCodeAt(at).toString(16)} at character ${at}), which is not Unicode text: it has no UTF-8 form, and the reference's tokenizer fails on it ("surrogates not allowed")`,
          ),
        );
  };

  const string = (key: string): Decoded<string> =>
    typeof record[key] === 'string'
      ? text(key, record[key] as string)
      : E.left(issue(key, present(key) ? `expected a string, got ${describe(record[key])}` : 'required field is missing'));

  const optionalString = (key: string): Decoded<string | undefined> =>
    present(key) ? string(key) : E.right(undefined);

  const strings = (key: string): Decoded<ReadonlyArray<string>> => {
    const value = record[key];
    if (!Array.isArray(value)) {
      return E.left(issue(key, present(key) ? `expected a list of strings, got ${describe(value)}` : 'required field is missing'));
    }
    const bad = value.findIndex((x) => typeof x !== 'string');
    if (bad >= 0) return E.left(issue(`${key}.${bad}`, `expected a string, got ${describe(value[bad])}`));
    for (const [i, x] of (value as string[]).entries()) {
      const checked = text(`${key}.${i}`, x);
      if (E.isLeft(checked)) return checked;
    }
    return E.right(value as string[]);
  };

  const positiveInteger = (key: string): Decoded<number | undefined> => {
    if (!present(key)) return E.right(undefined);
    const value = record[key];
    if (!(typeof value === 'number' && Number.isInteger(value) && value > 0)) return E.left(issue(key, `expected a positive integer, got ${describe(value)}`));
    if (value > MAX_PASSAGES_PER_STEP) {
      return E.left(
        issue(key, `is ${value}, out of range: at most ${MAX_PASSAGES_PER_STEP} (2^18), the passages a rank may build per step (batch size × group size)`),
      );
    }
    return E.right(value);
  };

  const scores = (key: string, length: number | undefined): Decoded<ReadonlyArray<number> | undefined> => {
    if (!options.knowledgeDistillation || !present(key)) return E.right(undefined);
    const value = record[key];
    if (!Array.isArray(value)) return E.left(issue(key, `expected a list of numbers, got ${describe(value)}`));
    const bad = value.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (bad >= 0) return E.left(issue(`${key}.${bad}`, `expected a finite number, got ${describe(value[bad])}`));
    if (length !== undefined && value.length !== length) {
      const of = key === 'pos_scores' ? 'pos' : 'neg';
      return E.left(issue(key, `has ${value.length} scores for ${length} ${of} passages; they must be equally long`));
    }
    return E.right(value as number[]);
  };

  const pos: Decoded<RNEA.ReadonlyNonEmptyArray<string>> = pipe(
    strings('pos'),
    E.chain((xs) => (RA.isNonEmpty(xs) ? E.right(xs) : E.left(issue('pos', 'is empty; every record needs at least one positive')))),
  );
  const lengthOf = (key: string): number | undefined => (Array.isArray(record[key]) ? (record[key] as unknown[]).length : undefined);

  const scoresPaired: Decoded<null> =
    options.knowledgeDistillation && present('pos_scores') !== present('neg_scores')
      ? E.left(
          issue(
            present('pos_scores') ? 'neg_scores' : 'pos_scores',
            'is missing while its counterpart is present; with knowledge distillation a record has both or neither',
          ),
        )
      : E.right(null);

  return pipe(
    E.right({}),
    field('query', string('query')),
    field('pos', pos),
    field('neg', strings('neg')),
    field('posScores', scores('pos_scores', lengthOf('pos'))),
    field('negScores', scores('neg_scores', lengthOf('neg'))),
    field('prompt', optionalString('prompt')),
    field('type', optionalString('type')),
    field('category', optionalString('category')),
    field('trainGroupSize', positiveInteger('train_group_size')),
    field('batchSize', positiveInteger('batch_size')),
    field('paired', scoresPaired),
    E.map(({ paired: _paired, ...example }) => dropUndefined(example)),
  );
};

/** Keeps optional fields absent rather than `undefined`, so records compare and print cleanly. */
const dropUndefined = <A extends object>(a: A): A =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as A;

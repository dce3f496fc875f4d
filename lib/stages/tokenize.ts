import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError } from '../core/errors.js';
import type { TextBatch, TokenizedBatch } from '../core/model.js';
import { mapConcurrent, type Step } from '../core/mapConcurrent.js';
import type { Op } from '../core/operator.js';
import type { TokenizerPort } from '../tokenizers/port.js';

/**
 * Options of {@link tokenize}, with the reference's argument names.
 *
 * @category stages
 */
export interface TokenizeOptions {
  readonly tokenizer: TokenizerPort;
  /** `query_max_len`: tokens per query, special tokens included. Default: 32. */
  readonly queryMaxLen?: number;
  /** `passage_max_len`: tokens per passage, special tokens included. Default: 128. */
  readonly passageMaxLen?: number;
}

/** @internal */
export const validateTokenizeOptions = (options: TokenizeOptions) => {
  const { tokenizer } = options;
  if (tokenizer === undefined) throw new ConfigError('tokenizer', 'is required');
  const special = tokenizer.specialTokens.prefix.length + tokenizer.specialTokens.suffix.length;
  const budget = (option: string, value: number): number => {
    if (!Number.isSafeInteger(value) || value < special) {
      throw new ConfigError(option, `must be an integer ≥ ${special} (the special tokens of ${tokenizer.name}), got ${value}`);
    }
    return value;
  };
  return {
    tokenizer,
    queryMaxLen: budget('query_max_len', options.queryMaxLen ?? 32),
    passageMaxLen: budget('passage_max_len', options.passageMaxLen ?? 128),
  };
};

/**
 * Ids with special tokens, truncated the way Python `tokenizer(text, truncation=True, max_length=n)`
 * truncates a single sequence: the content is cut to `n − len(prefix) − len(suffix)` tokens and the
 * special tokens are kept (transformers.js would cut them off instead).
 *
 * @example
 * withSpecialTokens([5, 6, 7, 8], { prefix: [1], suffix: [2] }, 4); // [1, 5, 6, 2]
 *
 * @category plan
 */
export const withSpecialTokens = (
  content: ReadonlyArray<number>,
  special: TokenizerPort['specialTokens'],
  maxLength: number,
): ReadonlyArray<number> => {
  const kept = Math.max(0, Math.min(content.length, maxLength - special.prefix.length - special.suffix.length));
  const ids = new Array<number>(special.prefix.length + kept + special.suffix.length);
  let k = 0;
  for (const id of special.prefix) ids[k++] = id;
  for (let i = 0; i < kept; i++) ids[k++] = content[i]!;
  for (const id of special.suffix) ids[k++] = id;
  return ids;
};

/**
 * Tokenizes queries and passages as the reference's collator does: special tokens added, truncated
 * to `query_max_len` / `passage_max_len` with Python semantics (see {@link withSpecialTokens}).
 *
 * @example
 * texts.pipe(tokenize({ tokenizer, queryMaxLen: 2048, passageMaxLen: 512 }));
 *
 * @category stages
 */
export const tokenize = (options: TokenizeOptions): Op<TextBatch, TokenizedBatch> => {
  const step = tokenizeStep(options);
  return mapConcurrent(1, () => step);
};

/**
 * {@link tokenize} for one batch.
 *
 * @category stages
 */
export const tokenizeStep = (options: TokenizeOptions): Step<TextBatch, TokenizedBatch> => {
  const step = tokenizeCore(options, false);
  return async (batch) => (await step(batch)).batch;
};

/**
 * What {@link tokenizeWithDetail} measured: each text's token count with special tokens, before the
 * cut to `query_max_len` / `passage_max_len`.
 *
 * @category models
 */
export interface TokenizeDetail {
  readonly queryTokens: ReadonlyArray<number>;
  readonly passageTokens: ReadonlyArray<number>;
}

/**
 * {@link tokenize} for one batch, with the token counts before the cut (for data reports).
 *
 * @category stages
 */
export const tokenizeWithDetail = (options: TokenizeOptions): Step<TextBatch, { batch: TokenizedBatch; detail: TokenizeDetail }> => tokenizeCore(options, true);

/** The step; `detailed` encodes whole texts (their lengths are the detail), else only what the budgets keep. */
const tokenizeCore = (options: TokenizeOptions, detailed: boolean): Step<TextBatch, { batch: TokenizedBatch; detail: TokenizeDetail }> => {
  const { tokenizer, queryMaxLen, passageMaxLen } = validateTokenizeOptions(options);
  const special = tokenizer.specialTokens.prefix.length + tokenizer.specialTokens.suffix.length;
  const cut = (ids: ReadonlyArray<ReadonlyArray<number>>, maxLength: number) =>
    ids.map((row) => withSpecialTokens(row, tokenizer.specialTokens, maxLength)) as unknown as ReadonlyNonEmptyArray<ReadonlyArray<number>>;
  // Content tokens the budgets keep (withSpecialTokens keeps at most these of each row).
  const kept = [queryMaxLen - special, passageMaxLen - special];
  return async (batch) => {
    const texts = [...batch.queries, ...batch.passages];
    // One call for both: a native backend then encodes them together on its threads.
    const ids =
      !detailed && tokenizer.encodePrefixBatch !== undefined
        ? await tokenizer.encodePrefixBatch(texts, texts.map((_, i) => kept[i < batch.queries.length ? 0 : 1]!))
        : await tokenizer.encodeBatch(texts);
    const queries = ids.slice(0, batch.queries.length);
    const passages = ids.slice(batch.queries.length);
    return {
      batch: { ...batch, queryIds: cut(queries, queryMaxLen), passageIds: cut(passages, passageMaxLen) },
      detail: { queryTokens: queries.map((row) => row.length + special), passageTokens: passages.map((row) => row.length + special) },
    };
  };
};

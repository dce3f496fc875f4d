/**
 * The small interface every stage that needs a tokenizer depends on. Stages never see
 * transformers.js (or any other backend) directly.
 *
 * @module
 */

/**
 * What a tokenizer must offer to reproduce FlagEmbedding's texts and ids, with Python
 * `transformers` semantics.
 *
 * **Details**: the port is batch-first and async so that backends with native, batched calls fit.
 * `encodeBatch` never adds special tokens and never truncates: callers truncate content ids and add
 * {@link TokenizerPort.specialTokens} themselves, which is exactly what Python does with
 * `truncation=True` (content is cut to `max_length - len(prefix) - len(suffix)`, then BOS/EOS are
 * added, so they are never cut off).
 *
 * **Gotchas**: `decodeBatch` must behave as Python `tokenizer.decode(ids)` does (special tokens kept,
 * `clean_up_tokenization_spaces` from the tokenizer config, `decode([]) === ''`, and an invalid UTF-8
 * byte run turned into one U+FFFD per byte, as HF's Rust decoder does).
 *
 * @category tokenizers
 */
export interface TokenizerPort {
  /** A short human name (the folder it was loaded from). */
  readonly name: string;
  /** Ids of each text, without special tokens and without truncation (`add_special_tokens=False`). */
  encodeBatch(texts: ReadonlyArray<string>): Promise<ReadonlyArray<ReadonlyArray<number>>>;
  /**
   * How many ids `encodeBatch` would give each text, when the backend can tell without building them
   * (optional; callers fall back to `encodeBatch`).
   */
  countBatch?(texts: ReadonlyArray<string>): Promise<ReadonlyArray<number>>;
  /**
   * The first `limits[i]` ids of each text: exactly `encodeBatch(texts)[i].slice(0, limits[i])`,
   * computed from as little of each text as that takes, so that a text's cost in memory and time
   * follows its token budget, not its length (optional; callers fall back to `encodeBatch`).
   */
  encodePrefixBatch?(texts: ReadonlyArray<string>, limits: ReadonlyArray<number>): Promise<ReadonlyArray<ReadonlyArray<number>>>;
  /** Texts of each id list, as Python `tokenizer.decode(ids)` gives them. */
  decodeBatch(ids: ReadonlyArray<ReadonlyArray<number>>): Promise<ReadonlyArray<string>>;
  /** The ids `add_special_tokens=True` puts before and after a single sequence's content. */
  readonly specialTokens: { readonly prefix: ReadonlyArray<number>; readonly suffix: ReadonlyArray<number> };
  /** The BOS token's text (`tokenizer.bos_token`), or null when the tokenizer has none. */
  readonly bosToken: string | null;
  /** The EOS token's text (`tokenizer.eos_token`), or null when the tokenizer has none. */
  readonly eosToken: string | null;
  /** The id padding uses (pad token, else unk, else eos, as FlagEmbedding's ICL runner sets it). */
  readonly padTokenId: number;
  /** Which side padding goes on. FlagEmbedding's decoder-only runner uses `'left'`. */
  readonly paddingSide: 'left' | 'right';
  /**
   * A digest of everything that determines ids and texts (vocabulary, normalizer, added tokens,
   * special-token settings), so that a saved state can refuse a different tokenizer.
   */
  readonly fingerprint: string;
  /** How to build this tokenizer again, elsewhere (worker threads do). Absent: it cannot be rebuilt. */
  readonly recipe?: TokenizerRecipe;
}

/**
 * A serializable description of a tokenizer: a folder and its options, or parsed files.
 *
 * @category tokenizers
 */
export type TokenizerRecipe =
  | { readonly kind: 'folder'; readonly dir: string; readonly options: Readonly<Record<string, unknown>> }
  | { readonly kind: 'files'; readonly files: unknown; readonly options: Readonly<Record<string, unknown>>; readonly name: string };

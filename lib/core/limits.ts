/**
 * Caps on sizes that would otherwise let one absurd value take the machine down, and text checks
 * shared by the record decoder and the stages.
 *
 * @module
 */

/**
 * Passages one rank builds per step (`per_device_train_batch_size × train_group_size`, also with
 * per-file `batch_size` and per-record `train_group_size`): 2^18 = 262,144.
 *
 * **Why**: every passage of a step is formatted, tokenized and padded, so a step costs memory in
 * proportion: 262,144 passages of 512 tokens are 134 million ids (about 1 GB as the padded
 * tensors' arrays). Real runs use tens to a few thousand (bge-en-icl: 16 × 8 = 128). A larger value
 * is a typo (`train_group_size` 20,000,000 used to be accepted and exhaust memory), or a value past
 * 2^31 that an index column would wrap.
 *
 * @category models
 */
export const MAX_PASSAGES_PER_STEP = 2 ** 18;

/**
 * Worker threads (`workers`): 32.
 *
 * **Why**: each worker loads its own tokenizer and caches (about 60–90 MB each), and threads beyond
 * the machine's cores only take turns; 32 workers are already about 2–3 GB.
 *
 * @category models
 */
export const MAX_WORKERS = 32;

/**
 * Batches read ahead (`prefetch`) or built at once in one thread (`concurrency`): 64 each.
 *
 * **Why**: each batch in flight holds its records, texts and tensors (megabytes with long
 * budgets); more than a few never speeds a run up.
 *
 * @category models
 */
export const MAX_IN_FLIGHT = 64;

/**
 * `pad_to_multiple_of`: 65,536 (2^16).
 *
 * **Why**: every padded row is at least this long, so each row of a step would cost this many ids
 * and mask entries however short its text (`pad_to_multiple_of` 2^50 used to crash, 10^8 to hang);
 * real runs use 8 to 128.
 *
 * @category models
 */
export const MAX_PAD_MULTIPLE = 2 ** 16;

/**
 * The index (UTF-16 unit) of the first lone surrogate in `text`, or -1: a `\ud800`-style escape
 * in JSON that pairs with nothing. It is not Unicode text: it has no UTF-8 form, and Python's
 * tokenizers refuse it (`surrogates not allowed`).
 */
export const loneSurrogateAt = (text: string): number => {
  // Node 20's String.prototype.isWellFormed answers the common case without a loop in JS.
  if ((text as { isWellFormed?: () => boolean }).isWellFormed?.() ?? false) return -1;
  const match = /[\uD800-\uDFFF]/u.exec(text); // with the u flag a surrogate pair is one code point and does not match
  return match === null ? -1 : match.index;
};

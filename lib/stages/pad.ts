import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError } from '../core/errors.js';
import { MAX_PAD_MULTIPLE } from '../core/limits.js';
import type { PaddedBatch, PaddedTensor, TokenizedBatch } from '../core/model.js';
import { mapConcurrent, type Step } from '../core/mapConcurrent.js';
import type { Op } from '../core/operator.js';

/**
 * Options of {@link pad}.
 *
 * @category stages
 */
export interface PadOptions {
  /** The id padding uses (`TokenizerPort.padTokenId`). Required. */
  readonly padTokenId: number;
  /** Which side padding goes on. FlagEmbedding's decoder-only runner pads on the left. Default: `'left'`. */
  readonly paddingSide?: 'left' | 'right';
  /** `pad_to_multiple_of`: round the padded length up to a multiple of this. Default: none. */
  readonly padToMultipleOf?: number | null;
  /** `sub_batch_size`: pad chunks of this many rows separately, as the reference's sub-batch collation. Default: none. */
  readonly subBatchSize?: number | null;
}

/** @internal */
export const validatePadOptions = (options: PadOptions) => {
  if (!Number.isSafeInteger(options.padTokenId) || options.padTokenId < 0) {
    throw new ConfigError('pad_token_id', `must be a non-negative integer, got ${options.padTokenId}`);
  }
  const paddingSide = options.paddingSide ?? 'left';
  if (paddingSide !== 'left' && paddingSide !== 'right') throw new ConfigError('padding_side', `must be 'left' or 'right', got ${String(paddingSide)}`);
  const multipleOf = options.padToMultipleOf ?? null;
  if (multipleOf !== null && (!Number.isSafeInteger(multipleOf) || multipleOf < 1)) {
    throw new ConfigError('pad_to_multiple_of', `must be a positive integer, got ${multipleOf}`);
  }
  if (multipleOf !== null && multipleOf > MAX_PAD_MULTIPLE) {
    throw new ConfigError('pad_to_multiple_of', `is ${multipleOf}, more than ${MAX_PAD_MULTIPLE} (2^16): every padded row would be at least that long, however short its text`);
  }
  // The reference treats sub_batch_size ≤ 0 (and None) as "no sub-batches".
  const sub = options.subBatchSize ?? null;
  if (sub !== null && !Number.isSafeInteger(sub)) throw new ConfigError('sub_batch_size', `must be an integer, got ${sub}`);
  return { padTokenId: options.padTokenId, paddingSide, multipleOf, subBatchSize: sub !== null && sub > 0 ? sub : null };
};

/**
 * Pads rows to the longest, rounded up to a multiple of `multipleOf`, as `tokenizer.pad(padding=True,
 * pad_to_multiple_of=…)` does. Every row of the result has the same length; the mask is 1 on tokens
 * and 0 on padding, so a row's mask sums to its unpadded length.
 *
 * @example
 * padRows([[1, 5, 2], [1, 2]], { padTokenId: 0, paddingSide: 'left', multipleOf: 4 });
 * // { inputIds: [[0, 1, 5, 2], [0, 0, 1, 2]], attentionMask: [[0, 1, 1, 1], [0, 0, 1, 1]] }
 *
 * @category plan
 */
export const padRows = (
  rows: ReadonlyArray<ReadonlyArray<number>>,
  options: { readonly padTokenId: number; readonly paddingSide: 'left' | 'right'; readonly multipleOf: number | null },
): PaddedTensor => {
  let width = rows.reduce((m, r) => Math.max(m, r.length), 0);
  if (options.multipleOf !== null && width % options.multipleOf !== 0) width = (Math.floor(width / options.multipleOf) + 1) * options.multipleOf;
  // Plain loops into arrays of their final size: spreading long rows costs a measurable share of a batch.
  const left = options.paddingSide === 'left';
  const inputIds = rows.map((r) => {
    const row = new Array<number>(width);
    const padding = width - r.length;
    const offset = left ? padding : 0;
    for (let i = 0; i < r.length; i++) row[offset + i] = r[i]!;
    row.fill(options.padTokenId, left ? 0 : r.length, left ? padding : width);
    return row;
  });
  const attentionMask = rows.map((r) => {
    const padding = width - r.length;
    return left ? new Array<number>(width).fill(0, 0, padding).fill(1, padding) : new Array<number>(width).fill(1, 0, r.length).fill(0, r.length);
  });
  return { inputIds, attentionMask };
};

const chunksOf = <A>(xs: ReadonlyArray<A>, n: number): ReadonlyNonEmptyArray<ReadonlyArray<A>> => {
  const out: A[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out as unknown as ReadonlyNonEmptyArray<ReadonlyArray<A>>;
};

/**
 * Pads queries and passages into id matrices with attention masks.
 *
 * **Details**: without `subBatchSize` the result is one tensor each (`padded.kind === 'whole'`);
 * with it, rows are cut into chunks of `subBatchSize` and each chunk is padded to its own longest
 * (`'chunked'`), as the reference's collator does with `sub_batch_size`.
 *
 * @example
 * tokenized.pipe(pad({ padTokenId: 0, padToMultipleOf: 8 }));
 *
 * @category stages
 */
export const pad = (options: PadOptions): Op<TokenizedBatch, PaddedBatch> => {
  const step = padStep(options);
  return mapConcurrent(1, () => step);
};

/**
 * {@link pad} for one batch.
 *
 * @category stages
 */
export const padStep = (options: PadOptions): Step<TokenizedBatch, PaddedBatch> => {
  const { subBatchSize, ...rowOptions } = validatePadOptions(options);
  const padAll = (rows: ReadonlyArray<ReadonlyArray<number>>) => padRows(rows, rowOptions);
  return (batch) => {
    const padded: PaddedBatch['padded'] =
      subBatchSize === null
        ? { kind: 'whole', queries: padAll(batch.queryIds), passages: padAll(batch.passageIds) }
        : {
            kind: 'chunked',
            queries: RNEA.map(padAll)(chunksOf(batch.queryIds, subBatchSize)),
            passages: RNEA.map(padAll)(chunksOf(batch.passageIds, subBatchSize)),
          };
    return { ...batch, padded };
  };
};

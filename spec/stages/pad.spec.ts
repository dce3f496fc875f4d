/**
 * pad / padRows: "padded rows all have the same length, that length is a multiple of
 * pad_to_multiple_of (and the smallest such ≥ the longest row), padding is on the left (right when
 * asked), the mask sum equals the unpadded length, and the unpadded ids are kept in order";
 * sub_batch_size pads each chunk on its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError } from '../../lib/core/errors.js';
import type { PaddedTensor, TokenizedBatch } from '../../lib/core/model.js';
import { pad, padRows, type PadOptions } from '../../lib/stages/pad.js';
import { runnable, tokenizedBatchesOf } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { example, localBatch, task } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type PadRows = typeof padRows;
type RowOptions = Parameters<PadRows>[1];
type Rows = ReadonlyArray<ReadonlyArray<number>>;

const rowOptions = fc.record({
  padTokenId: fc.nat({ max: 3 }),
  paddingSide: fc.constantFrom<'left' | 'right'>('left', 'right'),
  multipleOf: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
});
// Ids may equal the pad id: only the mask tells padding from content.
const rows = fc.array(fc.array(fc.nat({ max: 9 }), { maxLength: 12 }), { maxLength: 6 });

const isPaddingOf = (padded: PaddedTensor, input: Rows, o: RowOptions): boolean => {
  const { inputIds, attentionMask } = padded;
  if (inputIds.length !== input.length || attentionMask.length !== input.length) return false;
  const width = inputIds[0]?.length ?? 0;
  const longest = Math.max(0, ...input.map((r) => r.length));
  const m = o.multipleOf ?? 1;
  const sameLength = inputIds.every((r) => r.length === width) && attentionMask.every((r) => r.length === width);
  const smallestMultiple = input.length === 0 || (width % m === 0 && width >= longest && width - m < longest);
  return (
    sameLength &&
    smallestMultiple &&
    input.every((row, i) => {
      const mask = attentionMask[i]!;
      const ids = inputIds[i]!;
      const padding = width - row.length;
      const expectedMask = o.paddingSide === 'left' ? [...Array(padding).fill(0), ...Array(row.length).fill(1)] : [...Array(row.length).fill(1), ...Array(padding).fill(0)];
      const sum = mask.reduce((a, b) => a + b, 0);
      return (
        isDeepStrictEqual(mask, expectedMask) &&
        sum === row.length &&
        isDeepStrictEqual(ids.filter((_, k) => mask[k] === 1), [...row]) &&
        ids.every((id, k) => mask[k] === 1 || id === o.padTokenId)
      );
    })
  );
};

const padsCorrectly = (f: PadRows) => fc.property(rows, rowOptions, (input, o) => isPaddingOf(f(input, o), input, o));

/** Model of sub-batching: consecutive chunks of `size` rows, each padded on its own. */
const chunked = (input: Rows, size: number, o: RowOptions): PaddedTensor[] => {
  const out: PaddedTensor[] = [];
  for (let i = 0; i < input.length; i += size) out.push(padRows(input.slice(i, i + size), o));
  return out;
};

const tokenized = (queryIds: Rows, passageIds: Rows): TokenizedBatch => {
  const t = task({ name: 'a.jsonl', records: queryIds.map((_, i) => example(i)), batchSize: queryIds.length });
  return {
    ...localBatch(t),
    groupSize: passageIds.length / queryIds.length,
    queries: queryIds.map(() => 'q') as never,
    passages: passageIds.map(() => 'p') as never,
    teacherScores: null,
    noInBatchNeg: false,
    queryIds: queryIds as never,
    passageIds: passageIds as never,
  };
};

describe(`pad (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: fc.tuple(runnable, fc.option(fc.integer({ min: -1, max: 3 }), { nil: null })),
    input: ([r]) => tokenizedBatchesOf(r),
    op: ([r, subBatchSize]) => pad({ padTokenId: r.options.tokenizer.padTokenId, padToMultipleOf: r.options.padToMultipleOf, subBatchSize }),
    numRuns: 8,
  });

  it('padRows: padded rows all have the same length, that length is the smallest multiple of pad_to_multiple_of ≥ the longest row, padding is on the asked side, the mask sum equals the unpadded length, and the unpadded ids are kept in order', () => {
    fc.assert(padsCorrectly(padRows), fcParams({ numRuns: 300 }));
  });

  it('padRows: the doc example, and left is what FlagEmbedding uses', () => {
    assert.deepEqual(padRows([[1, 5, 2], [1, 2]], { padTokenId: 0, paddingSide: 'left', multipleOf: 4 }), {
      inputIds: [[0, 1, 5, 2], [0, 0, 1, 2]],
      attentionMask: [[0, 1, 1, 1], [0, 0, 1, 1]],
    });
    assert.deepEqual(padRows([[7], [7, 7, 7]], { padTokenId: 9, paddingSide: 'right', multipleOf: null }), {
      inputIds: [[7, 9, 9], [7, 7, 7]],
      attentionMask: [[1, 0, 0], [1, 1, 1]],
    });
  });

  it('the stage: without sub_batch_size (or with one ≤ 0) queries and passages are each padded whole, left by default', async () => {
    await fc.assert(
      fc.asyncProperty(rows.filter((r) => r.length > 0), rowOptions, fc.constantFrom(null, undefined, 0, -3), async (queryIds, o, subBatchSize) => {
        const passageIds = [...queryIds, ...queryIds.map((r) => [...r, 1])];
        const options: PadOptions = { padTokenId: o.padTokenId, padToMultipleOf: o.multipleOf, ...(subBatchSize === undefined ? {} : { subBatchSize }) };
        const [out] = await toArray(from([tokenized(queryIds, passageIds)]).pipe(pad(options)));
        const left = { ...o, paddingSide: 'left' as const };
        return isDeepStrictEqual(out!.padded, { kind: 'whole', queries: padRows(queryIds, left), passages: padRows(passageIds, left) });
      }),
      fcParams({ numRuns: 100 }),
    );
  });

  it('the stage: sub_batch_size chunks equal padding each chunk of that many rows on its own', async () => {
    await fc.assert(
      fc.asyncProperty(rows.filter((r) => r.length > 0), rowOptions, fc.integer({ min: 1, max: 7 }), async (queryIds, o, size) => {
        const passageIds = [...queryIds, ...queryIds.map((r) => [2, ...r])];
        const [out] = await toArray(from([tokenized(queryIds, passageIds)]).pipe(pad({ padTokenId: o.padTokenId, paddingSide: o.paddingSide, padToMultipleOf: o.multipleOf, subBatchSize: size })));
        return isDeepStrictEqual(out!.padded, { kind: 'chunked', queries: chunked(queryIds, size, o), passages: chunked(passageIds, size, o) });
      }),
      fcParams({ numRuns: 100 }),
    );
  });

  it('the stage on random corpora: every tensor follows the padding contract, and the tokenized batch is kept', async () => {
    await fc.assert(
      fc.asyncProperty(runnable, fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }), async (r, subBatchSize) => {
        const input = await tokenizedBatchesOf(r);
        const o: RowOptions = { padTokenId: r.options.tokenizer.padTokenId, paddingSide: r.options.tokenizer.paddingSide, multipleOf: r.options.padToMultipleOf };
        const out = await toArray(from(input).pipe(pad({ ...o, padToMultipleOf: o.multipleOf, subBatchSize })));
        return input.every((b, i) => {
          const { padded, ...rest } = out[i]!;
          if (!isDeepStrictEqual(rest, b)) return false;
          if (padded.kind === 'whole') return subBatchSize === null && isPaddingOf(padded.queries, b.queryIds, o) && isPaddingOf(padded.passages, b.passageIds, o);
          return (
            subBatchSize !== null &&
            padded.queries.every((t, k) => isPaddingOf(t, b.queryIds.slice(k * subBatchSize, (k + 1) * subBatchSize), o)) &&
            padded.passages.every((t, k) => isPaddingOf(t, b.passageIds.slice(k * subBatchSize, (k + 1) * subBatchSize), o)) &&
            padded.queries.length === Math.ceil(b.queryIds.length / subBatchSize) &&
            padded.passages.length === Math.ceil(b.passageIds.length / subBatchSize)
          );
        });
      }),
      fcParams({ numRuns: 20 }),
    );
  });

  it('bad options are a ConfigError at construction', () => {
    const bad: Array<[PadOptions, string]> = [
      [{ padTokenId: -1 }, 'pad_token_id'],
      [{ padTokenId: 0.5 }, 'pad_token_id'],
      [{ padTokenId: 0, paddingSide: 'middle' as never }, 'padding_side'],
      [{ padTokenId: 0, padToMultipleOf: 0 }, 'pad_to_multiple_of'],
      [{ padTokenId: 0, padToMultipleOf: 2.5 }, 'pad_to_multiple_of'],
      [{ padTokenId: 0, padToMultipleOf: 2 ** 16 + 1 }, 'pad_to_multiple_of'],
      [{ padTokenId: 0, padToMultipleOf: 2 ** 50 }, 'pad_to_multiple_of'],
      [{ padTokenId: 0, subBatchSize: 1.5 }, 'sub_batch_size'],
      [{ padTokenId: 0, subBatchSize: Number.NaN }, 'sub_batch_size'],
    ];
    for (const [options, option] of bad) {
      assert.throws(() => pad(options), (e: unknown) => e instanceof ConfigError && e.option === option, JSON.stringify(options));
    }
  });

  it('meta: the padding property catches right padding when left is asked, padding to the longest regardless of the multiple, one multiple too many, and a mask that marks padding', () => {
    const alwaysRight: PadRows = (rs, o) => padRows(rs, { ...o, paddingSide: 'right' });
    const ignoresMultiple: PadRows = (rs, o) => padRows(rs, { ...o, multipleOf: null });
    // Always rounds up past the longest row, even when it already is a multiple.
    const oneTooMany: PadRows = (rs, o) => {
      const m = o.multipleOf ?? 1;
      const width = (Math.floor(Math.max(0, ...rs.map((r) => r.length)) / m) + 1) * m;
      const p = padRows([...rs, Array(width).fill(0)], o);
      return { inputIds: p.inputIds.slice(0, -1), attentionMask: p.attentionMask.slice(0, -1) };
    };
    const invertedMask: PadRows = (rs, o) => {
      const p = padRows(rs, o);
      return { ...p, attentionMask: p.attentionMask.map((r) => r.map((x) => 1 - x)) };
    };
    for (const broken of [alwaysRight, ignoresMultiple, oneTooMany, invertedMask]) {
      assert.equal(fc.check(padsCorrectly(broken), { seed: FC_SEED, numRuns: 300 }).failed, true);
    }
  });
});

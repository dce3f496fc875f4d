/**
 * Every per-batch random choice the reference makes, in its exact draw order, from the shape of
 * the batch alone (counts and lengths, never the texts).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { InvariantError } from '../core/errors.js';
import type { IclDraw } from '../core/model.js';
import { codePointLength } from '../core/pythonStrings.js';
import { PythonRandom } from '../random/pythonRandom.js';

/**
 * What the draws of one record depend on.
 *
 * @category plan
 */
export interface RecordShape {
  /** Length of each positive in Unicode code points (Python's `len`): the chunk shuffle only touches texts over 100. */
  readonly positiveLengths: ReadonlyArray<number>;
  /** Number of negatives. */
  readonly negatives: number;
}

/**
 * What the draws of one batch depend on.
 *
 * @category plan
 */
export interface BatchShape {
  /** Passages per query: one positive and `groupSize − 1` negatives. */
  readonly groupSize: number;
  /** Whether queries get in-context examples (then the ICL sample is drawn). */
  readonly icl: boolean;
  readonly records: ReadonlyArray<RecordShape>;
}

/**
 * The draws of one record.
 *
 * @category plan
 */
export interface RecordDraw {
  readonly positiveIndex: number;
  /**
   * The order of the positive's three chunks after `shuffle_ratio`'s shuffle (`[2, 0, 1]` means
   * chunk 2, chunk 0, chunk 1, joined by spaces), or null when the text stays as it is.
   */
  readonly chunkOrder: ReadonlyArray<number> | null;
  /** Positions in the record's `neg`; repeated when `neg` is shorter than `groupSize − 1`. */
  readonly negativeIndices: ReadonlyArray<number>;
}

/**
 * The draws of one batch.
 *
 * @category plan
 */
export interface BatchDraws {
  readonly records: ReadonlyArray<RecordDraw>;
  /** One per query (drawn even without ICL, as the reference draws it; then `exampleIds` is empty). */
  readonly icl: ReadonlyArray<IclDraw>;
}

/** The positive's chunk shuffle, or null when `_shuffle_text` leaves it alone. */
const drawChunkOrder = (random: PythonRandom, length: number, shuffleRatio: number): number[] | null => {
  if (!(shuffleRatio > 0 && length > 100)) return null;
  if (!(random.random() < shuffleRatio)) return null;
  const chunk = Math.floor(length / 3) + 1;
  const order = Array.from({ length: Math.ceil(length / chunk) }, (_, i) => i);
  random.shuffle(order);
  return order;
};

const drawNegatives = (random: PythonRandom, negatives: number, wanted: number): number[] => {
  if (negatives >= wanted) return random.samplePositions(negatives, wanted);
  // `random.sample(list(range(n)) * m, k)` samples positions of the repeated list; position p holds p mod n.
  const copies = Math.ceil(wanted / negatives);
  return random.samplePositions(negatives * copies, wanted).map((p) => p % negatives);
};

/**
 * Makes one batch's draws on `random`, advancing it, in the reference's order: for each record,
 * `choice` of the positive, the optional chunk shuffle (`random()`, then `shuffle` of 3), `sample`
 * of the negatives; then for each query `choice([0..5])` and, with ICL, `sample` of example ids.
 *
 * **Details**: the ICL ids are `random.sample(range(B), min(count + 1, B))` (`exampleSample:
 * 'clamped'`, FlagEmbedding 1.4) or `random.sample(range(B), count + 1)` (`'exact'`, the research
 * module) with the query's own id removed and the rest cut to `count`.
 *
 * **Gotchas**: mutates `random` (a private generator owned by the caller's run). A record with no
 * negatives and `groupSize > 1` is the caller's to reject before calling, and so is, with `'exact'`,
 * a batch smaller than 6 that draws examples (the research module's `random.sample` raises; here
 * an `InvariantError`).
 *
 * @example
 * const draws = drawBatch(PythonRandom.fromSeed(42), { groupSize: 8, icl: true, records }, { shuffleRatio: 0 });
 *
 * @category plan
 */
export const drawBatch = (random: PythonRandom, shape: BatchShape, options: DrawOptions): BatchDraws => {
  const records = shape.records.map((record) => drawRecord(random, record, shape.groupSize, options.shuffleRatio));
  const icl = shape.records.map((_, i) => drawIcl(random, i, shape.records.length, shape.icl, options.exampleSample === 'exact'));
  return { records, icl };
};

/**
 * Options of the draws: `shuffle_ratio`, and how example ids are sampled (`'clamped'`: at most the
 * batch, FlagEmbedding 1.4; `'exact'`: `count + 1`, the research module). Default `'clamped'`.
 *
 * @category plan
 */
export interface DrawOptions {
  readonly shuffleRatio: number;
  readonly exampleSample?: 'clamped' | 'exact';
}

/** One record's draws, in the reference's order: `choice` of the positive, the chunk shuffle, `sample` of the negatives. */
const drawRecord = (random: PythonRandom, record: RecordShape, groupSize: number, shuffleRatio: number): RecordDraw => {
  const wanted = groupSize - 1;
  const positiveIndex = random.randbelow(record.positiveLengths.length);
  const chunkOrder = drawChunkOrder(random, record.positiveLengths[positiveIndex]!, shuffleRatio);
  const negativeIndices = wanted === 0 ? [] : drawNegatives(random, record.negatives, wanted);
  return { positiveIndex, chunkOrder, negativeIndices };
};

/** Query `i`'s example count (`choice([0..5])`) and, with ICL, its example ids among the batch's `size` records. */
const drawIcl = (random: PythonRandom, i: number, size: number, icl: boolean, exact: boolean): IclDraw => {
  const count = random.randbelow(6);
  if (count === 0 || !icl) return { count, exampleIds: [] };
  if (exact && count + 1 > size) {
    throw new InvariantError(`random.sample of ${count + 1} in-context example ids from a batch of ${size} (the research module raises ValueError; its configuration should have been rejected)`);
  }
  const ids = random.samplePositions(size, exact ? count + 1 : Math.min(count + 1, size)).filter((id) => id !== i);
  return { count, exampleIds: ids.slice(0, count) };
};

/**
 * The seed of one record's draws after an elastic resume: `int(sha256(text).hexdigest(), 16)` of
 * the text `"llm-retriever-data/elastic-draws/v1\n{seed}\n{globalStep}\n{position}"`, where
 * `position` is the record's place in the global batch (0-based, all ranks in rank order).
 *
 * @example
 * keyedDrawSeed(42n, 1000, 17); // a 256-bit integer
 *
 * @category random
 */
export const keyedDrawSeed = (seed: bigint, globalStep: number, position: number): bigint =>
  BigInt(`0x${createHash('sha256').update(`llm-retriever-data/elastic-draws/v1\n${seed}\n${globalStep}\n${position}`).digest('hex')}`);

/**
 * One slice's draws after an elastic resume, each record from its own generator: CPython's
 * `random.Random(keyedDrawSeed(seed, globalStep, firstPosition + i))` draws record i's positive,
 * chunk shuffle and negatives (as {@link drawBatch} does), then its query's example count and ids
 * among the slice's records.
 *
 * **Details**: a record's positive, chunk order and negatives depend only on the seed, the step, its
 * place in the global batch and the slice's group size: not on the world size, the rank, or any
 * earlier step. Its in-context examples come from its own slice, so they depend on the split.
 *
 * @example
 * drawSliceKeyed(42n, 1000, 8, shape, { shuffleRatio: 0 }); // rank 1 of a global batch of 16 on 2 ranks
 *
 * @category plan
 */
export const drawSliceKeyed = (
  seed: bigint,
  globalStep: number,
  firstPosition: number,
  shape: BatchShape,
  options: DrawOptions,
): BatchDraws => {
  const randoms = shape.records.map((_, i) => PythonRandom.fromSeed(keyedDrawSeed(seed, globalStep, firstPosition + i)));
  const records = shape.records.map((record, i) => drawRecord(randoms[i]!, record, shape.groupSize, options.shuffleRatio));
  const icl = shape.records.map((_, i) => drawIcl(randoms[i]!, i, shape.records.length, shape.icl, options.exampleSample === 'exact'));
  return { records, icl };
};

/**
 * Applies a chunk order to a text exactly as `_shuffle_text` cuts it: chunks of `len // 3 + 1` code
 * points, reordered, joined by single spaces.
 *
 * @example
 * applyChunkOrder('a'.repeat(101), [2, 0, 1]);
 *
 * @category plan
 */
export const applyChunkOrder = (text: string, order: ReadonlyArray<number> | null): string => {
  if (order === null) return text;
  // Where each chunk starts, in UTF-16 units (not an array of every code point: a long positive
  // would cost tens of bytes per character).
  const chunk = Math.floor(codePointLength(text) / 3) + 1;
  const starts = [0];
  let points = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    points++;
    if (points % chunk === 0 && i + 1 < text.length) starts.push(i + 1);
  }
  starts.push(text.length);
  return order.map((c) => text.slice(starts[c] ?? text.length, starts[c + 1] ?? text.length)).join(' ');
};

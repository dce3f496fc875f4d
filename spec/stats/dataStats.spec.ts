/**
 * dataStats: every figure against a count made independently from the pipeline's own batches (all
 * ranks of the first epoch): steps, queries, passages, records; passages cut and their token
 * lengths; padding waste; the largest batch size for a budget; records whose negatives hold a
 * positive and duplicate queries on planted data; in-context examples dropped when
 * `query_max_len` leaves no example budget; the same report with concurrency.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toArray } from 'ix/asynciterable';
import { ConfigError } from '../../lib/core/errors.js';
import type { PaddedBatch, PaddedTensor } from '../../lib/core/model.js';
import { flagEmbeddingBatches, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { dataStats, type DataStats, type DataStatsOptions, type TaskStats } from '../../lib/stats/dataStats.js';
import { formatStats } from '../../lib/stats/formatStats.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { jsonl, writeTree } from '../helpers/tmp.js';

const tokenizer = fixtureTokenizer();

const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

/** Two retrieval files and a symmetric one, with passages of known, varied lengths. */
const corpus = () =>
  writeTree({
    'r/a.jsonl': jsonl(
      ...Array.from({ length: 12 }, (_, i) => ({
        query: `what is ${words(1 + (i % 4), 'q')} ${i}`,
        pos: [`answer ${i} ${words(2 + 3 * (i % 5), 'p')}`],
        neg: Array.from({ length: 2 + (i % 4) }, (_, j) => `negative ${i}.${j} ${words(1 + ((i + j) % 7), 'n')}`),
        prompt: 'Find it.',
        type: 'normal',
      })),
    ),
    'r/b.jsonl': jsonl(
      ...Array.from({ length: 9 }, (_, i) => ({ query: `b query ${i}`, pos: [`b answer ${i}`], neg: [`b negative ${i}`], prompt: 'Find it.', type: 'only_1neg' })),
    ),
    's/s.jsonl': jsonl(
      ...Array.from({ length: 8 }, (_, i) => ({ query: `sentence ${i}`, pos: [`same as sentence ${i} ${words(i, 'w')}`], neg: [`other ${i}`, `another ${i}`], prompt: 'Same meaning.', type: 'symmetric_sts' })),
    ),
  });

const baseOptions = (root: string, extra: Partial<DataStatsOptions> = {}): DataStatsOptions => ({
  trainData: [`${root}/r`, `${root}/s`],
  tokenizer,
  seed: 7,
  perDeviceTrainBatchSize: 2,
  worldSize: 2,
  trainGroupSize: 3,
  queryMaxLen: 700,
  passageMaxLen: 40,
  padToMultipleOf: 8,
  indexCacheDir: null,
  ...extra,
});

/** Every rank's batches of the first epoch, as the pipeline yields them. */
const epochBatches = async (o: FlagEmbeddingOptions): Promise<PaddedBatch[]> =>
  (await Promise.all(Array.from({ length: o.worldSize ?? 1 }, (_, rank) => toArray(flagEmbeddingBatches({ ...o, rank, epochs: 1 }))))).flat();

const tensors = (b: PaddedBatch, which: 'queries' | 'passages'): PaddedTensor[] => (b.padded.kind === 'whole' ? [b.padded[which]] : [...b.padded[which]]);
const masksOf = (bs: ReadonlyArray<PaddedBatch>, which: 'queries' | 'passages') => bs.flatMap((b) => tensors(b, which).flatMap((t) => t.attentionMask));
const taskOf = (stats: DataStats, suffix: string): TaskStats => {
  const t = stats.tasks.find((x) => x.task.endsWith(suffix));
  assert.ok(t, `no task ${suffix} in ${stats.tasks.map((x) => x.task).join(', ')}`);
  return t;
};

/** Nearest rank: the smallest value with at least p % of the values at or below it. */
const nearestRank = (values: ReadonlyArray<number>, p: number) => [...values].sort((a, b) => a - b)[Math.ceil((p / 100) * values.length) - 1]!;

describe('dataStats against counts of the pipeline’s own batches (first epoch, all ranks)', () => {
  const root = corpus();
  const options = baseOptions(root, { retrievalUseExamples: false, tokenBudget: 4000 });

  it('steps, queries, passages, distinct records and group sizes per task', async () => {
    const [stats, batches] = await Promise.all([dataStats(options), epochBatches(options)]);
    assert.equal(stats.steps, new Set(batches.map((b) => b.globalStep)).size);
    assert.equal(stats.over, 'epoch');
    for (const t of stats.tasks) {
      const mine = batches.filter((b) => b.task.name === t.task);
      assert.equal(t.steps, new Set(mine.map((b) => b.globalStep)).size, t.task);
      assert.equal(t.queries, mine.reduce((n, b) => n + b.queries.length, 0), t.task);
      assert.equal(t.passages, mine.reduce((n, b) => n + b.passages.length, 0), t.task);
      assert.equal(t.records, new Set(mine.flatMap((b) => b.records.map((r) => `${r.file}:${r.line}`))).size, t.task);
    }
    assert.deepEqual(taskOf(stats, 'b.jsonl').groupSize, { min: 2, max: 2 });
    assert.deepEqual(taskOf(stats, 'a.jsonl').groupSize, { min: 3, max: 3 });
  });

  it('passage tokens (with special tokens, before the cut) and the share cut at passage_max_len, for a retrieval task', async () => {
    const [stats, batches] = await Promise.all([dataStats(options), epochBatches(options)]);
    const t = taskOf(stats, 'a.jsonl');
    const passages = batches.filter((b) => b.task.name === t.task).flatMap((b) => b.passages);
    const lengths = (await tokenizer.encodeBatch(passages)).map((ids) => ids.length + 2);
    assert.equal(t.passageTokens.count, lengths.length);
    assert.deepEqual([t.passageTokens.p50, t.passageTokens.p95, t.passageTokens.max], [nearestRank(lengths, 50), nearestRank(lengths, 95), Math.max(...lengths)]);
    assert.equal(t.cut.passages, lengths.filter((n) => n > 40).length / lengths.length);
    assert.ok(t.cut.passages! > 0 && t.cut.passages! < 1, 'some passages are cut, not all');
    assert.equal(t.passageTokens.histogram.counts.reduce((a, b) => a + b, 0), lengths.length);
  });

  it('query tokens without examples, as the reference budgets them: the query’s tokens, BOS, and icl_suffix_str + EOS encoded on their own (nothing cut at 700)', async () => {
    const [stats, batches] = await Promise.all([dataStats(options), epochBatches(options)]);
    const t = taskOf(stats, 'a.jsonl');
    const suffix = '\nResponse:';
    const queries = batches.filter((b) => b.task.name === t.task).flatMap((b) => b.queries.map((q) => q.slice(0, -suffix.length)));
    const [[bos], [suffixIds]] = [await tokenizer.encodeBatch(['<s>']), await tokenizer.encodeBatch([`${suffix}</s>`])];
    const lengths = (await tokenizer.encodeBatch(queries)).map((ids) => ids.length + bos!.length + suffixIds!.length);
    assert.deepEqual([t.queryTokens.p50, t.queryTokens.p95, t.queryTokens.max], [nearestRank(lengths, 50), nearestRank(lengths, 95), Math.max(...lengths)]);
    assert.deepEqual(t.queryWithExamplesTokens, t.queryTokens);
    assert.equal(t.cut.queries, 0);
  });

  it('padding waste: pad tokens over all tokens of the padded tensors', async () => {
    const [stats, batches] = await Promise.all([dataStats(options), epochBatches(options)]);
    for (const t of stats.tasks) {
      const mine = batches.filter((b) => b.task.name === t.task);
      const waste = (rows: number[][]) => rows.flat().filter((m) => m === 0).length / rows.flat().length;
      assert.equal(t.paddingWaste.queries, waste(masksOf(mine, 'queries') as number[][]), t.task);
      assert.equal(t.paddingWaste.passages, waste(masksOf(mine, 'passages') as number[][]), t.task);
      assert.equal(t.paddingWaste.all, waste([...masksOf(mine, 'queries'), ...masksOf(mine, 'passages')] as number[][]), t.task);
    }
  });

  it('the largest batch_size for a token budget: budget ÷ (widest query row + group × widest passage row); and with rows at the limits', async () => {
    const [stats, batches] = await Promise.all([dataStats(options), epochBatches(options)]);
    for (const t of stats.tasks) {
      const mine = batches.filter((b) => b.task.name === t.task);
      const width = (which: 'queries' | 'passages') => Math.max(...masksOf(mine, which).map((r) => r.length));
      const group = t.groupSize.max;
      assert.deepEqual(t.batchSizeForBudget, {
        tokenBudget: 4000,
        observed: Math.floor(4000 / (width('queries') + group * width('passages'))),
        guaranteed: Math.floor(4000 / (704 + group * 40)),
        queryWidth: width('queries'),
        passageWidth: width('passages'),
      });
    }
  });

  it('the same report with concurrency 3, and as text it names every task', async () => {
    const [one, three] = await Promise.all([dataStats(options), dataStats({ ...options, concurrency: 3 })]);
    assert.deepEqual(three, one);
    const text = formatStats(one);
    for (const t of one.tasks) assert.ok(text.includes(t.task));
  });

  it('steps: N reads the first N steps (every rank of each)', async () => {
    const stats = await dataStats({ ...options, steps: 2 });
    assert.equal(stats.steps, 2);
    assert.equal(stats.over, 2);
    const batches = (await epochBatches(options)).filter((b) => b.globalStep < 2);
    assert.equal(stats.tasks.reduce((n, t) => n + t.queries, 0), batches.reduce((n, b) => n + b.queries.length, 0));
  });

  it('bad steps or token budget is a ConfigError', async () => {
    await assert.rejects(dataStats({ ...options, steps: 0 }), (e: unknown) => e instanceof ConfigError && e.option === 'steps');
    await assert.rejects(dataStats({ ...options, tokenBudget: -5 }), (e: unknown) => e instanceof ConfigError && e.option === 'token_budget');
  });
});

describe('dataStats on planted data', () => {
  it('records whose negatives hold one of their positives, and duplicate queries (exact text), counted once per record', async () => {
    const root = writeTree({
      'a.jsonl': jsonl(
        ...Array.from({ length: 8 }, (_, i) => ({
          // Records 0, 1, 2 share a query; 5 and 6 share another; 3 and 7 hold a positive among their negatives.
          query: i < 3 ? 'the same question' : i === 5 || i === 6 ? 'another question' : `question ${i}`,
          pos: [`answer ${i}`, `answer ${i} again`],
          neg: i === 3 || i === 7 ? [`wrong ${i}`, `answer ${i} again`] : [`wrong ${i}`, `wrong ${i} too`],
        })),
      ),
    });
    const stats = await dataStats({ ...baseOptions(root), trainData: [`${root}/a.jsonl`], worldSize: 1, perDeviceTrainBatchSize: 4, queryInstructionForRetrieval: 'Find it.' });
    const t = stats.tasks[0]!;
    assert.equal(t.records, 8);
    assert.deepEqual(t.recordsWithPositiveInNegatives, { count: 2, share: 2 / 8 });
    assert.deepEqual(t.duplicateQueries, { count: 5, share: 5 / 8 });
  });
});

describe('dataStats: in-context examples', () => {
  const root = corpus();

  it('query_max_len 512 leaves no example budget (512 are reserved): every drawn example is dropped (FlagEmbedding #1158)', async () => {
    const stats = await dataStats(baseOptions(root, { queryMaxLen: 512, retrievalUseExamples: true }));
    const t = taskOf(stats, 'a.jsonl');
    assert.ok(t.examples.drawnPerQuery! > 0);
    assert.equal(t.examples.keptPerQuery, 0);
    assert.equal(t.examples.droppedShare, 1);
    assert.equal(t.examples.queriesWithNoneKept, 1);
  });

  it('with room for them, short examples are all kept, and queries with examples are longer than alone', async () => {
    const stats = await dataStats(baseOptions(root, { queryMaxLen: 2000, retrievalUseExamples: true, exampleQueryMaxLen: 200, examplePassageMaxLen: 200 }));
    const t = taskOf(stats, 'a.jsonl');
    assert.ok(t.examples.drawnPerQuery! > 0);
    assert.equal(t.examples.droppedShare, 0);
    assert.equal(t.examples.truncatedShare, 0);
    assert.equal(t.examples.keptPerQuery, t.examples.drawnPerQuery);
    assert.ok(t.queryWithExamplesTokens.max > t.queryTokens.max);
  });

  it('example_query_max_len / example_passage_max_len below the texts: drawn examples are counted as truncated', async () => {
    const stats = await dataStats(baseOptions(root, { queryMaxLen: 2000, retrievalUseExamples: true, exampleQueryMaxLen: 3, examplePassageMaxLen: 3 }));
    assert.equal(taskOf(stats, 'a.jsonl').examples.truncatedShare, 1);
  });

  it('a query_max_len shorter than every formatted query cuts them all, with or without examples; a long one none', async () => {
    const [short, long] = await Promise.all([
      dataStats(baseOptions(root, { queryMaxLen: 20, retrievalUseExamples: false })),
      dataStats(baseOptions(root, { queryMaxLen: 700, retrievalUseExamples: false })),
    ]);
    const t = taskOf(short, 'a.jsonl');
    assert.ok(t.queryTokens.p50 > 20 && t.queryTokens.count > 0);
    assert.deepEqual([t.cut.queries, t.cut.queriesAlone], [1, 1]);
    assert.deepEqual([taskOf(long, 'a.jsonl').cut.queries, taskOf(long, 'a.jsonl').cut.queriesAlone], [0, 0]);
    // The lengths are measured before the cut: the same under both budgets.
    assert.deepEqual(t.queryTokens, taskOf(long, 'a.jsonl').queryTokens);
  });
});

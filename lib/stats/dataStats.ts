/**
 * A data report per task: token lengths and what the budgets cut, in-context examples kept and
 * dropped, padding waste, records whose negatives hold a positive, duplicate queries, and the
 * largest per-file `batch_size` that fits a token budget per device.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError } from '../core/errors.js';
import { mapConcurrent } from '../core/mapConcurrent.js';
import type { PaddedBatch, PaddedTensor, SampledBatch, Task } from '../core/model.js';
import type { FlagEmbeddingOptions } from '../pipelines/flagEmbeddingIcl.js';
import { paddingStep } from '../stages/batchBuilder.js';
import { indexTaskFiles } from '../sources/indexTaskFiles.js';
import { augmentIclWithDetail, type IclDetail } from '../stages/augmentIcl.js';
import { epochShuffle } from '../stages/epochShuffle.js';
import { formatPromptStep } from '../stages/formatPrompt.js';
import { groupByTask } from '../stages/groupByTask.js';
import { readRecords } from '../stages/readRecords.js';
import { sampleGroup } from '../stages/sampleGroup.js';
import { shardByRank } from '../stages/shardByRank.js';
import { tokenizeWithDetail, type TokenizeDetail } from '../stages/tokenize.js';

/**
 * A distribution of token counts: how many, nearest-rank percentiles (the smallest value with at
 * least p % of the counts at or below it), the largest, the mean, and a histogram.
 *
 * @category models
 */
export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly mean: number;
  /** `counts[k]` values in `[k × binWidth, (k + 1) × binWidth)`. */
  readonly histogram: { readonly binWidth: number; readonly counts: ReadonlyArray<number> };
}

/**
 * One task's report. Shares are fractions in [0, 1] (null when there is nothing to divide).
 *
 * @category models
 */
export interface TaskStats {
  readonly task: string;
  readonly type: string | null;
  readonly files: ReadonlyArray<string>;
  /** Per-device batch size (the file's `batch_size`, halved for symmetric tasks, or `per_device_train_batch_size`). */
  readonly batchSize: number;
  readonly groupSize: { readonly min: number; readonly max: number };
  readonly noInBatchNeg: boolean;
  /** Steps, queries (records drawn, all ranks), distinct records and passages seen. */
  readonly steps: number;
  readonly queries: number;
  readonly records: number;
  readonly passages: number;
  /**
   * Formatted query alone, before any cut, counted as the reference budgets it: BOS, the query's
   * tokens, and `icl_suffix_str` + EOS encoded on their own (which can be a token more than they
   * take after the query). Then a query is cut exactly when this exceeds `query_max_len`.
   */
  readonly queryTokens: Distribution;
  /** The same with its in-context examples before it: what the query asks of `query_max_len`. */
  readonly queryWithExamplesTokens: Distribution;
  /**
   * Formatted passage with its special tokens, before any cut; symmetric passages (which get
   * `icl_suffix_str`) counted as the reference budgets them: one special token, the passage, and
   * `icl_suffix_str` + EOS encoded on their own. A passage is cut exactly when this exceeds
   * `passage_max_len`.
   */
  readonly passageTokens: Distribution;
  readonly cut: {
    /** Queries whose end was cut at `query_max_len` (with their examples). */
    readonly queries: number | null;
    /** Queries longer than `query_max_len` even without examples. */
    readonly queriesAlone: number | null;
    /** Passages cut at `passage_max_len`. */
    readonly passages: number | null;
  };
  readonly examples: {
    /** Mean examples drawn per query (after removing itself), and kept within the budget. */
    readonly drawnPerQuery: number | null;
    readonly keptPerQuery: number | null;
    /** Drawn examples left out by the example budget (`query_max_len − 512`). */
    readonly droppedShare: number | null;
    /** Drawn examples whose query or answer was cut to `example_query_max_len` / `example_passage_max_len`. */
    readonly truncatedShare: number | null;
    /** Queries that drew examples and kept none. */
    readonly queriesWithNoneKept: number | null;
  };
  /** Pad tokens over all tokens of the padded tensors. */
  readonly paddingWaste: { readonly queries: number | null; readonly passages: number | null; readonly all: number | null };
  /** Distinct records seen whose `neg` holds one of their `pos` (exact text). */
  readonly recordsWithPositiveInNegatives: { readonly count: number; readonly share: number | null };
  /** Distinct records seen whose query text is another seen record's query too. */
  readonly duplicateQueries: { readonly count: number; readonly share: number | null };
  /**
   * The largest per-device `batch_size` whose padded tensors (`B` queries and `B × group` passages)
   * fit `tokenBudget` tokens: with the widest padded rows seen (`observed`), and with rows as wide as
   * `query_max_len` / `passage_max_len` allow (`guaranteed`). Null without a budget.
   */
  readonly batchSizeForBudget: {
    readonly tokenBudget: number;
    readonly observed: number;
    readonly guaranteed: number;
    readonly queryWidth: number;
    readonly passageWidth: number;
  } | null;
}

/**
 * A data report: what was read, and one {@link TaskStats} per task seen.
 *
 * @category models
 */
export interface DataStats {
  readonly steps: number;
  /** `'epoch'` for a whole epoch, else the number of steps asked for. */
  readonly over: 'epoch' | number;
  readonly worldSize: number;
  readonly queryMaxLen: number;
  readonly passageMaxLen: number;
  readonly tasks: ReadonlyArray<TaskStats>;
}

/**
 * What a flavor's per-batch steps measured on the way (`augmentIclWithDetail`, `tokenizeWithDetail`).
 *
 * @category models
 */
export interface BatchDetail {
  readonly icl?: IclDetail;
  readonly tokenize?: TokenizeDetail;
}

/**
 * Options of {@link statsAccumulator}.
 *
 * @category models
 */
export interface StatsAccumulatorOptions {
  /** `query_max_len`. Default: 32. */
  readonly queryMaxLen?: number;
  /** `passage_max_len`. Default: 128. */
  readonly passageMaxLen?: number;
  /** `pad_to_multiple_of` (rounds the guaranteed widths). Default: none. */
  readonly padToMultipleOf?: number | null;
  /** Tokens per device for {@link TaskStats.batchSizeForBudget}. Default: none. */
  readonly tokenBudget?: number | null;
}

/** Token counts by value: exact percentiles in memory proportional to the distinct lengths. */
const lengthCounts = () => {
  const counts = new Map<number, number>();
  let n = 0;
  let sum = 0;
  return {
    add(v: number) {
      counts.set(v, (counts.get(v) ?? 0) + 1);
      n += 1;
      sum += v;
    },
    result(): Distribution {
      const values = [...counts.keys()].sort((a, b) => a - b);
      const rank = (p: number): number => {
        const need = Math.ceil((p / 100) * n);
        let seen = 0;
        for (const v of values) {
          seen += counts.get(v)!;
          if (seen >= need) return v;
        }
        return values[values.length - 1] ?? 0;
      };
      const max = values[values.length - 1] ?? 0;
      const binWidth = niceBinWidth(max);
      const bins = new Array<number>(Math.floor(max / binWidth) + 1).fill(0);
      for (const [v, c] of counts) bins[Math.floor(v / binWidth)]! += c;
      return { count: n, p50: rank(50), p95: rank(95), max, mean: n === 0 ? 0 : sum / n, histogram: { binWidth, counts: n === 0 ? [] : bins } };
    },
  };
};

/** A bin width of 1, 2 or 5 × 10^k giving at most 24 bins up to `max`. */
const niceBinWidth = (max: number): number => {
  for (let scale = 1; ; scale *= 10) for (const m of [1, 2, 5]) if (Math.floor(max / (m * scale)) + 1 <= 24) return m * scale;
};

const share = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);
const roundUp = (n: number, multiple: number | null): number => (multiple === null || n % multiple === 0 ? n : (Math.floor(n / multiple) + 1) * multiple);

const tensorsOf = (batch: PaddedBatch): { queries: ReadonlyArray<PaddedTensor>; passages: ReadonlyArray<PaddedTensor> } =>
  batch.padded.kind === 'whole' ? { queries: [batch.padded.queries], passages: [batch.padded.passages] } : { queries: batch.padded.queries, passages: batch.padded.passages };

/** Pad tokens, all tokens, and the widest row of some padded tensors. */
const padding = (tensors: ReadonlyArray<PaddedTensor>) => {
  let pad = 0;
  let all = 0;
  let width = 0;
  for (const t of tensors) {
    for (const row of t.attentionMask) {
      all += row.length;
      width = Math.max(width, row.length);
      for (const m of row) if (m === 0) pad += 1;
    }
  }
  return { pad, all, width };
};

const hashOf = (text: string): string => createHash('sha256').update(text).digest('base64');

const taskAccumulator = (task: Task) => {
  const queryTokens = lengthCounts();
  const queryWithExamplesTokens = lengthCounts();
  const passageTokens = lengthCounts();
  const steps = new Set<number>();
  const seen = new Set<string>();
  const queryHashes = new Map<string, number>();
  const c = {
    queries: 0,
    passages: 0,
    queriesCut: 0,
    queriesCutAlone: 0,
    passagesCut: 0,
    drawn: 0,
    kept: 0,
    truncated: 0,
    queriesDrawing: 0,
    noneKept: 0,
    padQ: 0,
    allQ: 0,
    padP: 0,
    allP: 0,
    widthQ: 0,
    widthP: 0,
    minGroup: Infinity,
    maxGroup: 0,
    positiveInNegatives: 0,
  };
  return { task, queryTokens, queryWithExamplesTokens, passageTokens, steps, seen, queryHashes, c };
};

/**
 * Accumulates a {@link DataStats} from padded batches (any flavor's) and what their steps measured.
 *
 * **Details**: lengths before any cut come from the details (`augmentIclWithDetail` for queries and
 * symmetric passages, `tokenizeWithDetail` for the others); without details, from the padded rows
 * (after the cut). Records count once however often they are drawn (by file and position);
 * queries compare as exact texts (kept as hashes).
 *
 * @example
 * const acc = statsAccumulator({ queryMaxLen: 2048, passageMaxLen: 512, tokenBudget: 65536 });
 * for await (const { batch, detail } of detailed) acc.add(batch, detail);
 * acc.result({ over: 'epoch', worldSize: 2 });
 *
 * @category sinks
 */
export const statsAccumulator = (options: StatsAccumulatorOptions = {}) => {
  const queryMaxLen = options.queryMaxLen ?? 32;
  const passageMaxLen = options.passageMaxLen ?? 128;
  const multiple = options.padToMultipleOf ?? null;
  const budget = options.tokenBudget ?? null;
  if (budget !== null && (!Number.isSafeInteger(budget) || budget < 1)) throw new ConfigError('token_budget', `must be a positive integer, got ${budget}`);
  const tasks = new Map<number, ReturnType<typeof taskAccumulator>>();
  const globalSteps = new Set<number>();
  return {
    add(batch: PaddedBatch, detail: BatchDetail = {}): void {
      let t = tasks.get(batch.task.index);
      if (t === undefined) tasks.set(batch.task.index, (t = taskAccumulator(batch.task)));
      const { c } = t;
      globalSteps.add(batch.globalStep);
      t.steps.add(batch.globalStep);
      const n = batch.queries.length;
      const group = batch.passages.length / n;
      c.queries += n;
      c.passages += batch.passages.length;
      c.minGroup = Math.min(c.minGroup, group);
      c.maxGroup = Math.max(c.maxGroup, group);
      const padded = tensorsOf(batch);
      const rowLengths = (tensors: ReadonlyArray<PaddedTensor>) => tensors.flatMap((x) => x.attentionMask.map((row) => row.reduce((s: number, m) => s + m, 0)));
      const alone = detail.icl?.queryTokens ?? detail.tokenize?.queryTokens ?? rowLengths(padded.queries);
      const withExamples = detail.icl?.queryWithExamplesTokens ?? alone;
      alone.forEach((v) => t.queryTokens.add(v));
      withExamples.forEach((v) => t.queryWithExamplesTokens.add(v));
      c.queriesCutAlone += alone.filter((v) => v > queryMaxLen).length;
      c.queriesCut += (detail.icl?.queryCut ?? withExamples.map((v) => v > queryMaxLen)).filter(Boolean).length;
      const passages = detail.icl?.passageTokens ?? detail.tokenize?.passageTokens ?? rowLengths(padded.passages);
      passages.forEach((v) => t.passageTokens.add(v));
      c.passagesCut += passages.filter((v) => v > passageMaxLen).length;
      if (detail.icl !== undefined) {
        detail.icl.examplesDrawn.forEach((d, i) => {
          c.drawn += d;
          c.kept += detail.icl!.examplesKept[i]!;
          c.truncated += detail.icl!.examplesTruncated[i]!;
          if (d > 0) {
            c.queriesDrawing += 1;
            if (detail.icl!.examplesKept[i] === 0) c.noneKept += 1;
          }
        });
      }
      const q = padding(padded.queries);
      const p = padding(padded.passages);
      c.padQ += q.pad;
      c.allQ += q.all;
      c.padP += p.pad;
      c.allP += p.all;
      c.widthQ = Math.max(c.widthQ, q.width);
      c.widthP = Math.max(c.widthP, p.width);
      for (const record of batch.records) {
        const key = `${record.file}\u0000${record.record}`;
        if (t.seen.has(key)) continue;
        t.seen.add(key);
        const positives = new Set<string>(record.value.pos);
        if (record.value.neg.some((x) => positives.has(x))) c.positiveInNegatives += 1;
        const h = hashOf(record.value.query);
        t.queryHashes.set(h, (t.queryHashes.get(h) ?? 0) + 1);
      }
    },
    result(run: { readonly over: 'epoch' | number; readonly worldSize: number }): DataStats {
      const out = [...tasks.values()]
        .sort((a, b) => a.task.index - b.task.index)
        .map(({ task, c, ...t }): TaskStats => {
          const duplicates = [...t.queryHashes.values()].filter((k) => k > 1).reduce((s, k) => s + k, 0);
          const guaranteedQ = roundUp(queryMaxLen, multiple);
          const guaranteedP = roundUp(passageMaxLen, multiple);
          return {
            task: task.name,
            type: task.type ?? null,
            files: task.files,
            batchSize: task.batchSize,
            groupSize: { min: c.minGroup, max: c.maxGroup },
            noInBatchNeg: task.noInBatchNeg,
            steps: t.steps.size,
            queries: c.queries,
            records: t.seen.size,
            passages: c.passages,
            queryTokens: t.queryTokens.result(),
            queryWithExamplesTokens: t.queryWithExamplesTokens.result(),
            passageTokens: t.passageTokens.result(),
            cut: { queries: share(c.queriesCut, c.queries), queriesAlone: share(c.queriesCutAlone, c.queries), passages: share(c.passagesCut, c.passages) },
            examples: {
              drawnPerQuery: share(c.drawn, c.queries),
              keptPerQuery: share(c.kept, c.queries),
              droppedShare: share(c.drawn - c.kept, c.drawn),
              truncatedShare: share(c.truncated, c.drawn),
              queriesWithNoneKept: share(c.noneKept, c.queriesDrawing),
            },
            paddingWaste: { queries: share(c.padQ, c.allQ), passages: share(c.padP, c.allP), all: share(c.padQ + c.padP, c.allQ + c.allP) },
            recordsWithPositiveInNegatives: { count: c.positiveInNegatives, share: share(c.positiveInNegatives, t.seen.size) },
            duplicateQueries: { count: duplicates, share: share(duplicates, t.seen.size) },
            batchSizeForBudget:
              budget === null
                ? null
                : {
                    tokenBudget: budget,
                    observed: Math.floor(budget / (c.widthQ + c.maxGroup * c.widthP)),
                    guaranteed: Math.floor(budget / (guaranteedQ + c.maxGroup * guaranteedP)),
                    queryWidth: c.widthQ,
                    passageWidth: c.widthP,
                  },
          };
        });
      return { steps: globalSteps.size, over: run.over, worldSize: run.worldSize, queryMaxLen, passageMaxLen, tasks: out };
    },
  };
};

/**
 * Options of {@link dataStats}: the pipeline's, plus how much to read and the token budget.
 *
 * @category models
 */
export interface DataStatsOptions extends FlagEmbeddingOptions {
  /** Steps to read from the start of the run (all ranks of each). Default: the whole first epoch. */
  readonly steps?: number;
  /** Tokens per device, for the largest `batch_size` that fits. Default: none. */
  readonly tokenBudget?: number | null;
}

/**
 * A data report of FlagEmbedding's batches: every rank's slice of the first `steps` steps (default:
 * the whole first epoch), built exactly as the pipeline builds them, measured per task.
 *
 * **Details**: see {@link TaskStats} for each figure. The draws are the run's (same seed, same
 * world size); the batches are built in this thread (`concurrency` applies; `workers` does not).
 *
 * @example
 * const stats = await dataStats({ trainData: ['examples/data'], tokenizer, seed: 42, perDeviceTrainBatchSize: 4, queryMaxLen: 2048, passageMaxLen: 512, tokenBudget: 65536 });
 * console.log(formatStats(stats));
 *
 * @category constructors
 */
export const dataStats = async (options: DataStatsOptions): Promise<DataStats> => {
  const steps = options.steps;
  if (steps !== undefined && (!Number.isSafeInteger(steps) || steps < 1)) throw new ConfigError('steps', `must be a positive integer, got ${steps}`);
  const worldSize = options.worldSize ?? 1;
  const accumulator = statsAccumulator(options);
  const files = await toArray(indexTaskFiles(options.trainData, options));
  const format = formatPromptStep(options);
  const padStep = paddingStep(options);
  const detailed = () => {
    const augment = augmentIclWithDetail(options);
    const tokenize = tokenizeWithDetail(options);
    return async (sampled: SampledBatch) => {
      const icl = await augment(await format(sampled));
      const tokens = await tokenize(icl.batch);
      return { batch: await padStep(tokens.batch), detail: { icl: icl.detail, tokenize: tokens.detail } };
    };
  };
  for (let rank = 0; rank < worldSize; rank++) {
    // Every rank plans the same tasks and drops: only the first reports them, so each is counted once.
    const o = { ...options, rank, epochs: steps === undefined ? 1 : undefined, resumeFrom: null, report: rank === 0 ? options.report : undefined };
    const sampled = from(files).pipe(groupByTask(o), epochShuffle(o), shardByRank(o), readRecords(), sampleGroup(o));
    const built = (steps === undefined ? sampled : sampled.pipe(take(steps))).pipe(mapConcurrent(options.concurrency ?? 1, detailed));
    for await (const { batch, detail } of built) accumulator.add(batch, detail);
  }
  return accumulator.result({ over: steps ?? 'epoch', worldSize });
};

import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError, RecordError } from '../core/errors.js';
import type { IclDraw, PromptedBatch, TextBatch } from '../core/model.js';
import { mapConcurrent, type Step } from '../core/mapConcurrent.js';
import type { Op } from '../core/operator.js';
import type { TokenizerPort } from '../tokenizers/port.js';
import { checkSymmetricBudget, iclBudgets, type IclBudgets } from '../plan/iclBudgets.js';
import { researchAnswersWithCategory, researchFormatsPassages, researchMessages } from '../plan/researchRules.js';
import { SYMMETRIC_PASSAGE_TYPES } from './formatPrompt.js';

/**
 * Options of {@link augmentIcl}, with the reference's argument names.
 *
 * @category stages
 */
export interface AugmentIclOptions {
  /** The tokenizer whose round trips the reference's texts go through. Required. */
  readonly tokenizer: TokenizerPort;
  /** `query_max_len`: final query length budget in tokens. Default: 32. */
  readonly queryMaxLen?: number;
  /** `passage_max_len`: budget of symmetric passages. Default: 128. */
  readonly passageMaxLen?: number;
  /** `example_query_max_len`: tokens kept of an example's query. Default: 64. */
  readonly exampleQueryMaxLen?: number;
  /** `example_passage_max_len`: tokens kept of an example's answer. Default: 96. */
  readonly examplePassageMaxLen?: number;
  /** `icl_suffix_str`: joins an example's query and answer, and ends every query. Default: `'\nResponse:'`. */
  readonly iclSuffixStr?: string;
  /**
   * Tokens of `query_max_len` kept free of examples: the example prefix stops growing once it would
   * exceed `query_max_len − this`. The reference hard-codes 512. Default: 512.
   */
  readonly exampleBudgetReserve?: number;
  /** Joins an in-context example's query and answer. Default: `iclSuffixStr` (the research module: `'\nResponse: '`, with a space, in its plain style). */
  readonly exampleJoinStr?: string;
  /**
   * The texts whose ids the query and passage budgets subtract (`len(prefix)`, `len(suffix)`).
   * Default: the tokenizer's BOS, and `iclSuffixStr` + its EOS. The research module tokenizes the
   * literal strings `'<s>'` and `'\n<response></s>'` (or `'\nResponse:</s>'`) whatever the tokenizer's own tokens are.
   */
  readonly budgetTexts?: { readonly prefix: string; readonly suffix: string };
  /**
   * How `type` is read: `'icl'`, the task's type (`symmetric_sts`/`symmetric_clustering` passages
   * are cut and closed, `symmetric_clustering` examples answer with the category); `'research'`, each
   * record's own type by substring (`sts`/`clustering`; `clustering`), and the batch gets the research
   * module's `messages`. Default: `'icl'`.
   */
  readonly typeRules?: 'icl' | 'research';
}

const positiveInteger = (option: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(option, `must be a positive integer, got ${value}`);
  return value;
};

/** @internal */
export const validateAugmentIclOptions = (options: AugmentIclOptions) => {
  if (options.tokenizer === undefined) throw new ConfigError('tokenizer', 'is required');
  const exampleBudgetReserve = options.exampleBudgetReserve ?? 512;
  if (!Number.isSafeInteger(exampleBudgetReserve)) throw new ConfigError('exampleBudgetReserve', `must be an integer, got ${exampleBudgetReserve}`);
  return {
    tokenizer: options.tokenizer,
    queryMaxLen: positiveInteger('query_max_len', options.queryMaxLen ?? 32),
    passageMaxLen: positiveInteger('passage_max_len', options.passageMaxLen ?? 128),
    exampleQueryMaxLen: positiveInteger('example_query_max_len', options.exampleQueryMaxLen ?? 64),
    examplePassageMaxLen: positiveInteger('example_passage_max_len', options.examplePassageMaxLen ?? 96),
    iclSuffixStr: options.iclSuffixStr ?? '\nResponse:',
    exampleBudgetReserve,
    exampleJoinStr: options.exampleJoinStr ?? options.iclSuffixStr ?? '\nResponse:',
    budgetTexts: options.budgetTexts ?? null,
    research: options.typeRules === 'research',
  };
};

/**
 * Each query's in-context prefix: its drawn examples' pairs, in draw order, appended while the
 * prefix's measured length stays within `limit`; the first pair over the limit ends the prefix.
 *
 * **Details**: `measure` gives the length of each text (the reference: tokens with special tokens).
 * It is called once per round with every query still growing, so a batch costs at most five calls.
 * For every query, `measure(prefix) ≤ limit` unless the prefix is empty.
 *
 * @example
 * await buildExamplePrefixes(['a\n\n', 'bb\n\n'], [{ count: 2, exampleIds: [1, 0] }, { count: 0, exampleIds: [] }],
 *   async (ts) => ts.map((t) => t.length), 6); // ['bb\n\n', '']
 *
 * @category plan
 */
export const buildExamplePrefixes = async (
  pairs: ReadonlyArray<string>,
  draws: ReadonlyArray<IclDraw>,
  measure: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<number>>,
  limit: number,
): Promise<ReadonlyArray<string>> => (await examplePrefixes(pairs, draws, measure, limit)).prefixes;

/** {@link buildExamplePrefixes}, with how many pairs each prefix holds. */
const examplePrefixes = async (
  pairs: ReadonlyArray<string>,
  draws: ReadonlyArray<IclDraw>,
  measure: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<number>>,
  limit: number,
): Promise<{ prefixes: ReadonlyArray<string>; kept: ReadonlyArray<number> }> => {
  const prefixes = draws.map(() => '');
  const kept = draws.map(() => 0);
  let active = draws.flatMap((draw, i) => (draw.exampleIds.length > 0 ? [i] : []));
  for (let round = 0; active.length > 0; round++) {
    const candidates = active.map((i) => prefixes[i]! + pairs[draws[i]!.exampleIds[round]!]!);
    const lengths = await measure(candidates);
    active = active.filter((i, k) => {
      if (lengths[k]! > limit) return false;
      prefixes[i] = candidates[k]!;
      kept[i] = round + 1;
      return round + 1 < draws[i]!.exampleIds.length;
    });
  }
  return { prefixes, kept };
};

/**
 * What {@link augmentIclWithDetail} measured of a batch on the way (token counts with the
 * tokenizer given), for data reports.
 *
 * @category models
 */
export interface IclDetail {
  /** Per query: tokens of the formatted query alone with BOS, `icl_suffix_str` and EOS, before any cut. */
  readonly queryTokens: ReadonlyArray<number>;
  /** Per query: the same with its in-context examples before it (what the query asks of `query_max_len`). */
  readonly queryWithExamplesTokens: ReadonlyArray<number>;
  /** Per query: whether the final query lost its end to the `query_max_len` budget. */
  readonly queryCut: ReadonlyArray<boolean>;
  /** Per query: examples drawn (after removing itself), and kept within the example budget (`query_max_len − 512`). */
  readonly examplesDrawn: ReadonlyArray<number>;
  readonly examplesKept: ReadonlyArray<number>;
  /** Per query: drawn examples whose query or answer was cut to `example_query_max_len` / `example_passage_max_len`. */
  readonly examplesTruncated: ReadonlyArray<number>;
  /**
   * Per passage (flat), for symmetric tasks whose passages are cut here: tokens of the formatted
   * passage with `icl_suffix_str`, EOS and one special token before any cut; null for other tasks
   * (`tokenize` cuts those).
   */
  readonly passageTokens: ReadonlyArray<number> | null;
}

/**
 * Builds the final texts as FlagEmbedding's ICL dataset does: in-context examples before queries,
 * every query and symmetric passage cut to its token budget and closed with `icl_suffix_str`.
 *
 * **Details**, per batch (token counts are of the tokenizer given):
 * - `symmetric_sts` / `symmetric_clustering` passages are truncated to
 *   `passage_max_len − 1 − len(suffix ids)` tokens (suffix ids: `icl_suffix_str` + EOS, without
 *   special tokens), decoded, and get `icl_suffix_str`.
 * - With ICL, each record gives a pair: its query cut to `example_query_max_len` tokens and its
 *   positive (its `category` for clustering) cut to `example_passage_max_len`, each decoded.
 * - Each query takes the pairs `sampleGroup` drew for it, in order, joined as
 *   `query + icl_suffix_str + answer + "\n\n"`, while the prefix tokenized with special tokens stays
 *   within `query_max_len − 512`; then prefix + query is cut to
 *   `query_max_len − len(BOS ids) − len(suffix ids)` tokens, decoded, and `icl_suffix_str` appended.
 *
 * **Gotchas**: the decode round trips change text exactly as Python `transformers` does (a space
 * after added special tokens, double spaces in examples): that is the reference's output, kept on
 * purpose. Tokenizer calls are batched per round (one call for all queries' next candidate).
 *
 * @example
 * prompted.pipe(augmentIcl({ tokenizer, queryMaxLen: 2048, iclSuffixStr: '\n<response>' }));
 *
 * @category stages
 */
export const augmentIcl = (options: AugmentIclOptions): Op<PromptedBatch, TextBatch> => {
  // Checked now; each run's step validates the options again (the validated form is not an options object).
  validateAugmentIclOptions(options);
  return mapConcurrent(1, () => augmentIclStep(options));
};

/**
 * {@link augmentIcl} for one batch. Each step computes the tokenizer's suffix and BOS ids once.
 *
 * @category stages
 */
export const augmentIclStep = (options: AugmentIclOptions): Step<PromptedBatch, TextBatch> => {
  const step = augmentIclCore(options, false);
  return async (batch) => (await step(batch)).batch;
};

/**
 * {@link augmentIcl} for one batch, with what it measured on the way ({@link IclDetail}): the
 * same batch, plus untruncated token counts and example counts, at the cost of one more count of
 * the queries alone when they have examples.
 *
 * @category stages
 */
export const augmentIclWithDetail = (options: AugmentIclOptions): Step<PromptedBatch, { batch: TextBatch; detail: IclDetail }> =>
  augmentIclCore(options, true);

/** The step; `detailed` adds the one measurement the batch itself does not need (the queries alone, when they have examples). */
const augmentIclCore = (options: AugmentIclOptions, detailed: boolean): Step<PromptedBatch, { batch: TextBatch; detail: IclDetail }> => {
  const config = validateAugmentIclOptions(options);
  const { tokenizer, iclSuffixStr } = config;
  const encode = (texts: ReadonlyArray<string>) => tokenizer.encodeBatch(texts);
  /**
   * The texts cut to their limits and decoded, with each text's length before the cut: exact when
   * `detailed`; else at most limit + 1, which still tells whether a text was cut, from one token
   * past the limit (`encodePrefixBatch`: what a long text costs follows its budget, not its length).
   */
  const cutAndDecodeEach = async (texts: ReadonlyArray<string>, limits: ReadonlyArray<number>) => {
    const ids = !detailed && tokenizer.encodePrefixBatch !== undefined ? await tokenizer.encodePrefixBatch(texts, limits.map((n) => Math.max(0, n) + 1)) : await encode(texts);
    return { texts: await tokenizer.decodeBatch(ids.map((row, i) => row.slice(0, limits[i]))), lengths: ids.map((row) => row.length) };
  };
  const cutAndDecode = (texts: ReadonlyArray<string>, limit: number) => cutAndDecodeEach(texts, texts.map(() => limit));
  const specialCount = tokenizer.specialTokens.prefix.length + tokenizer.specialTokens.suffix.length;
  const exampleLimit = config.queryMaxLen - config.exampleBudgetReserve;
  const measureAlone = async (texts: ReadonlyArray<string>) => (tokenizer.countBatch ? tokenizer.countBatch(texts) : (await encode(texts)).map((ids) => ids.length));
  let budgets: Promise<IclBudgets> | null = null;

  return async (batch) => {
    budgets ??= iclBudgets(tokenizer, { ...config, ...(config.budgetTexts === null ? {} : { texts: config.budgetTexts }) });
    const { query: queryBudget, passage: passageBudget } = await budgets;
    const type = batch.task.columns.type ? batch.task.type : undefined;
    const recordType = (i: number) => batch.records[i]!.value.type ?? '';
    // Which records' passages are cut and closed, and which examples answer with the category.
    const cutsPassages = (i: number) => (config.research ? researchFormatsPassages(recordType(i)) : type !== undefined && SYMMETRIC_PASSAGE_TYPES.has(type));
    const answersWithCategory = (i: number) => (config.research ? researchAnswersWithCategory(recordType(i)) : type === 'symmetric_clustering');
    let passages: ReadonlyArray<ReadonlyArray<string>> = batch.passages;
    let passageTokens: ReadonlyArray<number> | null = null;
    const cutRecords = batch.passages.flatMap((_, i) => (cutsPassages(i) ? [i] : []));
    if (cutRecords.length > 0) {
      checkSymmetricBudget(config, passageBudget);
      const cut = await cutAndDecode(cutRecords.flatMap((i) => batch.passages[i]!), passageBudget);
      let k = 0;
      const closed = new Map(cutRecords.map((i) => [i, batch.passages[i]!.map(() => cut.texts[k++]! + iclSuffixStr)] as const));
      passages = batch.passages.map((group, i) => closed.get(i) ?? group);
      // Token counts of the cut passages (the detail's measure), when every passage was cut.
      if (cutRecords.length === batch.passages.length) passageTokens = cut.lengths.map((n) => n + config.passageMaxLen - passageBudget);
    }

    let prefixes: ReadonlyArray<string> = batch.queries.map(() => '');
    let examplesKept: ReadonlyArray<number> = batch.queries.map(() => 0);
    let examplesTruncated: ReadonlyArray<number> = batch.queries.map(() => 0);
    const icl = batch.icl;
    if (icl !== null) {
      const answers = batch.records.map((record, i) => {
        if (!answersWithCategory(i)) return batch.groups[i]!.positive;
        if (record.value.category === undefined) {
          throw new RecordError([{ file: record.file, line: record.line, field: 'category', message: 'is missing; symmetric_clustering examples answer with the category' }]);
        }
        return record.value.category;
      });
      // One call for both halves of every pair.
      const cut = await cutAndDecodeEach([...batch.queries, ...answers], [
        ...batch.queries.map(() => config.exampleQueryMaxLen),
        ...answers.map(() => config.examplePassageMaxLen),
      ]);
      const n = batch.queries.length;
      const questions = cut.texts.slice(0, n);
      const replies = cut.texts.slice(n);
      // A pair was cut when its query or its answer was longer than its limit.
      const pairCut = questions.map((_, i) => cut.lengths[i]! > config.exampleQueryMaxLen || cut.lengths[n + i]! > config.examplePassageMaxLen);
      examplesTruncated = icl.map((draw) => draw.exampleIds.filter((id) => pairCut[id]).length);
      const pairs = questions.map((q, i) => `${q}${config.exampleJoinStr}${replies[i]!}\n\n`);
      const measure = async (texts: ReadonlyArray<string>) =>
        (tokenizer.countBatch ? await tokenizer.countBatch(texts) : (await encode(texts)).map((ids) => ids.length)).map((n) => n + specialCount);
      ({ prefixes, kept: examplesKept } = await examplePrefixes(pairs, icl, measure, exampleLimit));
    }
    const final = await cutAndDecode(batch.queries.map((q, i) => prefixes[i]! + q), queryBudget);
    const queries = final.texts.map((q) => q + iclSuffixStr);
    const scores = batch.groups.flatMap((g) => g.teacherScores ?? []);
    // Everything the batch carries (position, provenance, a false-negative mask) but the draws, now applied.
    const { groups: _groups, icl: _icl, replay: _replay, ...carried } = batch;
    const flat = passages.flat();
    const text: TextBatch = {
      ...carried,
      ...(config.research ? { messages: researchMessages(recordType(0), flat.length) } : {}),
      queries: queries as unknown as ReadonlyNonEmptyArray<string>,
      passages: flat as unknown as ReadonlyNonEmptyArray<string>,
      teacherScores: scores.length > 0 ? scores : null,
      noInBatchNeg: batch.task.noInBatchNeg,
    };
    const overhead = config.queryMaxLen - queryBudget;
    const alone = detailed && prefixes.some((p) => p !== '') ? await measureAlone(batch.queries) : final.lengths;
    return {
      batch: text,
      detail: {
        queryTokens: alone.map((n) => n + overhead),
        queryWithExamplesTokens: final.lengths.map((n) => n + overhead),
        queryCut: final.lengths.map((n) => n > queryBudget),
        examplesDrawn: (icl ?? batch.queries.map(() => ({ exampleIds: [] }))).map((d) => d.exampleIds.length),
        examplesKept,
        examplesTruncated,
        passageTokens,
      },
    };
  };
};

import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError, RecordError } from '../core/errors.js';
import type { IclDraw, PromptedBatch, TextBatch } from '../core/model.js';
import { mapConcurrent, type Step } from '../core/mapConcurrent.js';
import type { Op } from '../core/operator.js';
import type { TokenizerPort } from '../tokenizers/port.js';
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
): Promise<ReadonlyArray<string>> => {
  const prefixes = draws.map(() => '');
  let active = draws.flatMap((draw, i) => (draw.exampleIds.length > 0 ? [i] : []));
  for (let round = 0; active.length > 0; round++) {
    const candidates = active.map((i) => prefixes[i]! + pairs[draws[i]!.exampleIds[round]!]!);
    const lengths = await measure(candidates);
    active = active.filter((i, k) => {
      if (lengths[k]! > limit) return false;
      prefixes[i] = candidates[k]!;
      return round + 1 < draws[i]!.exampleIds.length;
    });
  }
  return prefixes;
};

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
  validateAugmentIclOptions(options);
  return mapConcurrent(1, () => augmentIclStep(options));
};

/**
 * {@link augmentIcl} for one batch. Each step computes the tokenizer's suffix and BOS ids once.
 *
 * @category stages
 */
export const augmentIclStep = (options: AugmentIclOptions): Step<PromptedBatch, TextBatch> => {
  const config = validateAugmentIclOptions(options);
  const { tokenizer, iclSuffixStr } = config;
  const encode = (texts: ReadonlyArray<string>) => tokenizer.encodeBatch(texts);
  const cutAndDecodeEach = async (texts: ReadonlyArray<string>, limits: ReadonlyArray<number>) =>
    tokenizer.decodeBatch((await encode(texts)).map((ids, i) => ids.slice(0, limits[i])));
  const cutAndDecode = (texts: ReadonlyArray<string>, limit: number) => cutAndDecodeEach(texts, texts.map(() => limit));
  const specialCount = tokenizer.specialTokens.prefix.length + tokenizer.specialTokens.suffix.length;
  const exampleLimit = config.queryMaxLen - config.exampleBudgetReserve;
  let budgets: Promise<{ query: number; passage: number }> | null = null;
  const budgetsOf = async () => {
    // The reference formats the token strings with an f-string, so a missing token reads "None".
    const texts = config.budgetTexts ?? { suffix: `${iclSuffixStr}${tokenizer.eosToken ?? 'None'}`, prefix: `${tokenizer.bosToken ?? 'None'}` };
    const [suffixIds, bosIds] = await encode([texts.suffix, texts.prefix]);
    const query = config.queryMaxLen - bosIds!.length - suffixIds!.length;
    if (query < 1) throw new ConfigError('query_max_len', `${config.queryMaxLen} leaves no room for a query after BOS and the ICL suffix (${bosIds!.length + suffixIds!.length} tokens)`);
    return { query, passage: config.passageMaxLen - 1 - suffixIds!.length };
  };

  return async (batch) => {
    budgets ??= budgetsOf();
    const { query: queryBudget, passage: passageBudget } = await budgets;
    const type = batch.task.columns.type ? batch.task.type : undefined;
    const recordType = (i: number) => batch.records[i]!.value.type ?? '';
    // Which records' passages are cut and closed, and which examples answer with the category.
    const cutsPassages = (i: number) => (config.research ? researchFormatsPassages(recordType(i)) : type !== undefined && SYMMETRIC_PASSAGE_TYPES.has(type));
    const answersWithCategory = (i: number) => (config.research ? researchAnswersWithCategory(recordType(i)) : type === 'symmetric_clustering');
    let passages: ReadonlyArray<ReadonlyArray<string>> = batch.passages;
    const cutRecords = batch.passages.flatMap((_, i) => (cutsPassages(i) ? [i] : []));
    if (cutRecords.length > 0) {
      if (passageBudget < 1) throw new ConfigError('passage_max_len', `${config.passageMaxLen} leaves no room for a symmetric passage after the ICL suffix`);
      const cut = await cutAndDecode(cutRecords.flatMap((i) => batch.passages[i]!), passageBudget);
      let k = 0;
      const closed = new Map(cutRecords.map((i) => [i, batch.passages[i]!.map(() => cut[k++]! + iclSuffixStr)] as const));
      passages = batch.passages.map((group, i) => closed.get(i) ?? group);
    }

    let prefixes: ReadonlyArray<string> = batch.queries.map(() => '');
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
      const questions = cut.slice(0, batch.queries.length);
      const replies = cut.slice(batch.queries.length);
      const pairs = questions.map((q, i) => `${q}${config.exampleJoinStr}${replies[i]!}\n\n`);
      const measure = async (texts: ReadonlyArray<string>) =>
        (tokenizer.countBatch ? await tokenizer.countBatch(texts) : (await encode(texts)).map((ids) => ids.length)).map((n) => n + specialCount);
      prefixes = await buildExamplePrefixes(pairs, icl, measure, exampleLimit);
    }
    const queries = (await cutAndDecode(batch.queries.map((q, i) => prefixes[i]! + q), queryBudget)).map((q) => q + iclSuffixStr);
    const scores = batch.groups.flatMap((g) => g.teacherScores ?? []);
    const flat = passages.flat();
    return {
      ...(config.research ? { messages: researchMessages(recordType(0), flat.length) } : {}),
      epoch: batch.epoch,
      step: batch.step,
      globalStep: batch.globalStep,
      resume: batch.resume,
      task: batch.task,
      rank: batch.rank,
      worldSize: batch.worldSize,
      indices: batch.indices,
      records: batch.records,
      groupSize: batch.groupSize,
      queries: queries as unknown as ReadonlyNonEmptyArray<string>,
      passages: flat as unknown as ReadonlyNonEmptyArray<string>,
      teacherScores: scores.length > 0 ? scores : null,
      noInBatchNeg: batch.task.noInBatchNeg,
    };
  };
};

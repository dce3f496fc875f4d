/**
 * How the research module (research/llm_dense_retriever/finetune/data.py) reads a record's `type`:
 * always by substring (`'symmetric' in type`), so `"classification"` contains `"class"`, and
 * `"my_sts_set"` contains `"sts"`. One place for every such rule.
 *
 * @module
 */

/**
 * The research options the type rules read, with the module's names and defaults.
 *
 * @category plan
 */
export interface ResearchTypeOptions {
  /** `train_group_size`. Default: 8. */
  readonly trainGroupSize?: number;
  /** `symmetric_train_group_size`: for sts and clustering types. Default: 8. */
  readonly symmetricTrainGroupSize?: number;
  /** `max_class_neg`: class types take `max_class_neg + 1` passages. Default: 1000. */
  readonly maxClassNeg?: number;
  /** `retrieval_use_examples`: in-context examples for every type, not only sts/clustering/class. Default: true. */
  readonly retrievalUseExamples?: boolean;
}

/**
 * A split's batch size comes from its first row: `symmetric_batch_size // num_processes` when its
 * type contains `symmetric`.
 *
 * @category plan
 */
export const isSymmetricType = (type: string): boolean => type.includes('symmetric');

/**
 * Passages per query of a batch, from its first record's type, as `create_batch_data` decides it:
 * `symmetric` with `sts` or `clustering` → `symmetric_train_group_size`; else `only_1neg` → 2; else
 * `symmetric` with `class` → `max_class_neg + 1`; else `train_group_size`.
 *
 * @example
 * researchGroupSize('symmetric_class', { maxClassNeg: 5 }); // 6
 *
 * @category plan
 */
export const researchGroupSize = (type: string, options: ResearchTypeOptions): number => {
  const symmetric = isSymmetricType(type);
  if (symmetric && (type.includes('sts') || type.includes('clustering'))) return options.symmetricTrainGroupSize ?? 8;
  if (type.includes('only_1neg')) return 2;
  if (symmetric && type.includes('class')) return (options.maxClassNeg ?? 1000) + 1;
  return options.trainGroupSize ?? 8;
};

/**
 * Whether a record of this type contributes an in-context example pair (and so whether queries
 * draw examples): `retrieval_use_examples`, or a type containing `clustering`, `sts` or `class`.
 *
 * @category plan
 */
export const researchUsesExamples = (type: string, retrievalUseExamples: boolean): boolean =>
  retrievalUseExamples || type.includes('clustering') || type.includes('sts') || type.includes('class');

/**
 * Whether a record's passages are formatted like queries, cut, decoded and closed with the response
 * suffix: a type containing `sts` or `clustering`.
 *
 * @category plan
 */
export const researchFormatsPassages = (type: string): boolean => type.includes('sts') || type.includes('clustering');

/**
 * Whether a record's in-context example answers with its `category` (a type containing `clustering`).
 *
 * @category plan
 */
export const researchAnswersWithCategory = (type: string): boolean => type.includes('clustering');

/**
 * The collated batch's `messages`, from its first record's type: `['not in-batch']` for `symmetric`
 * with `class` or `clustering`, else `'normal'` once per passage.
 *
 * @example
 * researchMessages('symmetric_clustering', 24); // ['not in-batch']
 *
 * @category plan
 */
export const researchMessages = (type: string, passages: number): ReadonlyArray<string> =>
  isSymmetricType(type) && (type.includes('class') || type.includes('clustering')) ? ['not in-batch'] : Array.from({ length: passages }, () => 'normal');

/**
 * `get_query_prompt`'s two templates as `str.format` strings: `<instruct>{}\n<query>{}` with the
 * special tokens, `Instruct: {}\nQuery: {}` without.
 *
 * @category plan
 */
export const researchPromptFormat = (useSpecialTokens: boolean): string => (useSpecialTokens ? '<instruct>{}\n<query>{}' : 'Instruct: {}\nQuery: {}');

/**
 * The research module's literal suffix and prefix texts and joins for one prompt style: queries and
 * sts/clustering passages end with `\n<response>` (or `\nResponse:`); an example's query and answer
 * are joined by `\n<response>` (or `\nResponse: `, with a space); budgets subtract the ids of
 * `'\n<response></s>'` (or `'\nResponse:</s>'`) and of `'<s>'` — literal strings, whatever the
 * tokenizer's own BOS and EOS are.
 *
 * @category plan
 */
export const researchTexts = (useSpecialTokens: boolean) =>
  useSpecialTokens
    ? { suffix: '\n<response>', exampleJoin: '\n<response>', budgetSuffix: '\n<response></s>', budgetPrefix: '<s>' }
    : { suffix: '\nResponse:', exampleJoin: '\nResponse: ', budgetSuffix: '\nResponse:</s>', budgetPrefix: '<s>' };

/**
 * A split's per-device batch size as `SameDatasetTrainDataset.__init__` decides it from the split's
 * first row: `symmetric_batch_size // num_processes` when its type contains `symmetric`, else the
 * per-device batch size; after `load_from_disk`, the per-device batch size for every split (the
 * module ignores the `.log`'s batch sizes there).
 *
 * @example
 * researchBatchSize('symmetric_sts', { perDeviceTrainBatchSize: 8, symmetricBatchSize: 12, worldSize: 4, fromDisk: false }); // 3
 *
 * @category plan
 */
export const researchBatchSize = (
  firstType: string,
  options: { readonly perDeviceTrainBatchSize: number; readonly symmetricBatchSize: number; readonly worldSize: number; readonly fromDisk: boolean },
): number => (!options.fromDisk && isSymmetricType(firstType) ? Math.floor(options.symmetricBatchSize / options.worldSize) : options.perDeviceTrainBatchSize);

import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError, RecordError } from '../core/errors.js';
import type { Example, LocalBatch, LocalSlice, ReplaySlice, SampledBatch, SampledGroup } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import { applyChunkOrder, drawBatch, drawSliceKeyed, type BatchDraws, type BatchShape } from '../plan/batchDraws.js';
import { leaderGroupSize } from '../plan/taskChecks.js';
import { researchGroupSize, researchUsesExamples } from '../plan/researchRules.js';
import { PythonRandom } from '../random/pythonRandom.js';
import { parseSeed, type Seed } from '../random/seed.js';

/**
 * Options of {@link sampleGroup}, with the reference's argument names.
 *
 * @category stages
 */
export interface SampleGroupOptions {
  /** The run's seed: the draws start from `random.seed(seed)`, as transformers' Trainer reseeds before training. */
  readonly seed: Seed;
  /** `train_group_size`: passages per query (1 positive + negatives). Default: 8. */
  readonly trainGroupSize?: number;
  /** `shuffle_ratio`: probability of shuffling a long positive's three chunks. Default: 0. */
  readonly shuffleRatio?: number;
  /** `knowledge_distillation`: carry teacher scores. Default: false. */
  readonly knowledgeDistillation?: boolean;
  /** `retrieval_use_examples`: in-context examples for non-symmetric tasks too. Default: true. */
  readonly retrievalUseExamples?: boolean;
  /**
   * How `type` is read. `'icl'` (FlagEmbedding 1.4's ICL dataset): the task's exact type names, the
   * options above. `'research'` (research/llm_dense_retriever): substrings of the batch's first
   * record's type (`researchGroupSize`, `researchUsesExamples`), `random.sample` of `count + 1`
   * example ids without clamping, teacher scores from `pos_scores`/`neg_scores` whenever present
   * (nulls skipped; no `knowledge_distillation`), and no chunk shuffle (the module stores
   * `shuffle_ratio` and never uses it). Default: `'icl'`.
   */
  readonly typeRules?: 'icl' | 'research';
  /** `symmetric_train_group_size` (research): passages per query of sts and clustering batches. Default: 8. */
  readonly symmetricTrainGroupSize?: number;
  /** `max_class_neg` (research): class batches take `max_class_neg + 1` passages. Default: 1000. */
  readonly maxClassNeg?: number;
}

/** Types whose queries always get in-context examples. */
const ICL_TYPES: ReadonlySet<string> = new Set(['symmetric_sts', 'symmetric_clustering', 'symmetric_class']);

/** @internal */
export const validateSampleGroupOptions = (options: SampleGroupOptions) => {
  parseSeed(options.seed, { allowNegative: true }); // CPython's random.seed takes |seed|
  const trainGroupSize = options.trainGroupSize ?? 8;
  if (!Number.isSafeInteger(trainGroupSize) || trainGroupSize < 1) {
    throw new ConfigError('train_group_size', `must be a positive integer, got ${trainGroupSize}`);
  }
  const shuffleRatio = options.shuffleRatio ?? 0;
  if (!Number.isFinite(shuffleRatio) || shuffleRatio < 0) throw new ConfigError('shuffle_ratio', `must be a number ≥ 0, got ${shuffleRatio}`);
  const typeRules = options.typeRules ?? 'icl';
  if (typeRules !== 'icl' && typeRules !== 'research') throw new ConfigError('flavor', `must be icl or research, got ${String(typeRules)}`);
  const symmetricTrainGroupSize = options.symmetricTrainGroupSize ?? 8;
  if (!Number.isSafeInteger(symmetricTrainGroupSize) || symmetricTrainGroupSize < 1) {
    throw new ConfigError('symmetric_train_group_size', `must be a positive integer, got ${symmetricTrainGroupSize}`);
  }
  const maxClassNeg = options.maxClassNeg ?? 1000;
  if (!Number.isSafeInteger(maxClassNeg) || maxClassNeg < 0) throw new ConfigError('max_class_neg', `must be a non-negative integer, got ${maxClassNeg}`);
  return {
    trainGroupSize,
    shuffleRatio,
    knowledgeDistillation: options.knowledgeDistillation ?? false,
    retrievalUseExamples: options.retrievalUseExamples ?? true,
    typeRules,
    symmetricTrainGroupSize,
    maxClassNeg,
  };
};

/** The research module's teacher scores of one record: whatever `pos_scores` / `neg_scores` hold at the sampled places, nulls skipped. */
const researchScores = (value: Example, positiveIndex: number, negativeIndices: ReadonlyArray<number>): ReadonlyArray<number> => {
  const scores: number[] = [];
  const pos = value.posScores?.[positiveIndex];
  if (pos !== undefined && pos !== null) scores.push(pos);
  for (const n of negativeIndices) {
    const neg = value.negScores?.[n];
    if (neg !== undefined && neg !== null) scores.push(neg);
  }
  return scores;
};

/**
 * The reference's `_get_train_group_size`: from the batch's first record, by its (task's) type when
 * the corpus has a type column, else by its own `train_group_size`. Reads only the index.
 *
 * @example
 * groupSizeOf(batch, 8); // 2 for an only_1neg batch
 *
 * @category plan
 */
export const groupSizeOf = (batch: LocalSlice, trainGroupSize: number): number =>
  leaderGroupSize(batch.task, batch.task.store.meta(batch.indices[0]), trainGroupSize);

/**
 * Whether a batch's queries get in-context examples: `retrieval_use_examples`, or a symmetric type.
 *
 * @category plan
 */
export const usesIcl = (batch: LocalSlice, retrievalUseExamples: boolean): boolean =>
  retrievalUseExamples || (batch.task.columns.type && ICL_TYPES.has(batch.task.type ?? ''));

/**
 * Makes every random choice of each batch, as FlagEmbedding's `_create_batch_data` does: the
 * positive, its optional chunk shuffle, the negatives, and each query's in-context example ids.
 *
 * **Details**: one CPython `random` stream, seeded with `seed` when iteration starts and continuing
 * through every batch of every epoch, consumed in the reference's exact order (per record: positive,
 * shuffle, negatives; then per query: example count and ids). Group size: 2 for `only_1neg`,
 * `min(len(neg) + 1, train_group_size)` for `symmetric_class`, else `train_group_size` (or, with no
 * type anywhere in the corpus, the first record's own `train_group_size`). Negatives shorter than
 * `groupSize − 1` are repeated (the list is tiled before sampling). Teacher scores follow passage
 * order. The ICL draws are made here because they come from the same stream; `augmentIcl`
 * applies them.
 *
 * **After an elastic resume** (slices whose `planWorldSize` differs from their `worldSize`) the
 * reference's per-rank streams have no meaning (each followed one rank of the original split), so
 * each record draws from its own generator keyed by the seed, the step and its place in the global
 * batch (`drawSliceKeyed`): the same state and world size give the same batches, also when resumed
 * again, and a record's positive and negatives do not depend on the new world size. Whenever the
 * world size equals the plan's, the draws are the reference's (the streams are replayed from step 0).
 *
 * **Gotchas**: a record with no negatives in a batch that needs some is a {@link RecordError} (the
 * reference divides by zero). `replay` slices (before a resume point) are drawn for and dropped:
 * their draws are what keep the stream exact after a resume.
 *
 * @example
 * localBatches.pipe(sampleGroup({ seed: 42, trainGroupSize: 8 }));
 *
 * @category stages
 */
export const sampleGroup = (options: SampleGroupOptions): Op<LocalBatch | ReplaySlice, SampledBatch> => {
  const config = validateSampleGroupOptions(options);
  const { trainGroupSize, shuffleRatio, knowledgeDistillation, retrievalUseExamples } = config;
  const research = config.typeRules === 'research';
  const seed = parseSeed(options.seed, { allowNegative: true });
  // The research module never uses shuffle_ratio, and samples count + 1 example ids without clamping.
  const drawOptions = research ? ({ shuffleRatio: 0, exampleSample: 'exact' } as const) : { shuffleRatio };
  return operator(async function* (batches, signal) {
    const random = PythonRandom.fromSeed(options.seed);
    for await (const batch of batches) {
      signal?.throwIfAborted();
      const keyed = (batch.planWorldSize ?? batch.worldSize) !== batch.worldSize;
      // Keyed draws need nothing from earlier steps: replayed steps are skipped unread.
      if (keyed && batch.replay) continue;
      const firstType = research ? (batch.task.store.meta(batch.indices[0]).type ?? '') : '';
      const groupSize = research ? researchGroupSize(firstType, config) : groupSizeOf(batch, trainGroupSize);
      // Draws depend only on counts, so replayed steps (before a resume point) are drawn from the index.
      const metas = batch.indices.map((i) => batch.task.store.meta(i));
      for (const meta of metas) {
        if (meta.negatives === 0 && groupSize > 1) {
          throw new RecordError([
            {
              file: meta.file,
              line: meta.line,
              field: 'neg',
              message: `is empty, but its batch needs ${groupSize - 1} negatives per query (group size ${groupSize})`,
            },
          ]);
        }
      }
      const icl = research ? researchUsesExamples(firstType, retrievalUseExamples) : usesIcl(batch, retrievalUseExamples);
      const shape: BatchShape = { groupSize, icl, records: metas.map((m) => ({ positiveLengths: m.positiveLengths, negatives: m.negatives })) };
      const draws: BatchDraws = keyed
        ? drawSliceKeyed(seed < 0n ? -seed : seed, batch.globalStep, batch.rank * batch.indices.length, shape, drawOptions)
        : drawBatch(random, shape, drawOptions);
      if (batch.replay) continue;
      const groups = batch.records.map(({ value }, i): SampledGroup => {
        const { positiveIndex, chunkOrder, negativeIndices } = draws.records[i]!;
        const teacherScores = research
          ? researchScores(value, positiveIndex, negativeIndices)
          : knowledgeDistillation && value.posScores !== undefined && value.negScores !== undefined
            ? [value.posScores[positiveIndex]!, ...negativeIndices.map((n) => value.negScores![n]!)]
            : null;
        return { positiveIndex, positive: applyChunkOrder(value.pos[positiveIndex]!, chunkOrder), negativeIndices, teacherScores };
      }) as unknown as ReadonlyNonEmptyArray<SampledGroup>;
      yield { ...batch, groupSize, groups, icl: icl ? (draws.icl as SampledBatch['icl']) : null };
    }
  });
};

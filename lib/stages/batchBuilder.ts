/**
 * The per-batch work after sampling as one step.
 *
 * @module
 */
import type { Step } from '../core/mapConcurrent.js';
import type { PaddedBatch, SampledBatch, TokenizedBatch } from '../core/model.js';
import { augmentIclStep, type AugmentIclOptions } from './augmentIcl.js';
import { formatPromptStep, type FormatPromptOptions } from './formatPrompt.js';
import { padStep } from './pad.js';
import { tokenizeStep } from './tokenize.js';

/**
 * What {@link batchBuilder} reads.
 *
 * @category models
 */
export interface BatchBuilderOptions extends FormatPromptOptions, AugmentIclOptions {
  readonly padToMultipleOf?: number | null;
  readonly subBatchSize?: number | null;
}

/**
 * The per-batch work after sampling, as one step: `formatPrompt`, `augmentIcl`, `tokenize`, `pad`
 * (the same four stages, applied to one batch), so that several batches can be built at once.
 * Returns a step factory: each run gets its own steps.
 *
 * @example
 * sampled.pipe(mapConcurrent(4, batchBuilder(options)));
 *
 * @category stages
 */
export const batchBuilder = (options: BatchBuilderOptions): (() => Step<SampledBatch, PaddedBatch>) => {
  const texts = textBuilder(options);
  const toPadded = paddingStep(options);
  return () => {
    const toIds = texts();
    return async (batch) => toPadded(await toIds(batch));
  };
};

/**
 * {@link batchBuilder} without `pad`: texts and ids (what worker threads compute).
 *
 * @category stages
 */
export const textBuilder = (options: BatchBuilderOptions): (() => Step<SampledBatch, TokenizedBatch>) => {
  // Checked now: bad options throw when the pipeline is built.
  formatPromptStep(options);
  augmentIclStep(options);
  tokenizeStep(options);
  return () => {
    const toPrompted = formatPromptStep(options);
    const toTexts = augmentIclStep(options);
    const toIds = tokenizeStep(options);
    return async (batch) => toIds(await toTexts(await toPrompted(batch)));
  };
};

/**
 * `pad` for one batch, with the tokenizer's pad token and side.
 *
 * @category stages
 */
export const paddingStep = (options: BatchBuilderOptions): Step<TokenizedBatch, PaddedBatch> =>
  padStep({ ...options, padTokenId: options.tokenizer.padTokenId, paddingSide: options.tokenizer.paddingSide });


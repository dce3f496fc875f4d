/** Stage inputs built from random corpora by running the upstream stages (so they are realistic). */
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import type { GlobalBatch, LocalBatch, LocalSlice, PromptedBatch, SampledBatch, Task, TextBatch, TokenizedBatch } from '../../lib/core/model.js';
import { readRecords } from '../../lib/stages/readRecords.js';
import { toTaskFiles } from '../../lib/stages/toTaskFiles.js';
import { augmentIcl } from '../../lib/stages/augmentIcl.js';
import { epochShuffle } from '../../lib/stages/epochShuffle.js';
import { formatPrompt } from '../../lib/stages/formatPrompt.js';
import { groupByTask } from '../../lib/stages/groupByTask.js';
import { sampleGroup } from '../../lib/stages/sampleGroup.js';
import { shardByRank } from '../../lib/stages/shardByRank.js';
import { tokenize } from '../../lib/stages/tokenize.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { corpus, pipelineOptions, sourced } from './corpus.js';

export const tokenizer = fixtureTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });

/** A corpus with options under which it has steps (every file big enough, no thresholds). */
export const runnable = fc
  .tuple(corpus({ kd: true, maxFiles: 3, maxRecords: 16 }), pipelineOptions)
  .map(([c, o]) => ({
    corpus: c,
    options: { ...o, smallThreshold: 0, dropThreshold: 0, maxExampleNumPerDataset: 100_000_000, worldSize: Math.min(o.worldSize, 2), perDeviceTrainBatchSize: 2, rank: 0, tokenizer, trainData: [] as string[] },
  }))
  .filter(({ corpus: c, options: o }) => c.files.some(([spec]) => spec.records.length >= 2 * o.worldSize));

export type Runnable = typeof runnable extends fc.Arbitrary<infer T> ? T : never;

const STEPS = 5;

export const tasksOf = (r: Runnable): Promise<Task[]> => toArray(from(sourced(r.corpus)).pipe(toTaskFiles(), groupByTask(r.options)));
export const globalBatchesOf = async (r: Runnable): Promise<GlobalBatch[]> =>
  toArray(from(await tasksOf(r)).pipe(epochShuffle(r.options), take(STEPS)));
export const localSlicesOf = async (r: Runnable): Promise<LocalSlice[]> =>
  toArray(from(await globalBatchesOf(r)).pipe(shardByRank(r.options)));
export const localBatchesOf = async (r: Runnable): Promise<LocalBatch[]> =>
  (await toArray(from(await localSlicesOf(r)).pipe(readRecords()))).filter((b): b is LocalBatch => !b.replay);
export const sampledBatchesOf = async (r: Runnable): Promise<SampledBatch[]> =>
  toArray(from(await localBatchesOf(r)).pipe(sampleGroup(r.options)));
export const promptedBatchesOf = async (r: Runnable): Promise<PromptedBatch[]> =>
  toArray(from(await sampledBatchesOf(r)).pipe(formatPrompt(r.options)));
export const textBatchesOf = async (r: Runnable): Promise<TextBatch[]> =>
  toArray(from(await promptedBatchesOf(r)).pipe(augmentIcl(r.options)));
export const tokenizedBatchesOf = async (r: Runnable): Promise<TokenizedBatch[]> =>
  toArray(from(await textBatchesOf(r)).pipe(tokenize(r.options)));

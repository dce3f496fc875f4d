/**
 * Exact resume: stopping after k steps and continuing from the k-th batch's resume state gives
 * exactly the batches k, k+1, … of the uninterrupted run (any corpus, options, ranks, stop point,
 * prefetch depth), on the in-memory and the indexed path; a state from other data, configuration or
 * tokenizer, or one that contradicts itself, is a ResumeError naming what differs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { filter, skip, take } from 'ix/asynciterable/operators';
import { ConfigError } from '../../lib/core/errors.js';
import type { PaddedBatch, ResumeState } from '../../lib/core/model.js';
import { initialResumeState, ResumeError } from '../../lib/core/resume.js';
import { flagEmbeddingBatches, flagEmbeddingBatchesFromRecords, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';
import { augmentIcl } from '../../lib/stages/augmentIcl.js';
import { epochShuffle } from '../../lib/stages/epochShuffle.js';
import { formatPrompt } from '../../lib/stages/formatPrompt.js';
import { groupByTask } from '../../lib/stages/groupByTask.js';
import { pad } from '../../lib/stages/pad.js';
import { readRecords } from '../../lib/stages/readRecords.js';
import { sampleGroup } from '../../lib/stages/sampleGroup.js';
import { shardByRank } from '../../lib/stages/shardByRank.js';
import { tokenize } from '../../lib/stages/tokenize.js';
import { toTaskFiles } from '../../lib/stages/toTaskFiles.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { corpus, pipelineOptions, sourced } from '../arbitraries/corpus.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { fixedOptions, fixedRecords } from '../helpers/resumeFixture.js';
import { jsonl, record, writeTree } from '../helpers/tmp.js';

const tokenizer = fixtureTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });

/** Steps compared after the stop point. */
const WINDOW = 10;

/** The fields a training step consists of (the task and records are provenance). */
const view = (b: PaddedBatch) => ({
  epoch: b.epoch,
  step: b.step,
  globalStep: b.globalStep,
  indices: b.indices,
  queries: b.queries,
  passages: b.passages,
  teacherScores: b.teacherScores,
  noInBatchNeg: b.noInBatchNeg,
  padded: b.padded,
  resume: b.resume,
});

/** A resume state as it comes back from a file. */
const throughJson = (s: ResumeState): ResumeState => JSON.parse(JSON.stringify(s)) as ResumeState;

/** A corpus with options (world size ≤ 2, small batches) and ranks to stop and resume on, and a stop point. */
const resumeCase = fc
  .record({
    corpus: corpus({ kd: true, maxFiles: 3, maxRecords: 14 }),
    options: pipelineOptions,
    seed: fc.oneof(fc.nat({ max: 1000 }), fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String), fc.bigInt({ min: 2n ** 64n, max: 2n ** 80n }).map(String)),
    worldSize: fc.integer({ min: 1, max: 2 }),
    perDeviceTrainBatchSize: fc.integer({ min: 2, max: 4 }),
    stopRank: fc.nat(),
    resumeRank: fc.nat(),
    stop: fc.nat(),
  })
  .map(({ corpus: c, options, seed, worldSize, perDeviceTrainBatchSize, stopRank, resumeRank, stop }) => ({
    records: sourced(c),
    options: { ...options, seed, worldSize, perDeviceTrainBatchSize, trainData: [], tokenizer } as FlagEmbeddingOptions,
    stopRank: stopRank % worldSize,
    resumeRank: resumeRank % worldSize,
    stop,
  }));

/** Steps per epoch (from the plan alone), or null when the corpus has no steps under these options. */
const stepsPerEpoch = async (records: ReadonlyArray<SourcedExample>, o: FlagEmbeddingOptions): Promise<number | null> => {
  try {
    return (await toArray(from(records).pipe(toTaskFiles(), groupByTask(o), epochShuffle({ ...o, epochs: 1 })))).length;
  } catch (e) {
    if (e instanceof ConfigError && (e.option === 'per_device_train_batch_size' || e.option === 'train_data')) return null;
    throw e;
  }
};

type Resumer = (records: ReadonlyArray<SourcedExample>, options: FlagEmbeddingOptions, state: ResumeState) => AsyncIterable<PaddedBatch>;

/** The library's resume: the composed pipeline given `resumeFrom`. */
const libraryResume: Resumer = (records, options, state) => flagEmbeddingBatchesFromRecords(from(records), { ...options, resumeFrom: state });

const run = (records: ReadonlyArray<SourcedExample>, options: FlagEmbeddingOptions, steps: number): Promise<PaddedBatch[]> =>
  toArray(flagEmbeddingBatchesFromRecords(from(records), options).pipe(take(steps)));

/**
 * THE resume property: stop after k steps (k from 0 to 3 epochs) on one rank, resume on another
 * from the k-th batch's state (read back as JSON): the next WINDOW steps are the uninterrupted run's.
 */
const resumesExactly = (resume: Resumer) =>
  fc.asyncProperty(resumeCase, async (c) => {
    const spe = await stepsPerEpoch(c.records, c.options);
    fc.pre(spe !== null);
    const k = c.stop % (3 * spe! + 1);
    const resumeOptions = { ...c.options, rank: c.resumeRank };
    const full = await run(c.records, resumeOptions, k + WINDOW);
    let state: ResumeState;
    if (k === 0) state = initialResumeState(full[0]!.resume.fingerprint, full[0]!.resume.plan);
    else {
      const stopped = await run(c.records, { ...c.options, rank: c.stopRank }, k);
      if (stopped.length !== k) return false;
      state = throughJson(stopped[k - 1]!.resume);
    }
    const resumed = await toArray(from(resume(c.records, resumeOptions, state)).pipe(take(WINDOW)));
    return resumed.length === WINDOW && isDeepStrictEqual(resumed.map(view), full.slice(k).map(view));
  });

/** A "resume" that skips the replayed steps before sampleGroup, so that its random stream restarts at the resume point. */
const reseedingResume: Resumer = (records, o, state) =>
  from(records)
    .pipe(
      toTaskFiles(),
      groupByTask(o),
      epochShuffle({ ...o, resumeFrom: state, fingerprint: { config: state.fingerprint.config, tokenizer: state.fingerprint.tokenizer } }),
      shardByRank(o),
      readRecords(),
      filter((b) => !b.replay),
    )
    .pipe(sampleGroup(o), formatPrompt(o), augmentIcl(o), tokenize(o), pad({ ...o, padTokenId: o.tokenizer.padTokenId, paddingSide: o.tokenizer.paddingSide }));

/** A "resume" that starts one step late. */
const offByOneResume: Resumer = (records, o, state) => from(libraryResume(records, o, state)).pipe(skip(1));

/** The resume state after `k` steps of the fixed case (rank 0). */
const fixedState = async (k: number, extra: Partial<FlagEmbeddingOptions> = {}, records = fixedRecords()): Promise<ResumeState> =>
  throughJson((await run(records, fixedOptions(extra), k))[k - 1]!.resume);

/** What a ResumeError message says differs, by the words it uses for each. */
const NAMES = { data: /the data\b/, config: /the configuration/, tokenizer: /the tokenizer/ } as const;

const rejectsWith = async (iterable: AsyncIterable<PaddedBatch>, pattern: RegExp, notNamed: ReadonlyArray<RegExp> = []) =>
  assert.rejects(toArray(from(iterable).pipe(take(3))), (e: unknown) => {
    assert.ok(e instanceof ResumeError, `expected a ResumeError, got ${String(e)}`);
    assert.match(e.message, pattern);
    for (const other of notNamed) assert.doesNotMatch(e.message, other);
    return true;
  });

// ------------------------------------------------------------------------------------------------

/** A meta-test's verdict: the property failed on a counterexample (not by running out of time or preconditions). */
const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(result.failed && result.counterexample !== null && !result.interrupted, `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips, interrupted: result.interrupted })}`);

describe(`resume properties (FC_SEED=${FC_SEED})`, () => {
  it('stop after k steps (0 … 3 epochs) on any rank, resume on any rank from batch k−1’s state: the next steps are exactly the uninterrupted run’s', async () => {
    await fc.assert(resumesExactly(libraryResume), fcParams({ numRuns: 80 }));
  });

  it('prefetch 0 and prefetch 3 give identical batches, from the start and from a resume point', async () => {
    await fc.assert(
      fc.asyncProperty(resumeCase, async (c) => {
        const spe = await stepsPerEpoch(c.records, c.options);
        fc.pre(spe !== null);
        const k = c.stop % (2 * spe! + 1);
        const o = { ...c.options, rank: c.resumeRank };
        const steps = k + 4;
        const [zero, three] = await Promise.all([run(c.records, { ...o, prefetch: 0 }, steps), run(c.records, { ...o, prefetch: 3 }, steps)]);
        if (!isDeepStrictEqual(zero, three)) return false;
        if (k === 0) return true;
        const state = throughJson(zero[k - 1]!.resume);
        const [r0, r3] = await Promise.all([
          toArray(flagEmbeddingBatchesFromRecords(from(c.records), { ...o, prefetch: 0, resumeFrom: state }).pipe(take(4))),
          toArray(flagEmbeddingBatchesFromRecords(from(c.records), { ...o, prefetch: 3, resumeFrom: state }).pipe(take(4))),
        ]);
        return isDeepStrictEqual(r0, r3) && isDeepStrictEqual(r0.map(view), zero.slice(k).map(view));
      }),
      fcParams({ numRuns: 15 }),
    );
  });

  it('meta: a "resume" that reseeds sampleGroup (skips the replayed draws) fails the resume property', async () => {
    const result = await fc.check(resumesExactly(reseedingResume), fcParams({ numRuns: 30 }));
    assertCaught(result);
  });

  it('meta: a "resume" that starts one step late fails the resume property', async () => {
    const result = await fc.check(resumesExactly(offByOneResume), fcParams({ numRuns: 10 }));
    assertCaught(result);
  });
});

describe('resume: examples', () => {
  it('a state written by rank 0 resumes rank 1 exactly (the configuration fingerprint leaves out the rank)', async () => {
    const records = fixedRecords();
    const k = 7;
    const full = await run(records, fixedOptions({ rank: 1 }), k + WINDOW);
    const state = await fixedState(k);
    assert.equal(state.globalStep, k);
    const resumed = await run(records, fixedOptions({ rank: 1, resumeFrom: state }), WINDOW);
    assert.deepEqual(resumed.map(view), full.slice(k).map(view));
  });

  it('the resume state says where the next step is: globalStep k, and the epoch and step of batch k', async () => {
    const batches = await run(fixedRecords(), fixedOptions(), 30);
    for (const [k, b] of batches.entries()) {
      const next = batches[k + 1];
      if (next === undefined) break;
      assert.deepEqual([b.resume.globalStep, b.resume.epoch, b.resume.step], [next.globalStep, next.epoch, next.step]);
    }
  });

  it('a state from different data is a ResumeError naming the data', async () => {
    const state = await fixedState(5);
    await rejectsWith(flagEmbeddingBatchesFromRecords(from(fixedRecords(1)), fixedOptions({ resumeFrom: state })), NAMES.data, [NAMES.config, NAMES.tokenizer]);
  });

  it('a state from a different configuration value (train_group_size) is a ResumeError naming the configuration', async () => {
    const state = await fixedState(5);
    await rejectsWith(flagEmbeddingBatchesFromRecords(from(fixedRecords()), fixedOptions({ trainGroupSize: 4, resumeFrom: state })), NAMES.config, [NAMES.data, NAMES.tokenizer]);
  });

  it('a state from a different tokenizer is a ResumeError naming the tokenizer', async () => {
    const state = await fixedState(5);
    const other = fixtureTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>', '<extra>'] });
    await rejectsWith(flagEmbeddingBatchesFromRecords(from(fixedRecords()), fixedOptions({ tokenizer: other, resumeFrom: state })), NAMES.tokenizer, [NAMES.data, NAMES.config]);
  });

  it('rank, prefetch and epochs are not part of the configuration: changing them resumes fine', async () => {
    const state = await fixedState(5);
    for (const extra of [{ rank: 1 }, { prefetch: 0 }, { prefetch: 5 }, { epochs: 9 }]) {
      const out = await run(fixedRecords(), fixedOptions({ ...extra, resumeFrom: state }), 2);
      assert.equal(out[0]!.globalStep, 5, JSON.stringify(extra));
    }
  });

  it('a state whose epoch or step disagrees with its globalStep is a ResumeError', async () => {
    const state = await fixedState(12);
    for (const bad of [
      { ...state, epoch: state.epoch + 1 },
      { ...state, step: state.step + 1 },
      { ...state, epoch: state.epoch + 1, step: 0 },
    ]) {
      await rejectsWith(flagEmbeddingBatchesFromRecords(from(fixedRecords()), fixedOptions({ resumeFrom: bad })), /epoch .* step/);
    }
  });

  it('the indexed path (task files on disk, a temporary index cache) resumes exactly too', async () => {
    const root = writeTree({
      'retrieval/a.jsonl': jsonl(...Array.from({ length: 14 }, (_, i) => record(i, { prompt: 'Find it.', type: 'normal', pos_scores: [1], neg_scores: [3, 2, 1] }))),
      'retrieval/b.jsonl': jsonl(...Array.from({ length: 9 }, (_, i) => record(100 + i, { prompt: 'Find it.', type: 'normal', pos_scores: [2], neg_scores: [1, 2, 3] }))),
      'sts/s.jsonl': jsonl(...Array.from({ length: 12 }, (_, i) => record(200 + i, { prompt: 'Same meaning.', type: 'symmetric_sts' }))),
    });
    const indexCacheDir = mkdtempSync(join(tmpdir(), 'llm-retriever-data-resume-'));
    const options = fixedOptions({ trainData: [join(root, 'retrieval'), join(root, 'sts')], indexCacheDir, knowledgeDistillation: true, rank: 1 });
    const k = 9;
    const full = await toArray(flagEmbeddingBatches(options).pipe(take(k + WINDOW)));
    const stopped = await toArray(flagEmbeddingBatches({ ...options, rank: 0 }).pipe(take(k)));
    const resumed = await toArray(flagEmbeddingBatches({ ...options, resumeFrom: throughJson(stopped[k - 1]!.resume) }).pipe(take(WINDOW)));
    assert.equal(resumed.length, WINDOW);
    assert.deepEqual(resumed.map(view), full.slice(k).map(view));
    assert.ok(full.some((b) => b.teacherScores !== null));
  });
});

/**
 * maskFalseNegatives: the batches are the sampler's, untouched; a query's own positive is never
 * masked; on corpora with planted duplicates every planted pair is found and every mark is on a
 * planted text; the global mask's columns are every rank's passages as each rank draws them (also
 * after a resume, elastic or not); the mask is the same whatever the tokenizer backend, worker
 * threads, concurrency, prefetch or resume point; and each of these properties fails for a
 * deliberately broken mask.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { map, take } from 'ix/asynciterable/operators';
import { ConfigError } from '../../lib/core/errors.js';
import type { FalseNegativeMask, LocalBatch, PaddedBatch, ReplaySlice, ResumeState, SampledBatch } from '../../lib/core/model.js';
import type { Op } from '../../lib/core/operator.js';
import { flagEmbeddingBatchesFromRecords, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { falseNegativeRows, maskGroupsOf } from '../../lib/plan/falseNegatives.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';
import { epochShuffle } from '../../lib/stages/epochShuffle.js';
import { groupByTask } from '../../lib/stages/groupByTask.js';
import { maskFalseNegatives, type FalseNegativeScope } from '../../lib/stages/maskFalseNegatives.js';
import { readRecords } from '../../lib/stages/readRecords.js';
import { sampleGroup } from '../../lib/stages/sampleGroup.js';
import { shardByRank } from '../../lib/stages/shardByRank.js';
import { toTaskFiles } from '../../lib/stages/toTaskFiles.js';
import { loadDefaultTokenizer } from '../../lib/tokenizers/transformers.js';
import { corpus, pipelineOptions, sourced } from '../arbitraries/corpus.js';
import { plantedCorpus, type Plant } from '../arbitraries/planted.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { fixedOptions, fixedRecords, fixtureTokenizerForResume as tokenizer } from '../helpers/resumeFixture.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

const STEPS = 6;

type Masker = (o: FlagEmbeddingOptions & { readonly falseNegativeScope: FalseNegativeScope }) => Op<LocalBatch | ReplaySlice, SampledBatch>;

/** The library's stage, with sampleGroup as the sampler. */
const honest: Masker = (o) => maskFalseNegatives({ ...o, sampler: () => sampleGroup(o) });

/** Sampled (and masked) batches of one rank, on the stage-level pipeline. */
const sampledRun = (records: ReadonlyArray<SourcedExample>, o: FlagEmbeddingOptions, steps: number, masker: Masker | null, scope: FalseNegativeScope = 'local') =>
  toArray(
    from(records)
      .pipe(toTaskFiles(), groupByTask(o), epochShuffle(o), shardByRank(o), readRecords())
      .pipe(masker === null ? sampleGroup(o) : masker({ ...o, falseNegativeScope: scope }), take(steps)),
  );

/** Every rank's sampled batches of the same steps. */
const allRanks = (records: ReadonlyArray<SourcedExample>, o: FlagEmbeddingOptions, steps: number, masker: Masker | null, scope: FalseNegativeScope = 'local') =>
  Promise.all(Array.from({ length: o.worldSize ?? 1 }, (_, rank) => sampledRun(records, { ...o, rank }, steps, masker, scope)));

/** A column of a step: which record's passage, and which entry of its pos / neg list it is. */
interface Column {
  readonly record: string;
  readonly list: 'pos' | 'neg';
  readonly at: number;
  readonly text: string;
  /** The rank and query whose group it is in, and its place in that group. */
  readonly rank: number;
  readonly query: number;
  readonly slot: number;
}

const recordKey = (r: { readonly file: string; readonly record: number }) => `${r.file}#${r.record}`;

const columnsOf = (batches: ReadonlyArray<SampledBatch>): Column[] =>
  batches.flatMap((b, rank) =>
    b.records.flatMap((r, query) => {
      const g = b.groups[query]!;
      const texts = maskGroupsOf({ records: [r], groups: [g] } as never)[0]!.passages;
      return [
        { record: recordKey(r), list: 'pos' as const, at: g.positiveIndex, text: texts[0]!, rank, query, slot: 0 },
        ...g.negativeIndices.map((n, k) => ({ record: recordKey(r), list: 'neg' as const, at: n, text: texts[k + 1]!, rank, query, slot: k + 1 })),
      ];
    }),
  );

const maskOf = (b: SampledBatch): FalseNegativeMask => {
  if (b.falseNegativeMask === undefined) throw new Error('no mask');
  return b.falseNegativeMask;
};

/** Runnable random corpora (world size ≤ 3). */
const maskCase = fc
  .record({ corpus: corpus({ kd: false, maxFiles: 3, maxRecords: 14 }), options: pipelineOptions, worldSize: fc.integer({ min: 1, max: 3 }), scope: fc.constantFrom<FalseNegativeScope>('local', 'global') })
  .map(({ corpus: c, options, worldSize, scope }) => ({
    records: sourced(c),
    options: { ...options, worldSize, perDeviceTrainBatchSize: Math.min(options.perDeviceTrainBatchSize, 3), smallThreshold: 0, dropThreshold: 0, trainData: [], tokenizer, rank: 0 } as FlagEmbeddingOptions,
    scope,
  }));

/** Runs `body` unless the corpus has no step under these options (a ConfigError of the plan). */
const whenRunnable = async <T>(body: () => Promise<T>): Promise<T | null> => {
  try {
    return await body();
  } catch (e) {
    if (e instanceof ConfigError && (e.option === 'per_device_train_batch_size' || e.option === 'train_data')) return null;
    throw e;
  }
};

// ------------------------------------------------------------------------------------------------
// The properties, as predicates of a masker (so that the meta-tests can run them on broken ones).
// ------------------------------------------------------------------------------------------------

/** A query's own positive slot is never masked. */
const ownPositiveNeverMasked = (masker: Masker) =>
  fc.asyncProperty(maskCase, async (c) => {
    const ranks = await whenRunnable(() => allRanks(c.records, c.options, STEPS, masker, c.scope));
    fc.pre(ranks !== null);
    return ranks!.every((batches, rank) =>
      batches.every((b, s) => {
        const columns = columnsOf(c.scope === 'global' ? ranks!.map((r) => r[s]!) : [b]);
        return maskOf(b).every((row, i) => {
          const own = columns.findIndex((col) => col.rank === (c.scope === 'global' ? rank : 0) && col.query === i && col.slot === 0);
          return row.length === columns.length && row[own] === false;
        });
      }),
    );
  });

/** The marks each plant implies for rows of `batch` (rank `rank`) over `columns`. */
const impliedMarks = (plant: Plant, batch: SampledBatch, columns: ReadonlyArray<Column>, ownRank: number): Array<[number, number]> => {
  const fileName = `planted${plant.from.file}.jsonl`;
  const a = `${fileName}#${plant.from.record}`;
  const b = `${fileName}#${plant.to.record}`;
  const rowOf = (key: string) => batch.records.findIndex((r) => recordKey(r) === key);
  const cols = (key: string, list: 'pos' | 'neg', at: number) => columns.flatMap((col, j) => (col.record === key && col.list === list && col.at === at ? [j] : []));
  const inGroup = (row: number, list: 'pos' | 'neg', at: number) => columns.some((col) => col.rank === ownRank && col.query === row && col.list === list && col.at === at);
  const out: Array<[number, number]> = [];
  const mark = (row: number, js: ReadonlyArray<number>) => {
    if (row >= 0) for (const j of js) out.push([row, j]);
  };
  switch (plant.kind) {
    case 'positiveAsNegative': // a's positive is one of b's negatives: a false negative for a (rule 1)
    case 'ownNegativeIsPositive':
      mark(rowOf(a), cols(b, 'neg', plant.to.at));
      break;
    case 'sharedPositive': // each one's positive is the other's positive slot
      mark(rowOf(a), cols(b, 'pos', plant.to.at));
      mark(rowOf(b), cols(a, 'pos', plant.from.at));
      break;
    case 'sharedNegative': // a copy of a negative in the query's own group (rule 2)
      if (rowOf(a) >= 0 && inGroup(rowOf(a), 'neg', plant.from.at)) mark(rowOf(a), cols(b, 'neg', plant.to.at));
      if (rowOf(b) >= 0 && inGroup(rowOf(b), 'neg', plant.to.at)) mark(rowOf(b), cols(a, 'neg', plant.from.at));
      break;
  }
  return out;
};

/** Planted corpora with options under which they have steps. */
const plantedCase = fc
  .record({ planted: plantedCorpus(), worldSize: fc.integer({ min: 1, max: 3 }), perDevice: fc.integer({ min: 2, max: 4 }), groupSize: fc.integer({ min: 2, max: 8 }), seed: fc.nat(), scope: fc.constantFrom<FalseNegativeScope>('local', 'global') })
  .map(({ planted, worldSize, perDevice, groupSize, seed, scope }) => ({
    planted,
    options: fixedOptions({ worldSize, perDeviceTrainBatchSize: perDevice, trainGroupSize: groupSize, seed, shuffleRatio: 0.5 }),
    scope,
  }));

/** Every planted pair that meets in a step is marked, and every mark is on a planted text. */
const findsPlantedPairs = (masker: Masker) =>
  fc.asyncProperty(plantedCase, async ({ planted, options, scope }) => {
    const ranks = await whenRunnable(() => allRanks(planted.records, options, 2 * STEPS, masker, scope));
    fc.pre(ranks !== null);
    for (const [rank, batches] of ranks!.entries()) {
      for (const [s, b] of batches.entries()) {
        const columns = columnsOf(scope === 'global' ? ranks!.map((r) => r[s]!) : [b]);
        const rows = maskOf(b);
        const ownRank = scope === 'global' ? rank : 0;
        for (const plant of planted.plants) {
          for (const [i, j] of impliedMarks(plant, b, columns, ownRank)) if (rows[i]![j] !== true) return false;
        }
        const sound = rows.every((row, i) => row.every((m, j) => !m || planted.plantedTexts.has(columns[j]!.text)));
        if (!sound) return false;
      }
    }
    return true;
  });

/** The global mask's columns are every rank's passages as each rank itself draws them (each rank's own run, no mask), rows by the model. */
const globalSeesEveryRank = (masker: Masker) =>
  fc.asyncProperty(maskCase, async (c) => {
    const o = c.options;
    const [own, masked] = await Promise.all([
      whenRunnable(() => allRanks(c.records, o, STEPS, null)),
      whenRunnable(() => allRanks(c.records, o, STEPS, masker, 'global')),
    ]);
    fc.pre(own !== null && masked !== null);
    return masked!.every((batches, rank) =>
      batches.every((b, s) => {
        const step = own!.map((r) => r[s]!);
        const columns = columnsOf(step);
        // The model: the rule's sentences over explicit columns.
        const expected = b.records.map((_, i) => {
          const group = columns.filter((col) => col.rank === rank && col.query === i);
          const positives = b.records[i]!.value.pos as ReadonlyArray<string>;
          return columns.map((col) => {
            const mine = col.rank === rank && col.query === i;
            if (mine && col.slot === 0) return false;
            return positives.includes(col.text) || (!mine && group.some((x) => x.text === col.text));
          });
        });
        return isDeepStrictEqual(maskOf(b), expected);
      }),
    );
  });

// ------------------------------------------------------------------------------------------------
// Broken maskers, for the meta-tests.
// ------------------------------------------------------------------------------------------------

/** Marks every query's own positive slot too. */
const marksOwnPositive: Masker = (o) => (src) =>
  from(src).pipe(
    honest(o),
    map((b: SampledBatch) => {
      const width = b.groups.reduce((n, g) => n + 1 + g.negativeIndices.length, 0);
      const offset = o.falseNegativeScope === 'global' ? (o.rank ?? 0) * width : 0;
      let start = offset;
      const rows = maskOf(b).map((row, i) => {
        const out = row.map((m, j) => m || j === start);
        start += 1 + b.groups[i]!.negativeIndices.length;
        return out;
      });
      return { ...b, falseNegativeMask: rows };
    }),
  );

/** Forgets rule 2: keeps only the marks whose text is a positive of the query's record. */
const withoutRule2: Masker = (o) => (src) =>
  from(src).pipe(
    honest({ ...o, falseNegativeScope: 'local' }),
    map((b: SampledBatch) => {
      const texts = maskGroupsOf(b).flatMap((g) => g.passages);
      const rows = maskOf(b).map((row, i) => row.map((m, j) => m && (b.records[i]!.value.pos as ReadonlyArray<string>).includes(texts[j]!)));
      return { ...b, falseNegativeMask: rows };
    }),
  );

/** Marks nothing. */
const marksNothing: Masker = (o) => (src) =>
  from(src).pipe(
    honest(o),
    map((b: SampledBatch) => ({ ...b, falseNegativeMask: maskOf(b).map((row) => row.map(() => false)) })),
  );

/** Draws the other ranks' groups from streams seeded one higher (not the streams those ranks draw from). */
const misSeededPeers: Masker = (o) => {
  let lane = 0;
  return maskFalseNegatives({
    ...o,
    sampler: () => {
      const rank = lane++;
      return sampleGroup(rank === (o.rank ?? 0) ? o : { ...o, seed: (BigInt(o.seed) + 1n).toString() });
    },
  });
};

const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(result.failed && result.counterexample !== null && !result.interrupted, `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips })}`);

describe(`maskFalseNegatives properties (FC_SEED=${FC_SEED})`, () => {
  it('the batches are the sampler’s (sampleGroup’s), field for field, with a mask added', async () => {
    await fc.assert(
      fc.asyncProperty(maskCase, async (c) => {
        const [plain, masked] = await Promise.all([
          whenRunnable(() => allRanks(c.records, c.options, STEPS, null)),
          whenRunnable(() => allRanks(c.records, c.options, STEPS, honest, c.scope)),
        ]);
        fc.pre(plain !== null && masked !== null);
        return isDeepStrictEqual(
          masked!.map((bs) => bs.map(({ falseNegativeMask: _m, ...b }) => b)),
          plain,
        );
      }),
      fcParams({ numRuns: 40 }),
    );
  });

  it('a query’s own positive is never masked (local and global)', async () => {
    await fc.assert(ownPositiveNeverMasked(honest), fcParams({ numRuns: 60 }));
  });

  it('planted duplicates: every planted pair that meets in a step is marked, and every mark is on a planted text (local and global)', async () => {
    await fc.assert(findsPlantedPairs(honest), fcParams({ numRuns: 80 }));
  });

  it('global: the columns are every rank’s passages as that rank draws them, and the rows are the rule’s', async () => {
    await fc.assert(globalSeesEveryRank(honest), fcParams({ numRuns: 50 }));
  });

  it('meta: a mask that marks the query’s own positive fails “own positive never masked”', async () => {
    assertCaught(await fc.check(ownPositiveNeverMasked(marksOwnPositive), fcParams({ numRuns: 30 })));
  });

  it('meta: a mask that marks nothing fails the planted-pairs property (planted pairs do meet)', async () => {
    assertCaught(await fc.check(findsPlantedPairs(marksNothing), fcParams({ numRuns: 50 })));
  });

  it('meta: a mask without rule 2 (copies of the group’s negatives) fails the planted-pairs property', async () => {
    assertCaught(await fc.check(findsPlantedPairs(withoutRule2), fcParams({ numRuns: 200 })));
  });

  it('meta: a global mask whose other ranks draw from the wrong streams fails “every rank’s passages as that rank draws them”', async () => {
    assertCaught(await fc.check(globalSeesEveryRank(misSeededPeers), fcParams({ numRuns: 50 })));
  });
});

describe(`maskFalseNegatives in the pipeline: the same mask whatever the execution (FC_SEED=${FC_SEED})`, () => {
  const run = (records: ReadonlyArray<SourcedExample>, o: FlagEmbeddingOptions, steps: number): Promise<PaddedBatch[]> =>
    toArray(flagEmbeddingBatchesFromRecords(from(records), o).pipe(take(steps)));
  const masks = (bs: ReadonlyArray<PaddedBatch>) => bs.map((b) => b.falseNegativeMask);

  it('prefetch 0, concurrency 3, and a resume at any step give the same masks as the plain run', async () => {
    await fc.assert(
      fc.asyncProperty(maskCase, fc.nat(), fc.nat(), async (c, r, stop) => {
        const o = { ...c.options, rank: r % (c.options.worldSize ?? 1), falseNegativeScope: c.scope };
        const plain = await whenRunnable(() => run(c.records, o, STEPS));
        fc.pre(plain !== null && plain.length === STEPS);
        const k = stop % STEPS;
        const state: ResumeState | null = k === 0 ? null : JSON.parse(JSON.stringify(plain![k - 1]!.resume)) as ResumeState;
        const [noPrefetch, concurrent, resumed] = await Promise.all([
          run(c.records, { ...o, prefetch: 0 }, STEPS),
          run(c.records, { ...o, concurrency: 3 }, STEPS),
          run(c.records, { ...o, resumeFrom: state }, STEPS - k),
        ]);
        return (
          plain!.every((b) => b.falseNegativeMask !== undefined && b.falseNegativeMask.length === b.queries.length) &&
          isDeepStrictEqual(masks(noPrefetch), masks(plain!)) &&
          isDeepStrictEqual(masks(concurrent), masks(plain!)) &&
          isDeepStrictEqual(masks(resumed), masks(plain!).slice(k))
        );
      }),
      fcParams({ numRuns: 25 }),
    );
  });

  it('worker threads give the same masks', async () => {
    const o = fixedOptions({ falseNegativeScope: 'global' });
    const [here, threads] = await Promise.all([run(fixedRecords(), o, 8), run(fixedRecords(), { ...o, workers: 1 }, 8)]);
    assert.deepEqual(masks(threads), masks(here));
    assert.deepEqual(threads, here);
  });

  it('the js and native backends (Mistral’s tokenizer) and the fixture tokenizer give the same masks', async () => {
    const records = fixedRecords();
    const [js, native] = await Promise.all([loadDefaultTokenizer({ backend: 'js' }), loadDefaultTokenizer({ backend: 'native' })]);
    const o = fixedOptions({ falseNegativeScope: 'global', queryMaxLen: 256, passageMaxLen: 64 });
    const [a, b, f] = await Promise.all([run(records, { ...o, tokenizer: js }, 8), run(records, { ...o, tokenizer: native }, 8), run(records, o, 8)]);
    assert.deepEqual(masks(a), masks(f));
    assert.deepEqual(masks(b), masks(f));
  });

  it('an elastic resume (2 ranks → 1) gives global masks over the same global batch the resumed ranks draw', async () => {
    const records = fixedRecords();
    const state = JSON.parse(JSON.stringify((await run(records, fixedOptions(), 4))[3]!.resume)) as ResumeState;
    const o = fixedOptions({ worldSize: 1, perDeviceTrainBatchSize: 4, resumeFrom: state });
    const [global, local] = await Promise.all([run(records, { ...o, falseNegativeScope: 'global' }, 6), run(records, { ...o, falseNegativeScope: 'local' }, 6)]);
    // One rank: the global batch is this rank's batch, so both scopes agree.
    assert.deepEqual(masks(global), masks(local));
  });

  it('after an elastic resume (2 ranks × 3 → 3 ranks × 2), every rank’s global mask equals the rule over the 3 ranks’ own draws', async () => {
    const records = fixedRecords();
    const o = fixedOptions({ perDeviceTrainBatchSize: 3, trainGroupSize: 2 });
    // The symmetric task's global batch (2 × 1) does not split across 3 ranks: keep only the retrieval file.
    const retrieval = records.filter((r) => r.file === 'a.jsonl');
    const state = JSON.parse(JSON.stringify((await sampledRun(retrieval, o, 3, null))[2]!.resume)) as ResumeState;
    const resumed = { ...o, worldSize: 3, perDeviceTrainBatchSize: 2, resumeFrom: state };
    const [own, masked] = await Promise.all([allRanks(retrieval, resumed, 6, null), allRanks(retrieval, resumed, 6, honest, 'global')]);
    assert.ok(own[0]!.length === 6 && own[0]![0]!.planWorldSize === 2 && own[0]![0]!.worldSize === 3);
    for (const [rank, batches] of masked.entries()) {
      for (const [s, b] of batches.entries()) {
        const groups = own.map((r) => maskGroupsOf(r[s]!));
        assert.deepEqual(maskOf(b), falseNegativeRows(groups, rank), `rank ${rank} step ${s}`);
      }
    }
  });

  it('without falseNegativeScope (or with none) there is no mask, and the batches are the same as with one', async () => {
    const records = fixedRecords();
    const [none, explicit, masked] = await Promise.all([
      run(records, fixedOptions(), 6),
      run(records, fixedOptions({ falseNegativeScope: 'none' }), 6),
      run(records, fixedOptions({ falseNegativeScope: 'local' }), 6),
    ]);
    assert.ok(none.every((b) => !('falseNegativeMask' in b)));
    assert.deepEqual(explicit, none);
    assert.deepEqual(masked.map(({ falseNegativeMask: _m, ...b }) => b), none);
  });
});

describe('maskFalseNegatives: options and laws', () => {
  it('a bad scope, rank or world size, or no sampler, is a ConfigError at construction', () => {
    const sampler = () => sampleGroup({ seed: 1 });
    for (const [options, option] of [
      [{ falseNegativeScope: 'everything', sampler }, 'false_negative_scope'],
      [{ falseNegativeScope: 'global', rank: 2, worldSize: 2, sampler }, 'rank'],
      [{ falseNegativeScope: 'global', worldSize: 0, sampler }, 'world_size'],
      [{ falseNegativeScope: 'local' }, 'sampler'],
    ] as const) {
      assert.throws(() => maskFalseNegatives(options as never), (e: unknown) => e instanceof ConfigError && e.option === option, JSON.stringify(options));
    }
  });

  it('a global mask over slices without globalIndices is an InvariantError', async () => {
    const slices = await toArray(from(fixedRecords()).pipe(toTaskFiles(), groupByTask(fixedOptions()), epochShuffle(fixedOptions()), shardByRank(fixedOptions()), readRecords(), take(1)));
    const bare = slices.map(({ globalIndices: _g, ...s }) => s);
    await assert.rejects(toArray(from(bare).pipe(honest({ ...fixedOptions(), falseNegativeScope: 'global' }))), /globalIndices|global batch/);
  });

  checkOperatorLaws({
    sample: fc.tuple(plantedCase, fc.constantFrom<FalseNegativeScope>('local', 'global')),
    input: async ([c]) =>
      (await whenRunnable(() => toArray(from(c.planted.records).pipe(toTaskFiles(), groupByTask(c.options), epochShuffle(c.options), shardByRank(c.options), readRecords(), take(4))))) ?? [],
    op: ([c, scope]) => honest({ ...c.options, falseNegativeScope: scope }),
    numRuns: 10,
  });
});

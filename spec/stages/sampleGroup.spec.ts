/**
 * sampleGroup: group size per type, valid negatives (distinct when there are enough, evenly
 * repeated when short), teacher scores in passage order, the positive's chunk shuffle, ICL draws
 * that never include the query itself, and one random stream carried across batches.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError, RecordError } from '../../lib/core/errors.js';
import type { Example, LocalBatch, SampledBatch } from '../../lib/core/model.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { sampleGroup, type SampleGroupOptions } from '../../lib/stages/sampleGroup.js';
import { localBatchesOf, runnable } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { columns, example, localBatch, task } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Stage = (options: SampleGroupOptions) => Op<LocalBatch, SampledBatch>;

const ICL_TYPES = ['symmetric_sts', 'symmetric_clustering', 'symmetric_class'];
const codePoints = (s: string): number => [...s].length;

/** A long positive (over 100 code points, with astral characters) or a short one. */
const positiveText = (i: number, j: number, long: boolean): string => (long ? `p${i}.${j} ${'😀ab '.repeat(25)}` : `p${i}.${j}`);

/** A batch (or two) of one hand-built task: types, group sizes, scores, long positives, short negatives all vary. */
const handCase = fc.record({
  typed: fc.boolean(),
  type: fc.constantFrom('normal', 'only_1neg', 'symmetric_sts', 'symmetric_class', 'symmetric_clustering', 'retrieval'),
  firstTrainGroupSize: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  records: fc.array(fc.record({ pos: fc.integer({ min: 1, max: 3 }), neg: fc.integer({ min: 1, max: 10 }), long: fc.boolean() }), { minLength: 1, maxLength: 6 }),
  scored: fc.boolean(),
  twoBatches: fc.boolean(),
  options: fc.record({
    seed: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 70n })),
    trainGroupSize: fc.integer({ min: 1, max: 12 }),
    knowledgeDistillation: fc.boolean(),
    retrievalUseExamples: fc.boolean(),
    shuffleRatio: fc.constantFrom(0, 0.5, 1),
  }),
});
type HandCase = typeof handCase extends fc.Arbitrary<infer C> ? C : never;

const batchesOfCase = (c: HandCase): LocalBatch[] => {
  const values: Example[] = c.records.map((r, i) => ({
    ...example(i, {}, r.neg),
    pos: Array.from({ length: r.pos }, (_, j) => positiveText(i, j, r.long)) as unknown as Example['pos'],
    ...(c.typed ? { type: c.type, prompt: 'p' } : {}),
    ...(c.typed && c.type === 'symmetric_clustering' ? { category: 'c' } : {}),
    ...(!c.typed && i === 0 && c.firstTrainGroupSize !== undefined ? { trainGroupSize: c.firstTrainGroupSize } : {}),
    ...(c.scored ? { posScores: Array.from({ length: r.pos }, (_, j) => 100 + 10 * i + j), negScores: Array.from({ length: r.neg }, (_, j) => 10 * i + j) } : {}),
  }));
  const t = task({
    name: 'hand.jsonl',
    records: values,
    batchSize: values.length,
    columns: columns({ type: c.typed, prompt: c.typed, trainGroupSize: !c.typed && c.firstTrainGroupSize !== undefined, posScores: c.scored, negScores: c.scored }),
  });
  const all = t.records.map((_, i) => i);
  return c.twoBatches ? [localBatch(t, all, 0), localBatch(t, [...all].reverse(), 1)] : [localBatch(t, all, 0)];
};

// ---------------------------------------------------------------------------------------------
// The documented rules, one predicate each (batch in, sampled batch out).

type Check = (batch: LocalBatch, sampled: SampledBatch, options: Required<Omit<SampleGroupOptions, 'seed' | 'typeRules' | 'symmetricTrainGroupSize' | 'maxClassNeg'>>) => boolean;

const expectedGroupSize = (batch: LocalBatch, trainGroupSize: number): number => {
  const first = batch.records[0].value;
  if (!batch.task.columns.type) return first.trainGroupSize ?? trainGroupSize;
  switch (first.type) {
    case 'only_1neg':
      return 2;
    case 'symmetric_class':
      return Math.min(first.neg.length + 1, trainGroupSize);
    default:
      return trainGroupSize;
  }
};

const groupSizeFollowsType: Check = (batch, sampled, o) =>
  sampled.groupSize === expectedGroupSize(batch, o.trainGroupSize) && sampled.groups.every((g) => g.negativeIndices.length === sampled.groupSize - 1);

const negativesAreValid: Check = (batch, sampled) =>
  batch.records.every((record, i) => {
    const n = record.value.neg.length;
    const picked = sampled.groups[i]!.negativeIndices;
    const wanted = sampled.groupSize - 1;
    if (!picked.every((p) => Number.isInteger(p) && p >= 0 && p < n)) return false;
    const counts = new Map<number, number>();
    for (const p of picked) counts.set(p, (counts.get(p) ?? 0) + 1);
    const most = Math.max(0, ...counts.values());
    return n >= wanted ? most <= 1 : most <= Math.ceil(wanted / n);
  });

const teacherScoresFollowPassages: Check = (batch, sampled, o) =>
  batch.records.every((record, i) => {
    const g = sampled.groups[i]!;
    const { posScores, negScores } = record.value;
    const expected =
      o.knowledgeDistillation && posScores !== undefined && negScores !== undefined
        ? [posScores[g.positiveIndex], ...g.negativeIndices.map((n) => negScores[n])]
        : null;
    return isDeepStrictEqual(g.teacherScores, expected);
  });

/** `_shuffle_text`: chunks of `len // 3 + 1` code points, in any order, joined by spaces. */
const chunkShuffles = (text: string): string[] => {
  const cps = [...text];
  const size = Math.floor(cps.length / 3) + 1;
  const [a, b, c] = [0, 1, 2].map((k) => cps.slice(k * size, (k + 1) * size).join(''));
  return [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]].map((p) => p.join(' '));
};

const positiveIsChosenAndMaybeShuffled: Check = (batch, sampled, o) =>
  batch.records.every((record, i) => {
    const g = sampled.groups[i]!;
    const original = record.value.pos[g.positiveIndex];
    if (original === undefined || !Number.isInteger(g.positiveIndex)) return false;
    if (o.shuffleRatio === 0 || codePoints(original) <= 100) return g.positive === original;
    const shuffled = chunkShuffles(original).includes(g.positive);
    return o.shuffleRatio >= 1 ? shuffled : shuffled || g.positive === original;
  });

const iclDrawsAreValid: Check = (batch, sampled, o) => {
  const wantsIcl = o.retrievalUseExamples || (batch.task.columns.type && ICL_TYPES.includes(batch.records[0].value.type ?? ''));
  if (!wantsIcl) return sampled.icl === null;
  const size = batch.records.length;
  return (
    sampled.icl !== null &&
    sampled.icl.length === size &&
    sampled.icl.every(
      ({ count, exampleIds }, i) =>
        Number.isInteger(count) &&
        count >= 0 &&
        count <= 5 &&
        exampleIds.length <= count &&
        exampleIds.length >= Math.min(count, size - 1) &&
        new Set(exampleIds).size === exampleIds.length &&
        exampleIds.every((id) => Number.isInteger(id) && id >= 0 && id < size && id !== i),
    )
  );
};

const batchIsKept: Check = (batch, sampled) => {
  const { groupSize: _g, groups: _s, icl: _i, ...rest } = sampled;
  return isDeepStrictEqual(rest, batch) && rest.records.every((r, i) => r === batch.records[i]);
};

const defaults = (o: SampleGroupOptions) => ({
  trainGroupSize: o.trainGroupSize ?? 8,
  shuffleRatio: o.shuffleRatio ?? 0,
  knowledgeDistillation: o.knowledgeDistillation ?? false,
  retrievalUseExamples: o.retrievalUseExamples ?? true,
});

const holdsOnHandCases = (stage: Stage, check: Check) =>
  fc.asyncProperty(handCase, async (c) => {
    const batches = batchesOfCase(c);
    const sampled = await toArray(from(batches).pipe(stage(c.options)));
    return sampled.length === batches.length && batches.every((b, i) => check(b, sampled[i]!, defaults(c.options)));
  });

// ---------------------------------------------------------------------------------------------
// One stream across batches.

const streamCase = fc.record({ seed: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 70n })), retrievalUseExamples: fc.boolean() });

const streamTask = task({ name: 'stream.jsonl', records: Array.from({ length: 8 }, (_, i) => example(i, {}, 10)), batchSize: 4 });
const b1 = localBatch(streamTask, [0, 1, 2, 3], 0);
const b2 = localBatch(streamTask, [4, 5, 6, 7], 1);
const drawsOf = (s: SampledBatch | undefined) => ({ groups: s?.groups, icl: s?.icl });

/** The draws of a batch depend on the batches before it (one stream), and only on those. */
const streamIsCarried = (stage: Stage) =>
  fc.asyncProperty(streamCase, async (o) => {
    const options = { ...o, trainGroupSize: 8 };
    const both = from([b1, b2]).pipe(stage(options));
    const [first, second] = await toArray(both);
    const [again1, again2] = await toArray(both);
    const [alone1] = await toArray(from([b1]).pipe(stage(options)));
    const [alone2] = await toArray(from([b2]).pipe(stage(options)));
    return (
      isDeepStrictEqual(drawsOf(first), drawsOf(alone1)) &&
      !isDeepStrictEqual(drawsOf(second), drawsOf(alone2)) &&
      isDeepStrictEqual([drawsOf(first), drawsOf(second)], [drawsOf(again1), drawsOf(again2)])
    );
  });

/** Rewrites every sampled batch of the real stage (for the meta-tests). */
const tampered =
  (f: (s: SampledBatch) => SampledBatch): Stage =>
  (o) =>
  (batches) =>
    from(batches).pipe(
      sampleGroup(o),
      operator<SampledBatch, SampledBatch>(async function* (src) {
        for await (const s of src) yield f(s);
      }),
    );

describe(`sampleGroup (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: runnable,
    input: (r) => localBatchesOf(r),
    op: (r) => sampleGroup(r.options),
    numRuns: 10,
  });

  describe(`group size (FC_SEED=${FC_SEED})`, () => {
    const typedBatch = (type: string, negatives: number, tgs?: number) => {
      const values = [example(0, { type, prompt: 'p', category: 'c', ...(tgs === undefined ? {} : { trainGroupSize: tgs }) }, negatives), example(1, { type, prompt: 'p', category: 'c' }, 10)];
      return localBatch(task({ name: `${type}.jsonl`, records: values, batchSize: 2, columns: columns({ type: true, prompt: true, category: true }) }));
    };
    const groupSize = async (batch: LocalBatch, trainGroupSize: number) =>
      (await toArray(from([batch]).pipe(sampleGroup({ seed: 1, trainGroupSize }))))[0]!.groupSize;

    it('only_1neg → 2; symmetric_class → min(len(neg of the first record) + 1, train_group_size); other types → train_group_size', async () => {
      assert.equal(await groupSize(typedBatch('only_1neg', 5), 8), 2);
      assert.equal(await groupSize(typedBatch('symmetric_class', 3), 8), 4);
      assert.equal(await groupSize(typedBatch('symmetric_class', 10), 8), 8);
      assert.equal(await groupSize(typedBatch('symmetric_class', 10), 1), 1);
      assert.equal(await groupSize(typedBatch('symmetric_sts', 2), 8), 8);
      assert.equal(await groupSize(typedBatch('normal', 9, 3), 6), 6, "a record's train_group_size is ignored when the corpus has a type column");
    });

    it("with no type column anywhere: the first record's own train_group_size, else train_group_size", async () => {
      const values = [example(0, { trainGroupSize: 3 }), example(1, { trainGroupSize: 5 })];
      const t = task({ name: 'a.jsonl', records: values, batchSize: 2, columns: columns({ trainGroupSize: true }) });
      assert.equal(await groupSize(localBatch(t, [0, 1]), 8), 3);
      assert.equal(await groupSize(localBatch(t, [1, 0]), 8), 5);
      const plain = task({ name: 'b.jsonl', records: [example(0), example(1)], batchSize: 2 });
      assert.equal(await groupSize(localBatch(plain), 7), 7);
    });

    it('for random batches: the rule above, and every group has groupSize − 1 negatives', async () => {
      await fc.assert(holdsOnHandCases(sampleGroup, groupSizeFollowsType), fcParams({ numRuns: 150 }));
    });
  });

  it('negatives are valid positions, distinct when the record has enough, each repeated at most ceil((G − 1) / N) times when short', async () => {
    await fc.assert(holdsOnHandCases(sampleGroup, negativesAreValid), fcParams({ numRuns: 150 }));
  });

  it('teacher scores = [posScores[positiveIndex], ...negScores at negativeIndices] with knowledge distillation, null without (or without scores)', async () => {
    await fc.assert(holdsOnHandCases(sampleGroup, teacherScoresFollowPassages), fcParams({ numRuns: 150 }));
  });

  it("the positive is one of the record's; over 100 code points and with shuffle_ratio it may come as its three chunks reordered", async () => {
    await fc.assert(holdsOnHandCases(sampleGroup, positiveIsChosenAndMaybeShuffled), fcParams({ numRuns: 150 }));
  });

  it('ICL draws: count in 0..5; ids distinct, < batch size, never the query itself, at most count and as many as the batch allows; null without retrieval_use_examples unless the type is symmetric', async () => {
    await fc.assert(holdsOnHandCases(sampleGroup, iclDrawsAreValid), fcParams({ numRuns: 150 }));
  });

  it('the local batch itself is passed on unchanged (same records, indices, position)', async () => {
    await fc.assert(holdsOnHandCases(sampleGroup, batchIsKept), fcParams({ numRuns: 50 }));
  });

  it('on realistic batches from random corpora, every rule above holds', async () => {
    await fc.assert(
      fc.asyncProperty(runnable, async (r) => {
        const batches = await localBatchesOf(r);
        const sampled = await toArray(from(batches).pipe(sampleGroup(r.options)));
        const o = defaults(r.options);
        const checks = [groupSizeFollowsType, negativesAreValid, teacherScoresFollowPassages, positiveIsChosenAndMaybeShuffled, iclDrawsAreValid, batchIsKept];
        return batches.every((b, i) => checks.every((check) => check(b, sampled[i]!, o)));
      }),
      fcParams({ numRuns: 20 }),
    );
  });

  it('one random stream runs across batches: [b1, b2] gives b2 other draws than [b2] alone, b1 the same as [b1] alone, and re-iterating repeats them', async () => {
    await fc.assert(streamIsCarried(sampleGroup), fcParams({ numRuns: 30 }));
  });

  it('a record with no negatives in a batch that needs some is a RecordError naming it; with group size 1 it is fine', async () => {
    const t = task({ name: 'a.jsonl', records: [example(0), example(1, {}, 0)], batchSize: 2 });
    await assert.rejects(
      toArray(from([localBatch(t)]).pipe(sampleGroup({ seed: 1, trainGroupSize: 2 }))),
      (e: unknown) => e instanceof RecordError && e.file === 'a.jsonl' && e.line === 2 && e.field === 'neg',
    );
    const [ok] = await toArray(from([localBatch(t)]).pipe(sampleGroup({ seed: 1, trainGroupSize: 1 })));
    assert.deepEqual(ok!.groups.map((g) => g.negativeIndices), [[], []]);
  });

  it('bad options are a ConfigError at construction', () => {
    const bad: Array<[Partial<SampleGroupOptions>, string]> = [
      [{ trainGroupSize: 0 }, 'train_group_size'],
      [{ trainGroupSize: 2.5 }, 'train_group_size'],
      [{ shuffleRatio: -0.1 }, 'shuffle_ratio'],
      [{ shuffleRatio: Number.NaN }, 'shuffle_ratio'],
      [{ shuffleRatio: Number.POSITIVE_INFINITY }, 'shuffle_ratio'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => sampleGroup({ seed: 1, ...options }),
        (e: unknown) => e instanceof ConfigError && e.option === option,
        JSON.stringify(options),
      );
    }
  });

  it('a malformed seed is a ConfigError at construction, before anything is read (STYLE §8.3)', () => {
    for (const seed of [1.5, '4e2', 2 ** 60]) {
      assert.throws(() => sampleGroup({ seed }), (e: unknown) => e instanceof ConfigError && e.option === 'seed', String(seed));
    }
  });

  it('a malformed seed is a ConfigError when iterated at the latest', async () => {
    const t = task({ name: 'a.jsonl', records: [example(0)], batchSize: 1 });
    for (const seed of [1.5, '4e2', 2 ** 60]) {
      await assert.rejects(
        async () => toArray(from([localBatch(t)]).pipe(sampleGroup({ seed }))),
        (e: unknown) => e instanceof ConfigError && e.option === 'seed',
        String(seed),
      );
    }
  });

  describe(`meta (FC_SEED=${FC_SEED})`, () => {
    const opts = { seed: FC_SEED, numRuns: 150 };
    it('the group-size property catches symmetric_class without the min, and only_1neg with train_group_size', async () => {
      const noMin = tampered((s) =>
        s.task.columns.type && s.records[0].value.type === 'symmetric_class' && s.groupSize < 12 ? { ...s, groupSize: s.groupSize + 1 } : s,
      );
      assert.equal((await fc.check(holdsOnHandCases(noMin, groupSizeFollowsType), opts)).failed, true);
      const only1neg = tampered((s) => (s.task.columns.type && s.records[0].value.type === 'only_1neg' ? { ...s, groupSize: 8 } : s));
      assert.equal((await fc.check(holdsOnHandCases(only1neg, groupSizeFollowsType), opts)).failed, true);
    });

    it('the negatives property catches sampling with replacement, and an off-by-one index', async () => {
      const withReplacement = tampered((s) => ({
        ...s,
        groups: s.groups.map((g) => (g.negativeIndices.length >= 2 ? { ...g, negativeIndices: [g.negativeIndices[0]!, ...g.negativeIndices.slice(0, -1)] } : g)) as never,
      }));
      const offByOne = tampered((s) => ({ ...s, groups: s.groups.map((g) => ({ ...g, negativeIndices: g.negativeIndices.map((n) => n + 1) })) as never }));
      assert.equal((await fc.check(holdsOnHandCases(withReplacement, negativesAreValid), opts)).failed, true);
      assert.equal((await fc.check(holdsOnHandCases(offByOne, negativesAreValid), opts)).failed, true);
    });

    it('the teacher-score property catches scores taken by group position instead of negative index', async () => {
      const byPosition: Stage = (o) => (batches) =>
        from(batches).pipe(
          sampleGroup(o),
          operator<SampledBatch, SampledBatch>(async function* (src) {
            for await (const s of src) {
              yield {
                ...s,
                groups: s.groups.map((g, i) => {
                  const v = s.records[i]!.value;
                  return g.teacherScores === null ? g : { ...g, teacherScores: [v.posScores![g.positiveIndex]!, ...g.negativeIndices.map((_, k) => v.negScores![k % v.negScores!.length]!)] };
                }) as never,
              };
            }
          }),
        );
      assert.equal((await fc.check(holdsOnHandCases(byPosition, teacherScoresFollowPassages), opts)).failed, true);
    });

    it('the ICL property catches drawing the query itself, and drawing when retrieval_use_examples is off', async () => {
      const withSelf = tampered((s) => (s.icl === null ? s : { ...s, icl: s.icl.map((d, i) => (d.count > 0 && s.records.length > 1 ? { ...d, exampleIds: [i, ...d.exampleIds.slice(1)] } : d)) as never }));
      const alwaysIcl: Stage = (o) => sampleGroup({ ...o, retrievalUseExamples: true });
      assert.equal((await fc.check(holdsOnHandCases(withSelf, iclDrawsAreValid), opts)).failed, true);
      assert.equal((await fc.check(holdsOnHandCases(alwaysIcl, iclDrawsAreValid), opts)).failed, true);
    });

    it('the stream property catches a stage that reseeds for every batch', async () => {
      const reseeding: Stage = (o) =>
        operator(async function* (src) {
          for await (const b of src) yield* from([b]).pipe(sampleGroup(o));
        });
      assert.equal((await fc.check(streamIsCarried(reseeding), { seed: FC_SEED, numRuns: 30 })).failed, true);
    });
  });
});

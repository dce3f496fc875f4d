/**
 * Properties of the composed pipeline and its planning stages on random corpora (fixture
 * tokenizer, in-memory records): determinism, task-homogeneous batches, disjoint rank shards that
 * make up the global batch, no record twice in an epoch, and batched + dropped = records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../../lib/core/errors.js';
import type { GlobalBatch, LocalSlice, PaddedBatch, Task } from '../../lib/core/model.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { collectReport } from '../../lib/core/report.js';
import { flagEmbeddingBatchesFromRecords, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { toTaskFiles } from '../../lib/stages/toTaskFiles.js';
import { allRecords } from '../helpers/handBuilt.js';
import { epochShuffle, type EpochShuffleOptions } from '../../lib/stages/epochShuffle.js';
import { groupByTask } from '../../lib/stages/groupByTask.js';
import { shardByRank, sliceForRank, type ShardOptions } from '../../lib/stages/shardByRank.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { corpus, pipelineOptions, sourced } from '../arbitraries/corpus.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

const tokenizer = fixtureTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });

type Options = FlagEmbeddingOptions;
type OptionsSample = typeof pipelineOptions extends fc.Arbitrary<infer T> ? T : never;
const optionsOf = (o: OptionsSample, rank = 0): Options => ({
  ...o,
  rank,
  trainData: [],
  tokenizer,
});

/** Runs `f`; a corpus in which no task is left or none fills a global batch has no steps at all, which is not what these properties are about. */
const unlessNoSteps = async (f: () => Promise<boolean>): Promise<boolean> => {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ConfigError && (e.option === 'per_device_train_batch_size' || e.option === 'train_data')) {
      fc.pre(false);
    }
    throw e;
  }
};

const globalBatches = async (records: ReturnType<typeof sourced>, o: Options, epochs: number) => {
  const report = collectReport();
  const batches = await toArray(from(records).pipe(toTaskFiles(), groupByTask({ ...o, report }), epochShuffle({ ...o, epochs, report })));
  return { batches, report };
};

/** For every step: the rank shards concatenate to the global batch, are pairwise disjoint, equally sized, and of its task. */
const shardsMakeTheGlobalBatch = (shard: (o: ShardOptions) => Op<GlobalBatch, LocalSlice>) =>
  fc.asyncProperty(corpus(), pipelineOptions, (c, o) =>
    unlessNoSteps(async () => {
      const options = optionsOf(o);
      const { batches } = await globalBatches(sourced(c), options, 2);
      const shardsPerRank = await Promise.all(
        Array.from({ length: options.worldSize! }, (_, rank) => toArray(from(batches).pipe(shard({ rank, worldSize: options.worldSize! })))),
      );
      return batches.every((global, step) => {
        const shards = shardsPerRank.map((perRank) => perRank[step]!.indices);
        const all = shards.flat();
        return (
          isDeepStrictEqual(all, [...global.indices]) &&
          new Set(all).size === all.length &&
          shards.every((s) => s.length === shards[0]!.length) &&
          shardsPerRank.every((perRank) => perRank[step]!.task === global.task)
        );
      });
    }),
  );

/** A planning stage, or a broken variant of one (for the meta-tests). */
type Planner = (o: EpochShuffleOptions) => Op<Task, GlobalBatch>;

/** epochShuffle with its batches rewritten by `f` (the meta-tests' broken variants). */
const rewriting =
  (f: (all: GlobalBatch[]) => GlobalBatch[]): Planner =>
  (o) =>
  (tasks) =>
    from(tasks).pipe(
      epochShuffle(o),
      operator<GlobalBatch, GlobalBatch>(async function* (src) {
        yield* f(await toArray(src));
      }),
    );

/** Each (task, epoch)'s positions in step order, handed back in that order by `reorder`. */
const perTaskAndEpoch = (all: GlobalBatch[], reorder: (key: { task: number; epoch: number }, positions: number[]) => number[]): GlobalBatch[] => {
  const groups = new Map<string, number[]>();
  for (const b of all) groups.set(`${b.task.index}/${b.epoch}`, [...(groups.get(`${b.task.index}/${b.epoch}`) ?? []), ...b.indices]);
  const reordered = new Map([...groups].map(([key, positions]) => {
    const [task, epoch] = key.split('/').map(Number);
    return [key, reorder({ task: task!, epoch: epoch! }, positions)] as const;
  }));
  return all.map((b) => {
    const rest = reordered.get(`${b.task.index}/${b.epoch}`)!;
    return { ...b, indices: rest.splice(0, b.indices.length) as unknown as GlobalBatch['indices'] };
  });
};
/** A stage that never shuffles records: each task's records in file order. */
const recordOrder = (all: GlobalBatch[]) => perTaskAndEpoch(all, (_key, positions) => [...positions].sort((x, y) => x - y));
/** A stage that shuffles each task once and keeps that order in every epoch. */
const firstEpochOrder = (all: GlobalBatch[]) => {
  const first = new Map<number, number[]>();
  return perTaskAndEpoch(all, ({ task, epoch }, positions) => {
    if (epoch === 0) first.set(task, positions);
    return [...(first.get(task) ?? positions)];
  });
};

/**
 * Each epoch shuffles each task: over many generated corpora, a task's positions in an epoch (in
 * step order; those with at least 6) are almost never in record order, nor the previous epoch's
 * order (a random order of 6 is either with probability 1/720; at most 5 % of them may be), and
 * they are always positions of the task.
 */
const shufflesEachTask = async (stage: Planner): Promise<boolean> => {
  let sequences = 0;
  let sorted = 0;
  let repeated = 0;
  for (const [c, o] of fc.sample(fc.tuple(corpus(), pipelineOptions), { seed: FC_SEED, numRuns: 60 })) {
    const options = optionsOf(o);
    let batches: GlobalBatch[];
    try {
      batches = await toArray(from(sourced(c)).pipe(toTaskFiles(), groupByTask(options), stage({ ...options, epochs: 3 })));
    } catch (e) {
      if (e instanceof ConfigError && (e.option === 'per_device_train_batch_size' || e.option === 'train_data')) continue;
      throw e;
    }
    const orders = new Map<string, number[]>();
    for (const b of batches) {
      if (!b.indices.every((i) => Number.isInteger(i) && i >= 0 && i < b.task.store.size)) return false;
      orders.set(`${b.task.index}/${b.epoch}`, [...(orders.get(`${b.task.index}/${b.epoch}`) ?? []), ...b.indices]);
    }
    for (const [key, positions] of orders) {
      if (positions.length < 6) continue;
      sequences += 1;
      if (positions.every((p, i) => i === 0 || positions[i - 1]! < p)) sorted += 1;
      const [task, epoch] = key.split('/').map(Number);
      if (isDeepStrictEqual(orders.get(`${task}/${epoch! - 1}`), positions)) repeated += 1;
    }
  }
  assert.ok(sequences >= 40, `only ${sequences} orders of 6 or more positions: the check would say little`);
  return sorted / sequences <= 0.05 && repeated / sequences <= 0.05;
};

describe(`flagEmbeddingStages properties (FC_SEED=${FC_SEED})`, () => {
  it('same inputs, same output (two fresh pipelines, and one pipeline iterated twice)', async () => {
    await fc.assert(
      fc.asyncProperty(corpus({ kd: true }), pipelineOptions, (c, o) =>
        unlessNoSteps(async () => {
          const records = sourced(c);
          const run = (): Promise<PaddedBatch[]> => toArray(flagEmbeddingBatchesFromRecords(from(records), optionsOf(o)).pipe(take(6)));
          const first = await run();
          const pipeline = flagEmbeddingBatchesFromRecords(from(records), optionsOf(o)).pipe(take(6));
          return isDeepStrictEqual(first, await run()) && isDeepStrictEqual(first, await toArray(pipeline)) && isDeepStrictEqual(first, await toArray(pipeline));
        }),
      ),
      fcParams({ numRuns: 40 }),
    );
  });

  it('every batch comes from one task: all its records are records of that task', async () => {
    await fc.assert(
      fc.asyncProperty(corpus({ kd: true }), pipelineOptions, (c, o) =>
        unlessNoSteps(async () => {
          const batches = await toArray(flagEmbeddingBatchesFromRecords(from(sourced(c)), optionsOf(o)).pipe(take(12)));
          return (
            await Promise.all(
              batches.map(async (b) => {
                const files = new Set(b.task.files);
                const own = new Set((await allRecords(b.task)).map((r) => `${r.file}#${r.record}`));
                return b.records.every((r) => own.has(`${r.file}#${r.record}`) && files.has(r.file));
              }),
            )
          ).every(Boolean);
        }),
      ),
      fcParams({ numRuns: 40 }),
    );
  });

  it('rank shards are pairwise disjoint, equally sized, and concatenate to the global batch', async () => {
    await fc.assert(shardsMakeTheGlobalBatch(shardByRank), fcParams({ numRuns: 60 }));
  });

  it('every rank computes the same global plan (only its slice differs)', async () => {
    await fc.assert(
      fc.asyncProperty(corpus(), pipelineOptions, fc.nat(), (c, o, r) =>
        unlessNoSteps(async () => {
          const options = optionsOf(o);
          const rank = r % options.worldSize!;
          const records = sourced(c);
          const outputs = await toArray(flagEmbeddingBatchesFromRecords(from(records), optionsOf(o, rank)).pipe(take(8)));
          const { batches } = await globalBatches(records, options, 8);
          return outputs.every((b, i) => isDeepStrictEqual([...b.indices], [...sliceForRank(batches[i]!.indices, rank, options.worldSize!)]));
        }),
      ),
      fcParams({ numRuns: 40 }),
    );
  });

  it('no record appears twice in an epoch, and per task and epoch batched + dropped = records', async () => {
    await fc.assert(
      fc.asyncProperty(corpus(), pipelineOptions, (c, o) =>
        unlessNoSteps(async () => {
          const options = optionsOf(o);
          const { batches, report } = await globalBatches(sourced(c), options, 3);
          const byEpoch = new Map<number, GlobalBatch[]>();
          for (const b of batches) byEpoch.set(b.epoch, [...(byEpoch.get(b.epoch) ?? []), b]);
          const tasks = new Set(batches.map((b) => b.task));
          return [...byEpoch].every(([epoch, epochBatches]) => {
            const seen = new Set<string>();
            for (const b of epochBatches) {
              for (const i of b.indices) {
                const key = `${b.task.index}:${i}`;
                if (seen.has(key)) return false;
                seen.add(key);
              }
            }
            return [...tasks].every((task) => {
              const batched = epochBatches.filter((b) => b.task === task).reduce((n, b) => n + b.indices.length, 0);
              const dropped = report.events
                .filter((e) => e.kind === 'tailDropped' && e.epoch === epoch && e.task === task.name)
                .reduce((n, e) => n + (e.kind === 'tailDropped' ? e.records : 0), 0);
              return batched + dropped === task.store.size && dropped < task.batchSize * options.worldSize!;
            });
          });
        }),
      ),
      fcParams({ numRuns: 60 }),
    );
  });

  it('each epoch shuffles each task: its records come in no fixed order (not sorted, not the previous epoch\'s order), and only positions of the task', async () => {
    assert.equal(await shufflesEachTask(epochShuffle), true);
  });

  it('meta: the shuffle check catches a stage that keeps each task in record order, and one that shuffles once and repeats that order every epoch', async () => {
    assert.equal(await shufflesEachTask(rewriting(recordOrder)), false);
    assert.equal(await shufflesEachTask(rewriting(firstEpochOrder)), false);
  });

  it('meta: the shard property catches a shard that overlaps its neighbour (the property itself, not a copy of its rule)', async () => {
    const overlapping =
      (o: ShardOptions): Op<GlobalBatch, LocalSlice> =>
        operator(async function* (batches) {
          for await (const global of batches) {
            const [slice] = await toArray(from([global]).pipe(shardByRank(o)));
            const per = global.indices.length / (o.worldSize ?? 1);
            const rank = o.rank ?? 0;
            // Rank r also takes the last record of rank r − 1's slice.
            yield { ...slice!, indices: global.indices.slice(Math.max(0, rank * per - 1), (rank + 1) * per) as unknown as LocalSlice['indices'] };
          }
        });
    assert.equal((await fc.check(shardsMakeTheGlobalBatch(overlapping), { seed: FC_SEED, numRuns: 60 })).failed, true);
  });
});

/**
 * checkTask: what would fail a batch later fails before the first one. Missing prompts where the
 * reference formats "None"; records without negatives in batches that need some (sound: a task it
 * passes never fails in sampleGroup over several epochs; and each record it refuses does fail in a
 * batch that can be drawn); steps over the cap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError, RecordError } from '../../lib/core/errors.js';
import type { Example, Task } from '../../lib/core/model.js';
import { checkTask, KNOWN_TYPES, leaderGroupSize } from '../../lib/plan/taskChecks.js';
import { buildTaskList } from '../../lib/plan/taskList.js';
import { epochShuffle } from '../../lib/stages/epochShuffle.js';
import { readRecords } from '../../lib/stages/readRecords.js';
import { sampleGroup } from '../../lib/stages/sampleGroup.js';
import { shardByRank } from '../../lib/stages/shardByRank.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { example, localBatch, origin, task, taskFile } from '../helpers/handBuilt.js';

const throwsAt = (f: () => void, line: number, field: string) =>
  assert.throws(f, (e: unknown) => e instanceof RecordError && e.line === line && e.field === field);

/** Tasks as groupByTask makes them (with their traits), from files of records. */
const tasksOf = (files: ReadonlyArray<readonly [string, ReadonlyArray<Example>]>, perDeviceTrainBatchSize = 2) =>
  buildTaskList(
    files.map(([name, records], i) => taskFile(name, origin(name, i, false), records)),
    { seed: 1, perDeviceTrainBatchSize },
  ).tasks;

describe('checkTask: prompts', () => {
  it('a record without prompt while other files have prompts: the record named (field prompt), even with query_instruction_for_retrieval', () => {
    const [, second] = tasksOf([
      ['a.jsonl', [example(0, { prompt: 'P' }), example(1, { prompt: 'P' })]],
      ['b.jsonl', [example(0, { prompt: 'P' }), example(1), example(2, { prompt: 'P' })]],
    ]);
    throwsAt(() => checkTask(second!, { queryInstructionForRetrieval: 'X' }), 2, 'prompt');
  });

  it('no prompts anywhere: fine with query_instruction_for_retrieval, else the first record named', () => {
    const [only] = tasksOf([['a.jsonl', [example(0), example(1)]]]);
    checkTask(only!, { queryInstructionForRetrieval: 'X' });
    throwsAt(() => checkTask(only!, {}), 1, 'prompt');
  });
});

describe('checkTask: records without negatives', () => {
  it('a fixed group over 1 (normal, only_1neg): the first record without negatives is named (field neg)', () => {
    for (const type of ['normal', 'only_1neg']) {
      const [t] = tasksOf([['a.jsonl', [example(0, { type }), example(1, { type }, 0), example(2, { type })]]]);
      throwsAt(() => checkTask(t!, { queryInstructionForRetrieval: 'X' }), 2, 'neg');
    }
  });

  it('a group of 1 needs no negatives: fine', () => {
    const [t] = tasksOf([['a.jsonl', [example(0, { type: 'normal' }, 0), example(1, { type: 'normal' }, 0)]]]);
    checkTask(t!, { queryInstructionForRetrieval: 'X', trainGroupSize: 1 });
  });

  it('symmetric_class: group min(len(neg of the leader) + 1, train_group_size): all without negatives is fine; mixed fails with per-device batches of 2 or more, not of 1', () => {
    const none = tasksOf([['a.jsonl', [example(0, { type: 'symmetric_class' }, 0), example(1, { type: 'symmetric_class' }, 0)]]], 4);
    checkTask(none[0]!, { queryInstructionForRetrieval: 'X' });
    const mixed = (batch: number) => tasksOf([['a.jsonl', [example(0, { type: 'symmetric_class' }, 2), example(1, { type: 'symmetric_class' }, 0)]]], batch)[0]!;
    throwsAt(() => checkTask(mixed(4), { queryInstructionForRetrieval: 'X' }), 2, 'neg'); // halved: 2 per device
    checkTask(mixed(2), { queryInstructionForRetrieval: 'X' }); // halved: 1 per device, each record leads itself
  });

  const record = fc.record({ negatives: fc.integer({ min: 0, max: 3 }), trainGroupSize: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }) });
  const handTask = fc
    .record({
      type: fc.constantFrom<string | undefined>('normal', 'only_1neg', 'symmetric_class', undefined),
      records: fc.array(record, { minLength: 2, maxLength: 10 }),
      batchSize: fc.integer({ min: 1, max: 3 }),
      trainGroupSize: fc.integer({ min: 1, max: 4 }),
    })
    .map(({ type, records, batchSize, trainGroupSize }) => ({
      trainGroupSize,
      task: task({
        name: 'a.jsonl',
        batchSize,
        records: records.map((r, i) => example(i, { ...(type === undefined ? (r.trainGroupSize === undefined ? {} : { trainGroupSize: r.trainGroupSize }) : { type }) }, r.negatives)),
      }),
    }))
    .filter(({ task: t }) => t.store.size >= t.batchSize);

  const failsInSampleGroup = async (t: Task, indices: number[], trainGroupSize: number) => {
    try {
      await toArray(from([localBatch(t as Parameters<typeof localBatch>[0], indices)]).pipe(sampleGroup({ seed: 1, trainGroupSize })));
      return false;
    } catch (e) {
      if (e instanceof RecordError && e.field === 'neg') return true;
      throw e;
    }
  };

  it(`sound: a task it passes never fails in sampleGroup over 3 epochs of batches (FC_SEED=${FC_SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(handTask, fc.nat(), async ({ task: t, trainGroupSize }, seed) => {
        try {
          checkTask(t, { trainGroupSize });
        } catch (e) {
          if (e instanceof RecordError) return true;
          throw e;
        }
        await toArray(from([t]).pipe(epochShuffle({ seed, epochs: 3 }), shardByRank({ rank: 0, worldSize: 1 }), readRecords(), sampleGroup({ seed, trainGroupSize })));
        return true;
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it(`complete: a record it refuses fails in sampleGroup in a batch that can be drawn (led by itself, or by a record that needs negatives) (FC_SEED=${FC_SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(handTask, async ({ task: t, trainGroupSize }) => {
        let refused: RecordError | null = null;
        try {
          checkTask(t, { trainGroupSize });
        } catch (e) {
          if (!(e instanceof RecordError)) throw e;
          refused = e;
        }
        if (refused === null) return true;
        const at = t.records.findIndex((r) => r.line === refused!.line);
        const leaders = t.records.map((_, i) => i).filter((i) => leaderGroupSize(t, t.store.meta(i), trainGroupSize) > 1);
        const arrangements = [[at], ...(t.batchSize >= 2 ? leaders.filter((i) => i !== at).map((i) => [i, at]) : [])];
        for (const indices of arrangements) if (await failsInSampleGroup(t, indices, trainGroupSize)) return true;
        return false;
      }),
      fcParams({ numRuns: 200 }),
    );
  });
});

describe('checkTask: step size', () => {
  it('a task whose batch size × largest group is over 2^18 is a ConfigError naming train_group_size (a record\'s own train_group_size counts)', () => {
    const [t] = tasksOf([['a.jsonl', [example(0, { trainGroupSize: 200_000 }), example(1)]]]);
    assert.throws(() => checkTask(t!, { queryInstructionForRetrieval: 'X' }), (e: unknown) => e instanceof ConfigError && e.option === 'train_group_size' && /2 queries × 200000 passages/.test(e.message));
  });

  it('the known types are the reference\'s five', () => {
    assert.deepEqual([...KNOWN_TYPES].sort(), ['normal', 'only_1neg', 'symmetric_class', 'symmetric_clustering', 'symmetric_sts']);
  });
});

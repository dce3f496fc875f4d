/**
 * batchBySplit: one task per split, in order, with the research module's batch sizes (symmetric
 * first rows: symmetric_batch_size // world_size; load_from_disk: the per-device size for all), and
 * the generic stage laws.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import type { Example, Located, RecordStore } from '../../lib/core/model.js';
import { memoryStore } from '../../lib/core/store.js';
import type { DatasetSplit } from '../../lib/sources/researchDataset.js';
import { batchBySplit } from '../../lib/stages/batchBySplit.js';
import { FC_SEED } from '../helpers/fc.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

const TYPES = ['normal', 'only_1neg', 'symmetric_sts', 'symmetric_class', 'symmetric_clustering', 'classification'] as const;

const record = (file: string, i: number, type: string): Located<Example> => ({
  file,
  line: i + 1,
  record: i,
  value: { query: `q${i}`, pos: [`p${i}`], neg: [`n${i}`, `m${i}`], prompt: 'P', type, ...(type.includes('clustering') ? { category: 'c' } : {}) },
});

/** Records in memory, with each row's type in its metadata (as the research flavor's row indexes give it). */
const typedStore = (records: ReadonlyArray<Located<Example>>): RecordStore => {
  const store = memoryStore(records);
  return { size: store.size, meta: (i) => ({ ...store.meta(i), type: records[i]!.value.type ?? '' }), read: (positions) => store.read(positions) };
};

const split = (name: string, type: string, size: number, offset: number, fromDisk = false): DatasetSplit => ({
  name,
  dataset: 'd',
  files: [`${name}.jsonl`],
  store: typedStore(Array.from({ length: size }, (_, i) => record(`${name}.jsonl`, i, type))),
  offset,
  columns: { prompt: true, type: true, category: true, trainGroupSize: false, posScores: false, negScores: false },
  fromDisk,
  fingerprint: name,
});

const splitsArb = fc
  .array(fc.record({ type: fc.constantFrom(...TYPES), size: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 5 })
  .map((specs) => {
    let offset = 0;
    return specs.map((s, i) => {
      const out = split(`s${i}`, s.type, s.size, offset);
      offset += s.size;
      return out;
    });
  });

const sample = fc.record({
  splits: splitsArb,
  worldSize: fc.integer({ min: 1, max: 3 }),
  perDevice: fc.integer({ min: 6, max: 10 }),
  symmetricPerRank: fc.integer({ min: 6, max: 10 }),
});

describe(`batchBySplit (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample,
    input: (s) => s.splits,
    op: (s) => batchBySplit({ perDeviceTrainBatchSize: s.perDevice, symmetricBatchSize: s.symmetricPerRank * s.worldSize, worldSize: s.worldSize }),
  });

  it('one task per split, in order, with symmetric_batch_size // world_size for symmetric first rows and the per-device size otherwise', async () => {
    const splits = [split('a', 'normal', 20, 0), split('b', 'symmetric_sts', 30, 20), split('c', 'classification', 12, 50)];
    const tasks = await toArray(from(splits).pipe(batchBySplit({ perDeviceTrainBatchSize: 7, symmetricBatchSize: 13, worldSize: 2 })));
    assert.deepEqual(tasks.map((t) => [t.index, t.name, t.batchSize, t.offset, t.type]), [
      [0, 'd [a]', 7, 0, 'normal'],
      [1, 'd [b]', 6, 20, 'symmetric_sts'],
      [2, 'd [c]', 7, 50, 'classification'],
    ]);
  });

  it('after load_from_disk every split gets the per-device size, symmetric ones too', async () => {
    const tasks = await toArray(from([split('a', 'symmetric_class', 30, 0, true)]).pipe(batchBySplit({ perDeviceTrainBatchSize: 7, symmetricBatchSize: 100, worldSize: 2 })));
    assert.equal(tasks[0]!.batchSize, 7);
  });
});

/**
 * The Arrow stream of steps: read back with apache-arrow's own reader, every row equals dump's JSON
 * record of its step field for field; ids and masks are row-major int32 values back to back (what
 * makes the Python side zero-copy); the stream is framed so that a failed run is visibly cut short.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { Data, List, RecordBatchReader, type Table, tableFromIPC } from 'apache-arrow';
import { toDumpRecord, toResearchDumpRecord } from '../../lib/sinks/dumpRecord.js';
import type { PaddedBatch } from '../../lib/core/model.js';
import { operator } from '../../lib/core/operator.js';
import { flagEmbeddingBatches } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { researchBatches } from '../../lib/pipelines/research.js';
import { IPC_END_OF_STREAM, ipcStreamEncoder } from '../../lib/arrow/ipcMessages.js';
import { STEP_TABLE_METADATA_KEY, stepRecordBatch, stepSchema, stepStreamEncoder } from '../../lib/sinks/stepTable.js';
import { toArrowStream } from '../../lib/sinks/toArrowStream.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { FC_SEED } from '../helpers/fc.js';
import { plainArrow } from '../helpers/stepRows.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

const tokenizer = fixtureTokenizer();

/** Retrieval files carry teacher scores and sts does not: some steps have scores, some null. */
const batchesOf = (subBatchSize: number | null, steps = 12): Promise<PaddedBatch[]> =>
  toArray(
    flagEmbeddingBatches({
      trainData: ['examples/data/retrieval', 'examples/data/sts'],
      tokenizer,
      seed: 7,
      perDeviceTrainBatchSize: 4,
      worldSize: 2,
      rank: 1,
      knowledgeDistillation: true,
      queryMaxLen: 64,
      passageMaxLen: 48,
      padToMultipleOf: 8,
      subBatchSize,
    }).pipe(take(steps)),
  );

const bytesOf = async (batches: ReadonlyArray<PaddedBatch>, options: Parameters<typeof toArrowStream>[0]): Promise<Uint8Array> =>
  Buffer.concat(await toArray(from(batches).pipe(toArrowStream(options))));

const rowsOf = (table: Table): Record<string, unknown>[] =>
  Array.from({ length: table.numRows }, (_, i) => Object.fromEntries(table.schema.fields.map((f) => [f.name, plainArrow(table.getChild(f.name)!.get(i))])));

const float32 = (xs: ReadonlyArray<number> | null) => (xs === null ? null : [...Float32Array.from(xs)]);

describe(`toArrowStream (FC_SEED=${FC_SEED})`, () => {
  let whole: PaddedBatch[];
  let chunked: PaddedBatch[];
  before(async () => {
    whole = await batchesOf(null);
    chunked = await batchesOf(3);
    assert.ok(whole.some((b) => b.teacherScores === null) && whole.some((b) => b.teacherScores !== null), 'the sample mixes scored and unscored steps');
  });

  for (const [name, subBatchSize] of [['whole tensors', null], ['sub-batches (sub_batch_size 3)', 3]] as const) {
    it(`${name}: each row equals dump's JSON record of its step, field for field (scores as float32)`, async () => {
      const batches = subBatchSize === null ? whole : chunked;
      const rows = rowsOf(tableFromIPC(await bytesOf(batches, { subBatchSize, withText: true })));
      assert.equal(rows.length, batches.length);
      rows.forEach((row, i) => {
        const { teacher_scores, ...expected } = toDumpRecord(batches[i]!);
        const { teacher_scores: scores, step, global_step, rank, world_size, resume, ...dumpFields } = row;
        assert.deepEqual(dumpFields, expected);
        assert.deepEqual(scores, float32(teacher_scores));
        assert.deepEqual(
          { step, global_step, rank, world_size, resume: JSON.parse(resume as string) as unknown },
          { step: batches[i]!.step, global_step: batches[i]!.globalStep, rank: 1, world_size: 2, resume: batches[i]!.resume },
        );
      });
    });
  }

  it("each step's message is, byte for byte, apache-arrow's writer's of stepRecordBatch([step]) (the direct encoding changes no byte)", () => {
    for (const [batches, subBatchSize] of [[whole, null], [chunked, 3]] as const) {
      for (const withText of [false, true]) {
        const options = { subBatchSize, withText };
        const encoder = stepStreamEncoder(options);
        const writer = ipcStreamEncoder(stepSchema(options));
        assert.deepEqual(Buffer.from(encoder.schema), Buffer.from(writer.schema));
        for (const batch of batches) assert.deepEqual(Buffer.from(encoder.step(batch)), Buffer.from(writer.batch(stepRecordBatch([batch], options))));
      }
    }
  });

  it('one record batch of one row per step, after the schema', async () => {
    const reader = RecordBatchReader.from(await bytesOf(whole, {}));
    const sizes = [...reader].map((b) => b.numRows);
    assert.deepEqual(sizes, whole.map(() => 1));
  });

  it('texts only with withText; the schema metadata says so, with the layout and the version', async () => {
    const without = tableFromIPC(await bytesOf(whole.slice(0, 2), {}));
    assert.ok(!without.schema.fields.some((f) => f.name.endsWith('_text')));
    assert.deepEqual(JSON.parse(without.schema.metadata.get(STEP_TABLE_METADATA_KEY)!), { version: 1, tensors: 'whole', with_text: false, false_negative_mask: false });
    const withText = tableFromIPC(await bytesOf(chunked.slice(0, 2), { subBatchSize: 3, withText: true }));
    assert.deepEqual(
      withText.schema.fields.map((f) => f.name),
      ['epoch', 'example_indices', 'queries_text', 'passages_text', 'teacher_scores', 'no_in_batch_neg', 'q_ids', 'q_mask', 'p_ids', 'p_mask', 'step', 'global_step', 'rank', 'world_size', 'resume'],
    );
    assert.deepEqual(JSON.parse(withText.schema.metadata.get(STEP_TABLE_METADATA_KEY)!), { version: 1, tensors: 'chunked', with_text: true, false_negative_mask: false });
  });

  it('a matrix is its rows back to back: the int32 values are the row-major matrix and every row has the same length', async () => {
    const table = tableFromIPC(await bytesOf(whole, {}));
    for (const name of ['q_ids', 'q_mask', 'p_ids', 'p_mask'] as const) {
      table.getChild(name)!.data.forEach((steps: Data<List>, i) => {
        const rows = steps.children[0]!;
        const values = rows.children[0]!.values as Int32Array;
        const matrix = toDumpRecord(whole[i]!)[name] as number[][];
        assert.ok(values instanceof Int32Array, `${name}: int32 values`);
        assert.deepEqual([...values.subarray(rows.valueOffsets[0], rows.valueOffsets[rows.length])], matrix.flat());
        const width = matrix[0]!.length;
        assert.deepEqual([...rows.valueOffsets.subarray(0, rows.length + 1)], Array.from({ length: matrix.length + 1 }, (_, r) => rows.valueOffsets[0]! + r * width));
      });
    }
  });

  it('no steps: a valid empty stream (the schema, then the end-of-stream marker)', async () => {
    const bytes = await bytesOf([], {});
    const table = tableFromIPC(bytes);
    assert.equal(table.numRows, 0);
    assert.deepEqual(table.schema.fields.map((f) => f.name), stepSchema({}).fields.map((f) => f.name));
    assert.deepEqual([...bytes.subarray(-8)], [...IPC_END_OF_STREAM]);
  });

  it('a failing source: the error propagates and the stream has no end-of-stream marker', async () => {
    const failing = operator<PaddedBatch, PaddedBatch>(async function* (src) {
      let n = 0;
      for await (const b of src) {
        if (n++ === 2) throw new Error('disk on fire');
        yield b;
      }
    });
    const chunks: Uint8Array[] = [];
    await assert.rejects(async () => {
      for await (const c of from(whole).pipe(failing, toArrowStream({}))) chunks.push(c);
    }, /disk on fire/);
    assert.equal(chunks.length, 3, 'the schema and two steps');
    assert.notDeepEqual([...chunks.at(-1)!.subarray(-8)], [...IPC_END_OF_STREAM]);
  });

  it('a batch whose layout differs from the options is an InvariantError, not a wrong table', async () => {
    await assert.rejects(bytesOf(chunked.slice(0, 1), { subBatchSize: null }), (e: Error) => e.name === 'InvariantError' && /chunked/.test(e.message));
  });

  describe('laws', () => {
    checkOperatorLaws({
      sample: fc.record({ n: fc.integer({ min: 0, max: 12 }), chunked: fc.boolean(), withText: fc.boolean() }),
      input: ({ n, chunked: c }) => (c ? chunked : whole).slice(0, n),
      op: ({ chunked: c, withText }) => toArrowStream({ subBatchSize: c ? 3 : null, withText }),
      numRuns: 10,
    });
  });
});

/** The research sample: retrieval splits carry teacher scores, symmetric ones are 'not in-batch'. */
const researchBatchesOf = (subBatchSize: number | null, steps = 10): Promise<PaddedBatch[]> =>
  toArray(
    researchBatches({
      flavor: 'research',
      trainData: 'examples/research/jsonl-patterns',
      tokenizer,
      seed: 11,
      worldSize: 2,
      rank: 0,
      perDeviceTrainBatchSize: 6,
      symmetricBatchSize: 12,
      trainGroupSize: 3,
      symmetricTrainGroupSize: 3,
      queryMaxLen: 300,
      passageMaxLen: 48,
      subBatchSize,
    }).pipe(take(steps)),
  );

describe('toArrowStream, research flavor', () => {
  let whole: PaddedBatch[];
  let chunked: PaddedBatch[];
  before(async () => {
    whole = await researchBatchesOf(null);
    chunked = await researchBatchesOf(4);
    assert.ok(whole.some((b) => b.teacherScores === null) && whole.some((b) => b.teacherScores !== null), 'the sample mixes scored and unscored steps');
    assert.ok(whole.some((b) => b.messages?.[0] === 'not in-batch') && whole.some((b) => b.messages?.[0] === 'normal'), 'and both kinds of messages');
  });

  for (const [name, subBatchSize] of [['whole tensors', null], ['sub-batches (sub_batch_size 4)', 4]] as const) {
    it(`${name}: each row equals dump --flavor research's JSON record, field for field, in its order`, async () => {
      const batches = subBatchSize === null ? whole : chunked;
      const rows = rowsOf(tableFromIPC(await bytesOf(batches, { subBatchSize, withText: true, flavor: 'research' })));
      assert.equal(rows.length, batches.length);
      rows.forEach((row, i) => {
        const { teacher_scores, ...expected } = toResearchDumpRecord(batches[i]!);
        const { teacher_scores: scores, step, global_step, rank, world_size, resume, ...dumpFields } = row;
        assert.deepEqual(Object.keys(row).filter((k) => k in toResearchDumpRecord(batches[i]!)), Object.keys(toResearchDumpRecord(batches[i]!)));
        assert.deepEqual(dumpFields, expected);
        assert.deepEqual(scores, float32(teacher_scores));
        assert.deepEqual({ step, global_step, rank, world_size }, { step: batches[i]!.step, global_step: batches[i]!.globalStep, rank: 0, world_size: 2 });
        assert.deepEqual(JSON.parse(resume as string), batches[i]!.resume);
      });
    });
  }

  it("messages in place of no_in_batch_neg; the metadata names the flavor (an icl table's has no flavor key, its bytes unchanged)", async () => {
    const table = tableFromIPC(await bytesOf(whole.slice(0, 2), { flavor: 'research' }));
    assert.deepEqual(
      table.schema.fields.map((f) => f.name),
      ['epoch', 'example_indices', 'messages', 'teacher_scores', 'q_ids', 'q_mask', 'p_ids', 'p_mask', 'step', 'global_step', 'rank', 'world_size', 'resume'],
    );
    assert.deepEqual(JSON.parse(table.schema.metadata.get(STEP_TABLE_METADATA_KEY)!), { version: 1, tensors: 'whole', with_text: false, false_negative_mask: false, flavor: 'research' });
    assert.deepEqual(Buffer.from(stepStreamEncoder({ flavor: 'icl' }).schema), Buffer.from(stepStreamEncoder({}).schema));
  });

  it("each step's message is apache-arrow's writer's of the same record batch, byte for byte", () => {
    for (const [batches, subBatchSize] of [[whole, null], [chunked, 4]] as const) {
      const options = { subBatchSize, withText: true, flavor: 'research' as const };
      const encoder = stepStreamEncoder(options);
      const writer = ipcStreamEncoder(stepSchema(options));
      assert.deepEqual(Buffer.from(encoder.schema), Buffer.from(writer.schema));
      for (const batch of batches) assert.deepEqual(Buffer.from(encoder.step(batch)), Buffer.from(writer.batch(stepRecordBatch([batch], options))));
    }
  });

  it('an icl step in a research table (it has no messages) is an InvariantError; an unknown flavor a ConfigError', async () => {
    const icl = await batchesOf(null, 1);
    await assert.rejects(bytesOf(icl, { flavor: 'research' }), (e: Error) => e.name === 'InvariantError' && /no messages/.test(e.message));
    assert.throws(() => stepSchema({ flavor: 'mystery' as 'icl' }), (e: Error) => e.name === 'ConfigError' && /flavor/.test(e.message));
  });
});

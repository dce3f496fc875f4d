/**
 * Bad input gives a typed error naming file, line and field, through the library and the CLI —
 * where the reference would crash somewhere deep, or quietly train on garbage.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { RecordError } from '../../lib/core/errors.js';
import { flagEmbeddingBatches } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { runCli } from '../helpers/run.js';
import { jsonl, record, writeTree } from '../helpers/tmp.js';

const tokenizer = fixtureTokenizer();

/** Runs the pipeline on `files` and returns the RecordError it must throw. */
const recordErrorOf = async (files: Record<string, string>, options: { knowledgeDistillation?: boolean; trainGroupSize?: number } = {}) => {
  const root = writeTree(files);
  const batches = flagEmbeddingBatches({
    trainData: [root],
    tokenizer,
    seed: 1,
    perDeviceTrainBatchSize: 2,
    queryInstructionForRetrieval: 'Find it.',
    ...options,
  });
  const error = await toArray(batches.pipe(take(50))).then(
    () => assert.fail('expected a RecordError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RecordError, `expected a RecordError, got ${String(error)}`);
  return { error, root };
};

describe('bad records: typed errors with file, line and field', () => {
  it('malformed JSON: the line, no field', async () => {
    const { error, root } = await recordErrorOf({ 'a.jsonl': jsonl(record(0), record(1)) + '{"query": "q", "pos": [\n' });
    assert.equal(error.file, join(root, 'a.jsonl'));
    assert.equal(error.line, 3);
    assert.equal(error.field, undefined);
    assert.match(error.message, /malformed JSON/);
  });

  it('a missing field and a mistyped field of one record are reported together', async () => {
    const { error, root } = await recordErrorOf({ 'a.jsonl': jsonl(record(0), { pos: 'not a list', neg: [] }) });
    assert.deepEqual(
      error.issues.map((i) => [i.file, i.line, i.field]),
      [
        [join(root, 'a.jsonl'), 2, 'query'],
        [join(root, 'a.jsonl'), 2, 'pos'],
      ],
    );
    assert.match(error.issues[0]!.message, /required field is missing/);
    assert.match(error.issues[1]!.message, /expected a list of strings, got string/);
  });

  it('a non-string inside a list names the element', async () => {
    const { error } = await recordErrorOf({ 'a.jsonl': jsonl(record(0), record(1, { neg: ['ok', 7] })) });
    assert.equal(error.line, 2);
    assert.equal(error.field, 'neg.1');
  });

  it('an empty pos', async () => {
    const { error } = await recordErrorOf({ 'a.jsonl': jsonl(record(0), record(1), record(2, { pos: [] })) });
    assert.equal(error.line, 3);
    assert.equal(error.field, 'pos');
    assert.match(error.message, /empty/);
  });

  it('an empty neg when the group needs negatives (train_group_size > 1)', async () => {
    const { error, root } = await recordErrorOf({ 'a.jsonl': jsonl(record(0, {}, 0), record(1, {}, 0)) }, { trainGroupSize: 4 });
    assert.equal(error.file, join(root, 'a.jsonl'));
    assert.ok(error.line === 1 || error.line === 2);
    assert.equal(error.field, 'neg');
    assert.match(error.message, /needs 3 negatives/);
  });

  it('an empty neg is fine when the group is the positive alone (train_group_size 1)', async () => {
    const root = writeTree({ 'a.jsonl': jsonl(record(0, {}, 0), record(1, {}, 0)) });
    const batches = await toArray(
      flagEmbeddingBatches({ trainData: [root], tokenizer, seed: 1, perDeviceTrainBatchSize: 2, trainGroupSize: 1, queryInstructionForRetrieval: 'x', epochs: 1 }),
    );
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.passages.length, 2);
  });

  it('score lists of the wrong length (knowledge distillation)', async () => {
    const { error } = await recordErrorOf(
      { 'a.jsonl': jsonl(record(0, { pos_scores: [1], neg_scores: [1, 2, 3] }), record(1, { pos_scores: [1], neg_scores: [1, 2] })) },
      { knowledgeDistillation: true },
    );
    assert.equal(error.line, 2);
    assert.equal(error.field, 'neg_scores');
    assert.match(error.message, /2 scores for 3 neg passages/);
  });

  it('scores are not read at all without knowledge distillation, as the reference drops them', async () => {
    const root = writeTree({ 'a.jsonl': jsonl(record(0, { pos_scores: 'garbage' }), record(1)) });
    const [batch] = await toArray(flagEmbeddingBatches({ trainData: [root], tokenizer, seed: 1, perDeviceTrainBatchSize: 2, queryInstructionForRetrieval: 'x', epochs: 1 }));
    assert.equal(batch!.teacherScores, null);
  });

  it('mixed types in a file', async () => {
    const { error } = await recordErrorOf({
      'a.jsonl': jsonl(record(0, { type: 'normal', prompt: 'p' }), record(1, { type: 'normal', prompt: 'p' }), record(2, { type: 'only_1neg', prompt: 'p' })),
    });
    assert.equal(error.line, 3);
    assert.equal(error.field, 'type');
    assert.match(error.message, /same type/);
  });

  it('a record without a prompt in a corpus whose other files have prompts (the reference would write "None")', async () => {
    const { error, root } = await recordErrorOf({
      'a.jsonl': jsonl(record(0, { prompt: 'p' }), record(1, { prompt: 'p' })),
      'b.jsonl': jsonl(record(2), record(3)),
    });
    assert.equal(error.file, join(root, 'b.jsonl'));
    assert.equal(error.field, 'prompt');
    assert.match(error.message, /"None"/);
  });

  it('symmetric_clustering without a category', async () => {
    const { error } = await recordErrorOf({
      'a.jsonl': jsonl(record(0, { type: 'symmetric_clustering', prompt: 'p', category: 'c' }), record(1, { type: 'symmetric_clustering', prompt: 'p' })),
    });
    assert.equal(error.line, 2);
    assert.equal(error.field, 'category');
  });

  it('the CLI prints the located issue and exits 1', async () => {
    const root = writeTree({ 'a.jsonl': jsonl(record(0), record(1, { pos: [] })) });
    const run = await runCli(['dump', '--train_data', root, '--query_instruction_for_retrieval', 'x', '--steps', '2']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`${join(root, 'a.jsonl').replaceAll('/', '\\/')}:2: pos: is empty`));
  });
});

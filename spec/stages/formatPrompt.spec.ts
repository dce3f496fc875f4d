/**
 * formatPrompt / getQueryPrompt / instructionOf: queries formatted with the record's prompt or the
 * default instruction (the corpus's prompt column decides), symmetric_sts / symmetric_clustering
 * passages formatted like queries, other passages only with a passage instruction, and a
 * RecordError where the reference would write "None".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError, RecordError } from '../../lib/core/errors.js';
import type { Example, PromptedBatch, SampledBatch } from '../../lib/core/model.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { formatPrompt, getQueryPrompt, type FormatPromptOptions } from '../../lib/stages/formatPrompt.js';
import { runnable, sampledBatchesOf } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { columns, example, localBatch, task } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Stage = (options: FormatPromptOptions) => Op<SampledBatch, PromptedBatch>;

/** What each template a test uses means, written out (instruction, text) → string. */
const FORMATS: Readonly<Record<string, (instruction: string, text: string) => string>> = {
  '{}{}': (i, t) => i + t,
  '<instruct>{}\n<query>{}': (i, t) => getQueryPrompt(t, i, true),
  'Instruct: {}\nQuery: {}': (i, t) => getQueryPrompt(t, i, false),
  'passage: {}|{}': (i, t) => `passage: ${i}|${t}`,
  '{1} ({0})': (i, t) => `${t} (${i})`,
  '{{{}}} {}': (i, t) => `{${i}} ${t}`,
};

const passageOptions = fc.record({
  passageInstructionForRetrieval: fc.constantFrom(null, 'Represent this passage: '),
  passageInstructionFormat: fc.constantFrom('{}{}', 'passage: {}|{}', '{1} ({0})', '{{{}}} {}'),
});

const sample = fc.tuple(runnable, passageOptions);
type Sample = typeof sample extends fc.Arbitrary<infer S> ? S : never;
const optionsOf = ([r, p]: Sample): FormatPromptOptions => ({ ...r.options, ...p });

/** Model: the stage's output for one batch, from the documented rules. */
const expectedOf = (batch: SampledBatch, o: FormatPromptOptions) => {
  const query = FORMATS[o.queryInstructionFormat ?? '{}{}']!;
  const passage = FORMATS[o.passageInstructionFormat ?? '{}{}']!;
  const symmetric = batch.task.columns.type && ['symmetric_sts', 'symmetric_clustering'].includes(batch.records[0].value.type ?? '');
  const queries: string[] = [];
  const passages: string[][] = [];
  batch.records.forEach((record, i) => {
    const instruction = batch.task.columns.prompt ? record.value.prompt! : o.queryInstructionForRetrieval!;
    queries.push(query(instruction, record.value.query));
    const group = batch.groups[i]!;
    const texts = [group.positive, ...group.negativeIndices.map((n) => record.value.neg[n]!)];
    const instructionForPassages = o.passageInstructionForRetrieval;
    passages.push(
      symmetric
        ? texts.map((t) => query(instruction, t))
        : instructionForPassages !== null && instructionForPassages !== undefined
          ? texts.map((t) => passage(instructionForPassages, t))
          : texts,
    );
  });
  return { ...batch, queries, passages };
};

const followsTheRules = (stage: Stage) =>
  fc.asyncProperty(sample, async (s) => {
    const batches = await sampledBatchesOf(s[0]);
    const out = await toArray(from(batches).pipe(stage(optionsOf(s))));
    return out.length === batches.length && batches.every((b, i) => isDeepStrictEqual(out[i], expectedOf(b, optionsOf(s))));
  });

/** A one-record sampled batch of a hand-built task (group: the positive and negatives 1, 0). */
const sampled = (value: Example, prompted: boolean, typed: boolean): SampledBatch => {
  const t = task({ name: 'a.jsonl', records: [value], batchSize: 1, columns: columns({ prompt: prompted, type: typed }) });
  return {
    ...localBatch(t),
    groupSize: 3,
    groups: [{ positiveIndex: 0, positive: value.pos[0], negativeIndices: [1, 0], teacherScores: null }],
    icl: null,
  };
};
const formatOne = async (batch: SampledBatch, o: FormatPromptOptions) => (await toArray(from([batch]).pipe(formatPrompt(o))))[0]!;

describe(`formatPrompt (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample,
    input: (s) => sampledBatchesOf(s[0]),
    op: (s) => formatPrompt(optionsOf(s)),
    numRuns: 10,
  });

  it("getQueryPrompt's two templates, exactly", () => {
    assert.equal(getQueryPrompt('what is a sonnet', 'Given a term, retrieve its definition.', true), '<instruct>Given a term, retrieve its definition.\n<query>what is a sonnet');
    assert.equal(getQueryPrompt('what is a sonnet', 'Given a term, retrieve its definition.', false), 'Instruct: Given a term, retrieve its definition.\nQuery: what is a sonnet');
    fc.assert(
      fc.property(fc.string(), fc.string(), (q, p) => getQueryPrompt(q, p, true) === '<instruct>' + p + '\n<query>' + q && getQueryPrompt(q, p, false) === 'Instruct: ' + p + '\nQuery: ' + q),
      fcParams({ numRuns: 100 }),
    );
  });

  it('on random corpora: queries, passages and every other field follow the documented rules', async () => {
    await fc.assert(followsTheRules(formatPrompt), fcParams({ numRuns: 40 }));
  });

  it("the record's prompt when the corpus has a prompt column, query_instruction_for_retrieval when it has none", async () => {
    const o = { queryInstructionFormat: '<instruct>{}\n<query>{}', queryInstructionForRetrieval: 'Default.' };
    const withPrompt = await formatOne(sampled(example(0, { prompt: 'Own.' }), true, false), o);
    assert.deepEqual(withPrompt.queries, ['<instruct>Own.\n<query>query 0']);
    const without = await formatOne(sampled(example(0), false, false), o);
    assert.deepEqual(without.queries, ['<instruct>Default.\n<query>query 0']);
    // The column decides, not the record.
    const ignored = await formatOne(sampled(example(0, { prompt: 'Own.' }), false, false), o);
    assert.deepEqual(ignored.queries, ['<instruct>Default.\n<query>query 0']);
  });

  it('symmetric_sts and symmetric_clustering passages are formatted with the query format and instruction', async () => {
    for (const type of ['symmetric_sts', 'symmetric_clustering']) {
      const out = await formatOne(sampled(example(0, { type, prompt: 'Same?', category: 'c' }), true, true), {
        queryInstructionFormat: 'Instruct: {}\nQuery: {}',
        passageInstructionForRetrieval: 'Passage instruction',
        passageInstructionFormat: 'passage: {}|{}',
      });
      assert.deepEqual(out.passages, [['Instruct: Same?\nQuery: pos 0', 'Instruct: Same?\nQuery: neg 0.1', 'Instruct: Same?\nQuery: neg 0.0']], type);
    }
  });

  it('other passages get passage_instruction_format only when passage_instruction_for_retrieval is set', async () => {
    for (const type of ['normal', 'symmetric_class', 'only_1neg']) {
      const batch = sampled(example(0, { type, prompt: 'P' }), true, true);
      const formatted = await formatOne(batch, { passageInstructionForRetrieval: 'Doc: ', passageInstructionFormat: '{}[{}]' });
      assert.deepEqual(formatted.passages, [['Doc: [pos 0]', 'Doc: [neg 0.1]', 'Doc: [neg 0.0]']], type);
      const plain = await formatOne(batch, { passageInstructionFormat: '{}[{}]' });
      assert.deepEqual(plain.passages, [['pos 0', 'neg 0.1', 'neg 0.0']], type);
    }
  });

  it('a symmetric type without a type column is formatted as a plain record', async () => {
    const out = await formatOne(sampled(example(0, { type: 'symmetric_sts' }), false, false), { queryInstructionForRetrieval: 'I: ' });
    assert.deepEqual(out.passages, [['pos 0', 'neg 0.1', 'neg 0.0']]);
  });

  it('RecordError (field prompt) where the reference would write "None": a record without prompt in a prompt-column corpus, or no prompt and no default', async () => {
    const isNone = (e: unknown) => e instanceof RecordError && e.field === 'prompt' && e.file === 'a.jsonl' && e.line === 1 && /"None"/.test(e.message);
    await assert.rejects(formatOne(sampled(example(0), true, false), { queryInstructionForRetrieval: 'Default.' }), isNone);
    await assert.rejects(formatOne(sampled(example(0), false, false), {}), isNone);
    await assert.rejects(formatOne(sampled(example(0), false, false), { queryInstructionForRetrieval: null }), isNone);
  });

  it('an empty instruction is an instruction, not a missing one', async () => {
    const out = await formatOne(sampled(example(0), false, false), { queryInstructionForRetrieval: '', queryInstructionFormat: '<{}>{}' });
    assert.deepEqual(out.queries, ['<>query 0']);
  });

  it('bad formats are a ConfigError at construction, naming the option', () => {
    const bad: Array<[FormatPromptOptions, string]> = [
      [{ queryInstructionFormat: '{}{}{}' }, 'query_instruction_format'],
      [{ queryInstructionFormat: '{2}' }, 'query_instruction_format'],
      [{ queryInstructionFormat: '{}{0}' }, 'query_instruction_format'],
      [{ passageInstructionFormat: '{name}{}' }, 'passage_instruction_format'],
      [{ passageInstructionFormat: '{:>4}{}' }, 'passage_instruction_format'],
      [{ passageInstructionFormat: '{' }, 'passage_instruction_format'],
    ];
    for (const [options, option] of bad) {
      assert.throws(() => formatPrompt(options), (e: unknown) => e instanceof ConfigError && e.option === option, JSON.stringify(options));
    }
  });

  it('meta: the rules property catches symmetric passages left as they are, the default instruction used for everyone, and passage formats swapped in for queries', async () => {
    const tampered =
      (f: (b: PromptedBatch) => PromptedBatch): Stage =>
      (o) =>
      (batches) =>
        from(batches).pipe(
          formatPrompt(o),
          operator<PromptedBatch, PromptedBatch>(async function* (src) {
            for await (const b of src) yield f(b);
          }),
        );
    const rawSymmetric = tampered((b) =>
      b.task.columns.type && ['symmetric_sts', 'symmetric_clustering'].includes(b.records[0].value.type ?? '')
        ? { ...b, passages: b.groups.map((g, i) => [g.positive, ...g.negativeIndices.map((n) => b.records[i]!.value.neg[n]!)]) as never }
        : b,
    );
    // Formats every batch as if the corpus had no prompt column, and hands back the batch's real task.
    const defaultForAll: Stage = (o) =>
      operator(async function* (src) {
        for await (const b of src) {
          const [out] = await toArray(from([{ ...b, task: { ...b.task, columns: { ...b.task.columns, prompt: false } } }]).pipe(formatPrompt(o)));
          yield { ...out!, task: b.task };
        }
      });
    const passageFormatForQueries: Stage = (o) => formatPrompt({ ...o, queryInstructionFormat: o.passageInstructionFormat });
    const opts = { seed: FC_SEED, numRuns: 40 };
    assert.equal((await fc.check(followsTheRules(rawSymmetric), opts)).failed, true);
    assert.equal((await fc.check(followsTheRules(defaultForAll), opts)).failed, true);
    assert.equal((await fc.check(followsTheRules(passageFormatForQueries), opts)).failed, true);
  });
});

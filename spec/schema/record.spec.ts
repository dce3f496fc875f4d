/**
 * `decodeExample`: JSON records into camelCase Examples, every field problem of a record collected
 * in one Left, each located by file, line and field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { Issue } from '../../lib/core/errors.js';
import { MAX_PASSAGES_PER_STEP } from '../../lib/core/limits.js';
import type { Example, Provenance } from '../../lib/core/model.js';
import { decodeExample } from '../../lib/schema/record.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';

const AT: Provenance = { file: 'data/a.jsonl', line: 7, record: 6 };
const KD = { knowledgeDistillation: true } as const;

const right = (u: unknown, options = {}): Example => {
  const decoded = decodeExample(u, AT, options);
  if (E.isLeft(decoded)) assert.fail(`expected Right, got ${JSON.stringify(decoded.left)}`);
  return decoded.right;
};

const issues = (u: unknown, options = {}): ReadonlyArray<Issue> => {
  const decoded = decodeExample(u, AT, options);
  if (E.isRight(decoded)) assert.fail(`expected Left, got ${JSON.stringify(decoded.right)}`);
  return decoded.left;
};

/** The issues' fields, in order (null for a whole-record issue). */
const fields = (u: unknown, options = {}) => issues(u, options).map((i) => i.field ?? null);

const minimal = { query: 'q', pos: ['p'], neg: ['n0', 'n1'] };

describe('decodeExample: valid records', () => {
  it('a full record (every optional field) decodes to the camelCase Example', () => {
    const raw = {
      query: 'what is a cat',
      pos: ['a small feline', 'a pet'],
      neg: ['a dog', 'a car', 'a tree'],
      pos_scores: [0.9, 0.7],
      neg_scores: [0.1, -2, 3],
      prompt: 'Given a query, retrieve passages.',
      type: 'normal',
      category: 'animals',
      train_group_size: 4,
      batch_size: 2,
      unknown_key: 'ignored, as the reference ignores it',
    };
    assert.deepEqual(right(raw, KD), {
      query: 'what is a cat',
      pos: ['a small feline', 'a pet'],
      neg: ['a dog', 'a car', 'a tree'],
      posScores: [0.9, 0.7],
      negScores: [0.1, -2, 3],
      prompt: 'Given a query, retrieve passages.',
      type: 'normal',
      category: 'animals',
      trainGroupSize: 4,
      batchSize: 2,
    });
  });

  it('a minimal record has no optional keys at all (absent, not undefined)', () => {
    const example = right(minimal);
    assert.deepEqual(Object.keys(example).sort(), ['neg', 'pos', 'query']);
  });

  it('an empty neg list is a valid record', () => {
    assert.deepEqual(right({ query: 'q', pos: ['p'], neg: [] }), { query: 'q', pos: ['p'], neg: [] });
  });

  it('JSON null counts as absent for every optional field', () => {
    const raw = { ...minimal, prompt: null, type: null, category: null, train_group_size: null, batch_size: null, pos_scores: null, neg_scores: null };
    const example = right(raw, KD);
    assert.deepEqual(example, minimal);
  });

  it('JSON null on a required field is "missing"', () => {
    const found = issues({ query: null, pos: null, neg: null });
    assert.deepEqual(
      found.map((i) => [i.field, i.message]),
      [
        ['query', 'required field is missing'],
        ['pos', 'required field is missing'],
        ['neg', 'required field is missing'],
      ],
    );
  });
});

describe('decodeExample: every issue of a record at once, each located', () => {
  it('four problems give four issues, each with file, line and field', () => {
    const found = issues({ query: 3, pos: 'not a list', neg: ['ok', false], batch_size: 0 });
    assert.equal(found.length, 4);
    assert.deepEqual(
      found.map(({ file, line, field }) => ({ file, line, field })),
      [
        { file: AT.file, line: AT.line, field: 'query' },
        { file: AT.file, line: AT.line, field: 'pos' },
        { file: AT.file, line: AT.line, field: 'neg.1' },
        { file: AT.file, line: AT.line, field: 'batch_size' },
      ],
    );
    assert.match(found[0]!.message, /expected a string, got number 3/);
    assert.match(found[1]!.message, /expected a list of strings, got string "not a list"/);
    assert.match(found[2]!.message, /expected a string, got boolean false/);
    assert.match(found[3]!.message, /positive integer/);
  });

  it('optional strings of the wrong type, each named', () => {
    assert.deepEqual(fields({ ...minimal, prompt: 1, type: ['normal'], category: {} }), ['prompt', 'type', 'category']);
  });

  it('an empty pos', () => {
    const found = issues({ ...minimal, pos: [] });
    assert.deepEqual(
      found.map((i) => i.field),
      ['pos'],
    );
    assert.match(found[0]!.message, /empty/);
  });

  it('a non-string inside pos names the element', () => {
    assert.deepEqual(fields({ ...minimal, pos: ['a', 'b', null] }), ['pos.2']);
  });

  for (const key of ['train_group_size', 'batch_size'] as const) {
    for (const bad of [0, -1, 1.5, '2', true, [2]]) {
      it(`${key} ${JSON.stringify(bad)} is not a positive integer`, () => {
        const found = issues({ ...minimal, [key]: bad });
        assert.deepEqual(
          found.map((i) => i.field),
          [key],
        );
        assert.match(found[0]!.message, /expected a positive integer/);
      });
    }
    it(`${key} 1, 64 and 2^18 are fine`, () => {
      for (const n of [1, 64, MAX_PASSAGES_PER_STEP]) assert.equal(right({ ...minimal, [key]: n })[key === 'batch_size' ? 'batchSize' : 'trainGroupSize'], n);
    });
    for (const big of [MAX_PASSAGES_PER_STEP + 1, 20_000_000, 2 ** 31, 2 ** 53, 1e300]) {
      it(`${key} ${big} is out of range (it used to wrap to a negative number in the index past 2^31)`, () => {
        const found = issues({ ...minimal, [key]: big });
        assert.deepEqual(
          found.map((i) => i.field),
          [key],
        );
        assert.match(found[0]!.message, /out of range: at most 262144/);
      });
    }
  }

  for (const [where, raw, field] of [
    ['the query', { ...minimal, query: 'a\ud800b' }, 'query'],
    ['a positive', { ...minimal, pos: ['ok', '\udc00'] }, 'pos.1'],
    ['a negative', { ...minimal, neg: ['x\ud83d'] }, 'neg.0'],
    ['the prompt', { ...minimal, prompt: '\udfff' }, 'prompt'],
  ] as const) {
    it(`a lone surrogate in ${where} is an issue naming ${field}; a surrogate pair is fine`, () => {
      const found = issues(JSON.parse(JSON.stringify(raw)) as unknown);
      assert.deepEqual(
        found.map((i) => i.field),
        [field],
      );
      assert.match(found[0]!.message, /lone surrogate/);
    });
  }
  it('a surrogate pair (an emoji) is text', () => {
    assert.equal(right({ ...minimal, query: 'a \ud83d\ude00 b' }).query, 'a 😀 b');
  });

  for (const value of [null, 3, 'text', true, [], [{ query: 'q' }]]) {
    it(`a line that is not an object (${JSON.stringify(value)}) is one whole-record issue`, () => {
      const found = issues(value);
      assert.equal(found.length, 1);
      assert.deepEqual({ file: found[0]!.file, line: found[0]!.line, field: found[0]!.field }, { file: AT.file, line: AT.line, field: undefined });
      assert.ok(!('field' in found[0]!), 'no field key on a whole-record issue');
      assert.match(found[0]!.message, /expected a JSON object/);
    });
  }
});

describe('decodeExample: teacher scores', () => {
  it('knowledge distillation off: scores are not read or checked at all', () => {
    for (const garbage of [{ pos_scores: 'x', neg_scores: [1, 'y'] }, { pos_scores: [1, 2, 3] }, { neg_scores: null }, { pos_scores: [0.5], neg_scores: [1, 2] }]) {
      const example = right({ ...minimal, ...garbage });
      assert.deepEqual(example, minimal);
      assert.ok(!('posScores' in example) && !('negScores' in example));
    }
    // The default is off.
    assert.deepEqual(decodeExample({ ...minimal, pos_scores: 'x' }, AT), E.right(minimal));
  });

  it('on: a score list of the wrong length names the list and both lengths', () => {
    const found = issues({ ...minimal, pos_scores: [1, 2], neg_scores: [1] }, KD);
    assert.deepEqual(
      found.map((i) => i.field),
      ['pos_scores', 'neg_scores'],
    );
    assert.match(found[0]!.message, /2 scores for 1 pos passages/);
    assert.match(found[1]!.message, /1 scores for 2 neg passages/);
  });

  it('on: a non-number names the element (pos_scores.2)', () => {
    const raw = { query: 'q', pos: ['a', 'b', 'c'], neg: ['n'], pos_scores: [1, 2, '3'], neg_scores: [0] };
    const found = issues(raw, KD);
    assert.deepEqual(
      found.map((i) => i.field),
      ['pos_scores.2'],
    );
    assert.match(found[0]!.message, /expected a finite number, got string "3"/);
    assert.deepEqual(fields({ ...raw, pos_scores: [1, null, 3] }, KD), ['pos_scores.1']);
    assert.deepEqual(fields({ ...raw, pos_scores: [1, 2, 3], neg_scores: 'high' }, KD), ['neg_scores']);
  });

  it('on: one list without the other names the missing one', () => {
    assert.deepEqual(fields({ ...minimal, pos_scores: [1] }, KD), ['neg_scores']);
    assert.deepEqual(fields({ ...minimal, neg_scores: [1, 2] }, KD), ['pos_scores']);
    assert.deepEqual(fields({ ...minimal, pos_scores: [1], neg_scores: null }, KD), ['neg_scores']);
    assert.match(issues({ ...minimal, pos_scores: [1] }, KD)[0]!.message, /both or neither/);
  });

  it('on: no scores at all is fine', () => {
    assert.deepEqual(right(minimal, KD), minimal);
  });
});

// -------------------------------------------------------------------------------------------------
// Property: valid records decode and round-trip.
// -------------------------------------------------------------------------------------------------
const textArb = fc.string({ unit: 'grapheme', maxLength: 30 });

/** A valid raw record (snake_case JSON) with its expected Example, for knowledge distillation on or off. */
const validRecord = fc
  .record({
    query: textArb,
    pos: fc.array(textArb, { minLength: 1, maxLength: 4 }),
    neg: fc.array(textArb, { maxLength: 6 }),
    prompt: fc.option(textArb, { nil: undefined }),
    type: fc.option(fc.constantFrom('normal', 'only_1neg', 'symmetric_sts', 'symmetric_class', 'symmetric_clustering', 'custom'), { nil: undefined }),
    category: fc.option(textArb, { nil: undefined }),
    trainGroupSize: fc.option(fc.integer({ min: 1, max: MAX_PASSAGES_PER_STEP }), { nil: undefined }),
    batchSize: fc.option(fc.integer({ min: 1, max: 1024 }), { nil: undefined }),
    scored: fc.boolean(),
    scoreSeed: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 10, maxLength: 10 }),
    absentAs: fc.constantFrom('missing', 'null'),
    kd: fc.boolean(),
  })
  .map((r) => {
    const posScores = r.scored ? r.pos.map((_, i) => r.scoreSeed[i]!) : undefined;
    const negScores = r.scored ? r.neg.map((_, i) => r.scoreSeed[4 + i]!) : undefined;
    const optional: Record<string, unknown> = {
      prompt: r.prompt,
      type: r.type,
      category: r.category,
      train_group_size: r.trainGroupSize,
      batch_size: r.batchSize,
      pos_scores: posScores,
      neg_scores: negScores,
    };
    const raw: Record<string, unknown> = { query: r.query, pos: r.pos, neg: r.neg };
    for (const [key, value] of Object.entries(optional)) {
      if (value !== undefined) raw[key] = value;
      else if (r.absentAs === 'null') raw[key] = null;
    }
    const expected: Record<string, unknown> = { query: r.query, pos: r.pos, neg: r.neg };
    if (r.kd && posScores !== undefined) expected['posScores'] = posScores;
    if (r.kd && negScores !== undefined) expected['negScores'] = negScores;
    if (r.prompt !== undefined) expected['prompt'] = r.prompt;
    if (r.type !== undefined) expected['type'] = r.type;
    if (r.category !== undefined) expected['category'] = r.category;
    if (r.trainGroupSize !== undefined) expected['trainGroupSize'] = r.trainGroupSize;
    if (r.batchSize !== undefined) expected['batchSize'] = r.batchSize;
    return { raw, expected, kd: r.kd };
  });

describe(`decodeExample properties (FC_SEED=${FC_SEED})`, () => {
  it('every valid record decodes to Right with exactly its fields, camelCased', () => {
    fc.assert(
      fc.property(validRecord, ({ raw, expected, kd }) => {
        const decoded = decodeExample(raw, AT, { knowledgeDistillation: kd });
        assert.ok(E.isRight(decoded), `Left: ${JSON.stringify(E.isLeft(decoded) ? decoded.left : null)}`);
        assert.deepEqual(decoded.right, expected);
        return true;
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it('decoding does not mutate the record, and a JSON round trip of the input decodes the same', () => {
    fc.assert(
      fc.property(validRecord, ({ raw, kd }) => {
        const before = structuredClone(raw);
        const a = decodeExample(raw, AT, { knowledgeDistillation: kd });
        assert.deepEqual(raw, before);
        const b = decodeExample(JSON.parse(JSON.stringify(raw)) as unknown, AT, { knowledgeDistillation: kd });
        // JSON has no -0: compare through JSON too.
        return JSON.stringify(a) === JSON.stringify(b);
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('breaking k distinct fields of a valid record gives exactly k issues, one per field', () => {
    const breakers: Record<string, unknown> = { query: 5, pos: [], neg: 'x', prompt: 1, type: 2, category: 3, train_group_size: 0, batch_size: -1 };
    fc.assert(
      fc.property(validRecord, fc.subarray(Object.keys(breakers), { minLength: 1 }), ({ raw, kd }, broken) => {
        const bad = { ...raw, ...Object.fromEntries(broken.map((k) => [k, breakers[k]])) };
        const decoded = decodeExample(bad, AT, { knowledgeDistillation: kd });
        if (E.isRight(decoded)) return false;
        const found = decoded.left.map((i) => i.field).filter((f) => f !== 'pos_scores' && f !== 'neg_scores');
        return (
          JSON.stringify([...found].sort()) === JSON.stringify([...broken].sort()) &&
          decoded.left.every((i) => i.file === AT.file && i.line === AT.line)
        );
      }),
      fcParams({ numRuns: 200 }),
    );
  });
});

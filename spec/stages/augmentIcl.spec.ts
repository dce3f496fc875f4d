/**
 * augmentIcl / buildExamplePrefixes: in-context prefixes grown greedily within the budget, every
 * query closed with icl_suffix_str, symmetric passages cut to their budget and closed too; a
 * hand-built batch through the fixture tokenizer gives hand-computed texts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { ConfigError } from '../../lib/core/errors.js';
import type { Example, IclDraw, PromptedBatch, TextBatch } from '../../lib/core/model.js';
import { operator, type Op } from '../../lib/core/operator.js';
import { augmentIcl, buildExamplePrefixes, type AugmentIclOptions } from '../../lib/stages/augmentIcl.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { promptedBatchesOf, runnable, type Runnable } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { columns, example, localBatch, task } from '../helpers/handBuilt.js';
import { checkOperatorLaws } from '../laws/checkOperatorLaws.js';

type Build = typeof buildExamplePrefixes;
type Stage = (options: AugmentIclOptions) => Op<PromptedBatch, TextBatch>;

// ---------------------------------------------------------------------------------------------
// buildExamplePrefixes against a sequential model

const prefixCase = fc
  .array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', 'é'), maxLength: 5 }), { minLength: 1, maxLength: 8 })
  .chain((pairs) =>
    fc.record({
      pairs: fc.constant(pairs),
      draws: fc.array(
        fc.uniqueArray(fc.nat({ max: pairs.length - 1 }), { maxLength: 5 }).map((exampleIds): IclDraw => ({ count: exampleIds.length, exampleIds })),
        { minLength: 1, maxLength: 6 },
      ),
      // Any measure: the rule is about where growing stops, not about what is measured.
      measure: fc.func(fc.integer({ min: 0, max: 12 })),
      limit: fc.integer({ min: -1, max: 14 }),
    }),
  );

/** For each query: walk its example ids in order; stop at the first candidate whose measure exceeds the limit. */
const sequentialModel = (pairs: ReadonlyArray<string>, draws: ReadonlyArray<IclDraw>, measure: (t: string) => number, limit: number) =>
  draws.map((draw) => {
    let prefix = '';
    for (const id of draw.exampleIds) {
      const candidate = prefix + pairs[id]!;
      if (measure(candidate) > limit) break;
      prefix = candidate;
    }
    return prefix;
  });

const batched = (measure: (t: string) => number) => async (texts: ReadonlyArray<string>) => texts.map((t) => measure(t));

const agreesWithTheModel = (build: Build) =>
  fc.asyncProperty(prefixCase, async ({ pairs, draws, measure, limit }) =>
    isDeepStrictEqual(await build(pairs, draws, batched(measure), limit), sequentialModel(pairs, draws, measure, limit)),
  );

const prefixesFitTheLimit = (build: Build) =>
  fc.asyncProperty(prefixCase, async ({ pairs, draws, measure, limit }) =>
    (await build(pairs, draws, batched(measure), limit)).every((prefix) => prefix === '' || measure(prefix) <= limit),
  );

// ---------------------------------------------------------------------------------------------
// The stage on random corpora

const tokenizerOf = (r: Runnable) => r.options.tokenizer;
const suffixIdsOf = async (r: Runnable) => (await tokenizerOf(r).encodeBatch([`${r.options.iclSuffixStr}${tokenizerOf(r).eosToken}`]))[0]!;
const cut = async (r: Runnable, texts: ReadonlyArray<string>, n: number) =>
  tokenizerOf(r).decodeBatch((await tokenizerOf(r).encodeBatch(texts)).map((ids) => ids.slice(0, n)));

const onRandomCorpora = (stage: Stage, check: (r: Runnable, input: PromptedBatch, output: TextBatch) => Promise<boolean> | boolean) =>
  fc.asyncProperty(runnable, async (r) => {
    const input = await promptedBatchesOf(r);
    const output = await toArray(from(input).pipe(stage(r.options)));
    if (output.length !== input.length) return false;
    for (const [i, b] of input.entries()) if (!(await check(r, b, output[i]!))) return false;
    return true;
  });

const queriesEndWithTheSuffix = (r: Runnable, _: PromptedBatch, out: TextBatch) => out.queries.every((q) => q.endsWith(r.options.iclSuffixStr));

const isSymmetric = (b: PromptedBatch) => b.task.columns.type && ['symmetric_sts', 'symmetric_clustering'].includes(b.records[0].value.type ?? '');

/** Symmetric passages: content cut to passage_max_len − 1 − len(suffix ids) tokens, then the suffix; others unchanged. */
const passagesFollowTheBudget = async (r: Runnable, input: PromptedBatch, out: TextBatch) => {
  const flat = input.passages.flat();
  if (!isSymmetric(input)) return isDeepStrictEqual([...out.passages], flat);
  const budget = r.options.passageMaxLen - 1 - (await suffixIdsOf(r)).length;
  const expected = (await cut(r, flat, budget)).map((p) => p + r.options.iclSuffixStr);
  return isDeepStrictEqual([...out.passages], expected);
};

/** Without drawn examples, a query is its text cut to query_max_len − len(BOS ids) − len(suffix ids) tokens, then the suffix. */
const plainQueriesFollowTheBudget = async (r: Runnable, input: PromptedBatch, out: TextBatch) => {
  const budget = r.options.queryMaxLen - 1 - (await suffixIdsOf(r)).length;
  const plain = input.queries.flatMap((q, i) => ((input.icl?.[i]?.exampleIds.length ?? 0) === 0 ? [[q, out.queries[i]!] as const] : []));
  const expected = await cut(r, plain.map(([q]) => q), budget);
  return plain.every(([, actual], k) => actual === expected[k]! + r.options.iclSuffixStr);
};

/** The rest of the batch is carried over: position, records, group size, flat teacher scores, the no_in_batch_neg flag. */
const batchIsCarried = (_: Runnable, input: PromptedBatch, out: TextBatch) => {
  const scores = input.groups.flatMap((g) => g.teacherScores ?? []);
  return (
    out.epoch === input.epoch &&
    out.step === input.step &&
    out.globalStep === input.globalStep &&
    out.task === input.task &&
    out.rank === input.rank &&
    out.worldSize === input.worldSize &&
    isDeepStrictEqual(out.indices, input.indices) &&
    out.records === input.records &&
    out.groupSize === input.groupSize &&
    out.passages.length === input.records.length * input.groupSize &&
    out.queries.length === input.records.length &&
    isDeepStrictEqual(out.teacherScores, scores.length > 0 ? scores : null) &&
    out.noInBatchNeg === input.task.noInBatchNeg
  );
};

// ---------------------------------------------------------------------------------------------
// Hand-built batches

const plainTokenizer = fixtureTokenizer();

const prompted = (
  values: ReadonlyArray<Example>,
  queries: ReadonlyArray<string>,
  passages: ReadonlyArray<ReadonlyArray<string>>,
  icl: ReadonlyArray<IclDraw> | null,
  typed = false,
): PromptedBatch => {
  const t = task({ name: 'hand.jsonl', records: values, batchSize: values.length, columns: columns({ type: typed, prompt: typed }) });
  return {
    ...localBatch(t),
    groupSize: passages[0]!.length,
    groups: values.map((v) => ({ positiveIndex: 0, positive: v.pos[0], negativeIndices: passages[0]!.slice(1).map((_, j) => j), teacherScores: null })) as never,
    icl: icl as never,
    queries: queries as never,
    passages: passages as never,
  };
};

describe(`augmentIcl (FC_SEED=${FC_SEED})`, () => {
  checkOperatorLaws({
    sample: runnable,
    input: (r) => promptedBatchesOf(r),
    op: (r) => augmentIcl(r.options),
    numRuns: 8,
  });

  describe(`buildExamplePrefixes (FC_SEED=${FC_SEED})`, () => {
    it('agrees with the sequential model (per query: its example ids in order, stopping at the first over the limit), for random measures', async () => {
      await fc.assert(agreesWithTheModel(buildExamplePrefixes), fcParams({ numRuns: 300 }));
    });

    it('measure(prefix) ≤ limit for every non-empty prefix', async () => {
      await fc.assert(prefixesFitTheLimit(buildExamplePrefixes), fcParams({ numRuns: 300 }));
    });

    it('measures in rounds: at most as many calls as the longest id list (five), each with the queries still growing', async () => {
      await fc.assert(
        fc.asyncProperty(prefixCase, async ({ pairs, draws, measure, limit }) => {
          const calls: number[] = [];
          await buildExamplePrefixes(pairs, draws, async (texts) => (calls.push(texts.length), texts.map((t) => measure(t))), limit);
          const longest = Math.max(...draws.map((d) => d.exampleIds.length));
          return calls.length <= longest && calls.every((n, k) => n >= 1 && (k === 0 || n <= calls[k - 1]!));
        }),
        fcParams({ numRuns: 200 }),
      );
    });

    it('the doc example', async () => {
      assert.deepEqual(
        await buildExamplePrefixes(['a\n\n', 'bb\n\n'], [{ count: 2, exampleIds: [1, 0] }, { count: 0, exampleIds: [] }], async (ts) => ts.map((t) => t.length), 6),
        ['bb\n\n', ''],
      );
    });
  });

  describe(`the stage on random corpora (FC_SEED=${FC_SEED})`, () => {
    it('every output query ends with icl_suffix_str', async () => {
      await fc.assert(onRandomCorpora(augmentIcl, queriesEndWithTheSuffix), fcParams({ numRuns: 25 }));
    });

    it('symmetric_sts / symmetric_clustering passages are cut to passage_max_len − 1 − len(suffix ids) tokens and end with icl_suffix_str; other passages are unchanged', async () => {
      await fc.assert(onRandomCorpora(augmentIcl, passagesFollowTheBudget), fcParams({ numRuns: 25 }));
    });

    it('a query without examples is cut to query_max_len − len(BOS ids) − len(suffix ids) tokens, then gets the suffix', async () => {
      await fc.assert(onRandomCorpora(augmentIcl, plainQueriesFollowTheBudget), fcParams({ numRuns: 25 }));
    });

    it('position, records, group size, flat teacher scores and the no_in_batch_neg flag are carried over', async () => {
      await fc.assert(onRandomCorpora(augmentIcl, batchIsCarried), fcParams({ numRuns: 15 }));
    });
  });

  describe(`hand-built batches through the fixture tokenizer (FC_SEED=${FC_SEED})`, () => {
    it('examples chosen within the budget, cut, joined, and the whole query cut to its budget', async () => {
      // Fixture: one token per ASCII character, "▁" before the text and for each space, "\n" is the
      // byte token <0x0A>, "he" is one token. Suffix ids: encode("\nA:</s>") = ▁ \n A : </s> (5);
      // BOS ids: encode("<s>") = <s> (1). So the query budget is 24 − 1 − 5 = 18 tokens, and the
      // example prefix may measure up to 24 − 4 = 20 (tokens + 2 special tokens).
      //   example questions, cut to 4 tokens: "find cats" → ▁ f i n → "fin"; "dogs" → "dog"; "hi" → "hi"
      //   example answers, cut to 3 tokens: "cats purr" → ▁ c a → "ca"; "dogs bark" → "do"; "hello" → ▁ he l → "hel"
      //   pairs: "fin\nA:ca\n\n" (11 tokens), "dog\nA:do\n\n" (11), "hi\nA:hel\n\n" (10)
      //   query 0, ids [1, 2]: pair 1 measures 13 ≤ 20, pair 1 + pair 2 measures 22 > 20 → prefix = pair 1
      //     "dog\nA:do\n\nfind cats" is 20 tokens, cut to 18 → "dog\nA:do\n\nfind ca"
      //   query 1, no ids: "dogs" (5 tokens)
      //   query 2, ids [0]: pair 0 measures 13 → "fin\nA:ca\n\nhi" (13 tokens, uncut)
      const batch = prompted(
        [example(0, { pos: ['cats purr'] }, 0), example(1, { pos: ['dogs bark'] }, 0), example(2, { pos: ['hello'] }, 0)],
        ['find cats', 'dogs', 'hi'],
        [['cats purr'], ['dogs bark'], ['hello']],
        [
          { count: 2, exampleIds: [1, 2] },
          { count: 0, exampleIds: [] },
          { count: 1, exampleIds: [0] },
        ],
      );
      const [out] = await toArray(
        from([batch]).pipe(
          augmentIcl({ tokenizer: plainTokenizer, iclSuffixStr: '\nA:', queryMaxLen: 24, exampleBudgetReserve: 4, exampleQueryMaxLen: 4, examplePassageMaxLen: 3 }),
        ),
      );
      assert.deepEqual(out!.queries, ['dog\nA:do\n\nfind ca\nA:', 'dogs\nA:', 'fin\nA:ca\n\nhi\nA:']);
      assert.deepEqual(out!.passages, ['cats purr', 'dogs bark', 'hello']);
      assert.equal(out!.teacherScores, null);
    });

    it('symmetric_sts passages: content cut to passage_max_len − 1 − len(suffix ids) tokens, a cut inside "ï" decodes to U+FFFD, then the suffix', async () => {
      // passage_max_len 11 → 11 − 1 − 5 = 5 content tokens.
      //   "the cat sat" → ▁the ▁ c a t | ▁ s a t → "the cat"
      //   "a naïve café" → ▁a ▁ n a <0xC3> | <0xAF> v e … → "a na\uFFFD" (half of ï)
      //   the query "Q" → ▁ Q → "Q"
      const batch = prompted([example(0, { type: 'symmetric_sts', prompt: 'p' }, 1)], ['Q'], [['the cat sat', 'a naïve café']], null, true);
      const [out] = await toArray(from([batch]).pipe(augmentIcl({ tokenizer: plainTokenizer, iclSuffixStr: '\nA:', passageMaxLen: 11 })));
      assert.deepEqual(out!.passages, ['the cat\nA:', 'a na\uFFFD\nA:']);
      assert.deepEqual(out!.queries, ['Q\nA:']);
    });

    it('symmetric_clustering examples answer with the category', async () => {
      // Pairs: "x\nA:red\n\n", "y\nA:blue\n\n"; query 0 takes pair 1, query 1 pair 0 (default budgets are ample).
      const values = [example(0, { type: 'symmetric_clustering', category: 'red', pos: ['ignored'] }, 1), example(1, { type: 'symmetric_clustering', category: 'blue', pos: ['ignored'] }, 1)];
      const batch = prompted(values, ['x', 'y'], [['p0', 'n0'], ['p1', 'n1']], [{ count: 1, exampleIds: [1] }, { count: 1, exampleIds: [0] }], true);
      const [out] = await toArray(from([batch]).pipe(augmentIcl({ tokenizer: plainTokenizer, iclSuffixStr: '\nA:', queryMaxLen: 600, exampleBudgetReserve: 512 })));
      assert.deepEqual(out!.queries, ['y\nA:blue\n\nx\nA:', 'x\nA:red\n\ny\nA:']);
    });

    it('with the default reserve of 512 and query_max_len ≤ 512, no example fits', async () => {
      const batch = prompted([example(0, {}, 0), example(1, {}, 0)], ['a', 'b'], [['p'], ['q']], [{ count: 1, exampleIds: [1] }, { count: 1, exampleIds: [0] }]);
      const [out] = await toArray(from([batch]).pipe(augmentIcl({ tokenizer: plainTokenizer, iclSuffixStr: '\nA:', queryMaxLen: 512 })));
      assert.deepEqual(out!.queries, ['a\nA:', 'b\nA:']);
    });
  });

  describe(`errors (FC_SEED=${FC_SEED})`, () => {
    it('bad options are a ConfigError at construction', () => {
      const bad: Array<[Partial<AugmentIclOptions>, string]> = [
        [{ queryMaxLen: 0 }, 'query_max_len'],
        [{ passageMaxLen: -1 }, 'passage_max_len'],
        [{ exampleQueryMaxLen: 1.5 }, 'example_query_max_len'],
        [{ examplePassageMaxLen: 0 }, 'example_passage_max_len'],
        [{ exampleBudgetReserve: 0.5 }, 'exampleBudgetReserve'],
        [{ tokenizer: undefined as never }, 'tokenizer'],
      ];
      for (const [options, option] of bad) {
        assert.throws(() => augmentIcl({ tokenizer: plainTokenizer, ...options }), (e: unknown) => e instanceof ConfigError && e.option === option, option);
      }
    });

    it('a query_max_len with no room after BOS and the suffix, or a passage_max_len with none for a symmetric passage, is a ConfigError when iterated', async () => {
      const plain = prompted([example(0, {}, 0)], ['q'], [['p']], null);
      await assert.rejects(
        toArray(from([plain]).pipe(augmentIcl({ tokenizer: plainTokenizer, iclSuffixStr: '\nA:', queryMaxLen: 6 }))),
        (e: unknown) => e instanceof ConfigError && e.option === 'query_max_len',
      );
      assert.equal((await toArray(from([plain]).pipe(augmentIcl({ tokenizer: plainTokenizer, iclSuffixStr: '\nA:', queryMaxLen: 7 }))))[0]!.queries[0], '\nA:');
      const symmetric = prompted([example(0, { type: 'symmetric_sts', prompt: 'p' }, 1)], ['q'], [['a', 'b']], null, true);
      await assert.rejects(
        toArray(from([symmetric]).pipe(augmentIcl({ tokenizer: plainTokenizer, iclSuffixStr: '\nA:', passageMaxLen: 6 }))),
        (e: unknown) => e instanceof ConfigError && e.option === 'passage_max_len',
      );
    });
  });

  describe(`meta (FC_SEED=${FC_SEED})`, () => {
    it('the prefix properties catch a builder that skips an over-limit example and goes on, and one that keeps the first candidate over the limit', async () => {
      const skipping: Build = async (pairs, draws, measure, limit) =>
        Promise.all(
          draws.map(async (draw) => {
            let prefix = '';
            for (const id of draw.exampleIds) {
              const candidate = prefix + pairs[id]!;
              if ((await measure([candidate]))[0]! <= limit) prefix = candidate;
            }
            return prefix;
          }),
        );
      const overshooting: Build = async (pairs, draws, measure, limit) =>
        Promise.all(
          draws.map(async (draw) => {
            let prefix = '';
            for (const id of draw.exampleIds) {
              prefix += pairs[id]!;
              if ((await measure([prefix]))[0]! > limit) break;
            }
            return prefix;
          }),
        );
      const opts = { seed: FC_SEED, numRuns: 300 };
      assert.equal((await fc.check(agreesWithTheModel(skipping), opts)).failed, true);
      assert.equal((await fc.check(prefixesFitTheLimit(overshooting), opts)).failed, true);
    });

    it('the stage properties catch a missing suffix on example-less queries, and symmetric passages cut one token too long', async () => {
      const tampered =
        (f: (out: TextBatch, input: PromptedBatch) => TextBatch): Stage =>
        (o) =>
          operator(async function* (src) {
            for await (const b of src) {
              const [out] = await toArray(from([b]).pipe(augmentIcl(o)));
              yield f(out!, b);
            }
          });
      // Example-less queries lose the suffix's last character.
      const noSuffix = tampered((out, input) => ({
        ...out,
        queries: out.queries.map((q, i) => ((input.icl?.[i]?.exampleIds.length ?? 0) === 0 ? q.slice(0, -1) : q)) as never,
      }));
      const tooLong: Stage = (o) => augmentIcl({ ...o, passageMaxLen: (o.passageMaxLen ?? 128) + 1 });
      const opts = { seed: FC_SEED, numRuns: 25 };
      assert.equal((await fc.check(onRandomCorpora(noSuffix, queriesEndWithTheSuffix), opts)).failed, true);
      assert.equal((await fc.check(onRandomCorpora(tooLong, passagesFollowTheBudget), opts)).failed, true);
    });
  });
});

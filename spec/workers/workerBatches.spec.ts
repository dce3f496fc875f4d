/**
 * workerBatches: batches built on worker threads are the batches built here
 * (`mapConcurrent(1, batchBuilder(options))`), field by field, for random runnable corpora and 1 or 2
 * workers; a RecordError raised in a worker arrives as a RecordError with its file, line and field;
 * early exit terminates the workers; bad options are ConfigErrors at construction.
 *
 * Workers take a few tenths of a second to start, so the properties run few cases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError, RecordError } from '../../lib/core/errors.js';
import { mapConcurrent } from '../../lib/core/mapConcurrent.js';
import type { PaddedBatch, SampledBatch } from '../../lib/core/model.js';
import { batchBuilder } from '../../lib/stages/batchBuilder.js';
import { workerBatches } from '../../lib/workers/workerBatches.js';
import { runnable, sampledBatchesOf, tokenizer } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { columns, example, localBatch, task } from '../helpers/handBuilt.js';

/** Everything a PaddedBatch holds that a consumer reads: texts, ids, tensors, scores, flags and position. */
const FIELDS = [
  'queries',
  'passages',
  'teacherScores',
  'noInBatchNeg',
  'queryIds',
  'passageIds',
  'padded',
  'epoch',
  'step',
  'globalStep',
  'resume',
  'rank',
  'worldSize',
  'indices',
  'records',
  'groupSize',
] as const satisfies ReadonlyArray<keyof PaddedBatch>;

const pick = (batch: PaddedBatch) => Object.fromEntries(FIELDS.map((k) => [k, batch[k]]));

/** The first field where two batch lists differ, or null (for readable failures). */
const firstDifference = (got: ReadonlyArray<PaddedBatch>, expected: ReadonlyArray<PaddedBatch>): string | null => {
  if (got.length !== expected.length) return `${got.length} batches instead of ${expected.length}`;
  for (const [i, batch] of got.entries()) {
    for (const k of FIELDS) if (!isDeepStrictEqual(batch[k], expected[i]![k])) return `batch ${i}: ${k} differs`;
    if (batch.task.name !== expected[i]!.task.name) return `batch ${i}: task differs`;
  }
  return null;
};

/** Entries of `process.getActiveResourcesInfo()` a worker holds: Node 20 reports a running Worker as a 'MessagePort'. */
const workerResources = (): number => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;

const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
};

/** A symmetric_clustering batch whose second record has no category, with ICL examples: augmentIcl must refuse it. */
const clusteringBatchWithoutCategory = (): SampledBatch => {
  const values = [
    example(0, { type: 'symmetric_clustering', prompt: 'Cluster it.', category: 'red' }, 2),
    example(1, { type: 'symmetric_clustering', prompt: 'Cluster it.' }, 2),
  ];
  const t = task({ name: 'clusters/part-1.jsonl', records: values, batchSize: 2, columns: columns({ type: true, prompt: true, category: true }) });
  return {
    ...localBatch(t),
    groupSize: 2,
    groups: values.map((v) => ({ positiveIndex: 0, positive: v.pos[0], negativeIndices: [0], teacherScores: null })) as never,
    icl: [
      { count: 1, exampleIds: [1] },
      { count: 1, exampleIds: [0] },
    ] as never,
  };
};

const OPTIONS = {
  tokenizer,
  queryInstructionFormat: '<instruct>{}\n<query>{}',
  iclSuffixStr: '\n<response>',
  queryMaxLen: 600,
  passageMaxLen: 64,
};

describe(`workerBatches (FC_SEED=${FC_SEED})`, () => {
  it('gives the batches mapConcurrent(1, batchBuilder(options)) gives, field by field, with 1 or 2 workers', async () => {
    await fc.assert(
      fc.asyncProperty(runnable, fc.constantFrom(1, 2), fc.integer({ min: 1, max: 3 }), async (r, workers, queuePerWorker) => {
        const sampled = await sampledBatchesOf(r);
        const expected = await toArray(from(sampled).pipe(mapConcurrent(1, batchBuilder(r.options))));
        const got = await toArray(from(sampled).pipe(workerBatches({ ...r.options, workers, queuePerWorker })));
        const difference = firstDifference(got, expected);
        assert.equal(difference, null, difference ?? '');
        return got.length === sampled.length;
      }),
      fcParams({ numRuns: 10 }),
    );
  });

  it('the worker batches carry the same keys as the in-process ones (nothing of the sampled batch leaks through)', async () => {
    const r = fc.sample(runnable, { seed: FC_SEED, numRuns: 1 })[0]!;
    const sampled = await sampledBatchesOf(r);
    const [expected] = await toArray(from(sampled).pipe(mapConcurrent(1, batchBuilder(r.options)), take(1)));
    const [got] = await toArray(from(sampled).pipe(workerBatches({ ...r.options, workers: 1 }), take(1)));
    assert.deepEqual(pick(got!), pick(expected!));
    assert.deepEqual(Object.keys(got!).sort(), Object.keys(expected!).sort());
  });

  it('a RecordError raised in a worker arrives as a RecordError with the same file, line, field and message as in process', async () => {
    const batch = clusteringBatchWithoutCategory();
    const inProcess = await toArray(from([batch]).pipe(mapConcurrent(1, batchBuilder(OPTIONS)))).then(
      () => assert.fail('expected a RecordError in process'),
      (e: unknown) => e,
    );
    assert.ok(inProcess instanceof RecordError);
    assert.deepEqual([inProcess.file, inProcess.line, inProcess.field], ['clusters/part-1.jsonl', 2, 'category']);
    const baseline = workerResources();
    await assert.rejects(
      toArray(from([batch]).pipe(workerBatches({ ...OPTIONS, workers: 2 }))),
      (e: unknown) => e instanceof RecordError && isDeepStrictEqual(e.issues, inProcess.issues) && e.message === inProcess.message,
    );
    await settle();
    assert.equal(workerResources(), baseline, 'the workers are gone after the error');
  });

  it('batches before the failing one are yielded, in order, before the error', async () => {
    const r = fc.sample(runnable, { seed: FC_SEED + 1, numRuns: 1 })[0]!;
    const sampled = await sampledBatchesOf(r);
    const expected = await toArray(from(sampled).pipe(mapConcurrent(1, batchBuilder(r.options))));
    const got: PaddedBatch[] = [];
    const bad = { ...clusteringBatchWithoutCategory(), task: { ...clusteringBatchWithoutCategory().task } };
    await assert.rejects(async () => {
      for await (const b of from([...sampled, bad]).pipe(workerBatches({ ...r.options, workers: 2, queuePerWorker: 2 }))) got.push(b);
    }, RecordError);
    assert.equal(firstDifference(got, expected), null);
  });

  it('early exit (take(1)) terminates the workers: active Worker resources return to the baseline', async () => {
    const r = fc.sample(runnable, { seed: FC_SEED + 2, numRuns: 1 })[0]!;
    const sampled = await sampledBatchesOf(r);
    const baseline = workerResources();
    let during = 0;
    const got: PaddedBatch[] = [];
    for await (const b of from(sampled).pipe(workerBatches({ ...r.options, workers: 2 }), take(1))) {
      during = workerResources();
      got.push(b);
    }
    assert.equal(got.length, 1);
    assert.equal(during, baseline + 2, 'two workers were running while the loop ran');
    await settle();
    assert.equal(workerResources(), baseline, 'no worker left after the loop');
  });

  it('a worker that cannot rebuild the tokenizer makes the stage fail (not hang), also when the first batch comes late', async () => {
    const r = fc.sample(runnable, { seed: FC_SEED + 3, numRuns: 1 })[0]!;
    const sampled = await sampledBatchesOf(r);
    const broken = { ...tokenizer, recipe: { kind: 'folder' as const, dir: '/nonexistent/tokenizer-folder', options: {} } };
    const baseline = workerResources();
    for (const delayMs of [0, 1_000]) {
      // The upstream's first batch arrives after `delayMs` (reading and indexing take time in a real run).
      const late = async function* () {
        await new Promise((r) => setTimeout(r, delayMs));
        yield* sampled;
      };
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((r) => {
        timer = setTimeout(() => r('hung'), 4_000);
      });
      const outcome = await Promise.race([toArray(from(late()).pipe(workerBatches({ ...r.options, tokenizer: broken, workers: 1 }))).then(() => 'no error', (e: unknown) => e), hung]);
      clearTimeout(timer);
      assert.ok(outcome instanceof Error, `first batch after ${delayMs} ms: expected an error, got ${String(outcome)}`);
      assert.match(outcome.message, /nonexistent\/tokenizer-folder/);
    }
    await settle();
    assert.equal(workerResources(), baseline);
  });

  it('workers start only when iteration starts (construction is lazy)', async () => {
    const baseline = workerResources();
    const stage = workerBatches({ ...OPTIONS, workers: 2 });
    const pipeline = from([] as SampledBatch[]).pipe(stage);
    await settle();
    assert.equal(workerResources(), baseline);
    assert.deepEqual(await toArray(pipeline), []);
    await settle();
    assert.equal(workerResources(), baseline);
  });

  it('a tokenizer without a recipe is a ConfigError("workers") at construction', () => {
    const { recipe: _recipe, ...withoutRecipe } = tokenizer;
    assert.throws(
      () => workerBatches({ ...OPTIONS, tokenizer: withoutRecipe, workers: 1 }),
      (e: unknown) => e instanceof ConfigError && e.option === 'workers' && /recipe/.test(e.message),
    );
  });

  it('workers: 0, negative, fractional or not a number is a ConfigError("workers") at construction', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => workerBatches({ ...OPTIONS, workers: bad }),
        (e: unknown) => e instanceof ConfigError && e.option === 'workers',
        String(bad),
      );
    }
  });
});

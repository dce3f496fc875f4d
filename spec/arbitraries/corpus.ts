/**
 * Random corpora and pipeline options for the properties: in-memory task files in FlagEmbedding's
 * format (every task type, scores, prompts, folders to merge), fed to the stages without touching disk.
 */
import fc from 'fast-check';
import type { Example, TaskFileOrigin } from '../../lib/core/model.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';

const WORDS = [
  'the', 'a', 'cat', 'sat', 'on', 'mat', 'query', 'answer', 'river', 'bank', 'money', 'café', 'Straße', 'naïve',
  '中文', '日本語', '😀', '∑', '𝔽', 'hello', 'world', 'retrieval', 'model', 'dense', 'vector', 'tokens', 'x',
];

/** Text of 1–`max` words (so sometimes over 100 code points). */
export const text = (max = 30): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: max }).map((ws) => ws.join(' '));

export const TYPES = ['normal', 'only_1neg', 'symmetric_sts', 'symmetric_class', 'symmetric_clustering'] as const;

export interface FileSpec {
  readonly type: (typeof TYPES)[number] | undefined;
  readonly records: ReadonlyArray<Example>;
}

const recordOf = (type: FileSpec['type'], scored: boolean, typed: boolean): fc.Arbitrary<Example> =>
  fc
    .record({
      query: text(),
      pos: fc.array(text(40), { minLength: 1, maxLength: 3 }),
      neg: fc.array(text(12), { minLength: type === 'only_1neg' ? 1 : 1, maxLength: type === 'only_1neg' ? 1 : 10 }),
      prompt: fc.constantFrom('Find it.', 'Retrieve semantically similar text.'),
      category: fc.constantFrom('physics', 'biology', 'art'),
    })
    .map(({ query, pos, neg, prompt, category }) => ({
      query,
      pos: pos as unknown as Example['pos'],
      neg,
      ...(typed ? { prompt, type } : {}),
      ...(type === 'symmetric_clustering' ? { category } : {}),
      ...(scored ? { posScores: pos.map((_, i) => 90 - i), negScores: neg.map((_, i) => 50 - i / 4) } : {}),
    }));

/** One task file's records of type `type` (or none): 1–`maxRecords` records, scores on retrieval types when `kd`. */
export const fileSpec = (type: FileSpec['type'], typed: boolean, kd: boolean, maxRecords = 24): fc.Arbitrary<FileSpec> =>
  fc
    .array(recordOf(type, kd && (type === 'normal' || type === 'only_1neg' || type === undefined), typed), {
      minLength: 1,
      maxLength: maxRecords,
    })
    .map((records) => ({ type, records }));

/**
 * A corpus: 1–5 files, spread over 1–3 `train_data` entries (a folder, possibly flagged
 * no_in_batch_neg, or files named directly), all typed with prompts, or all untyped. The files of
 * one folder share a type, so that merged small files form a valid task.
 */
export const corpus = (options: { readonly kd?: boolean; readonly maxFiles?: number; readonly maxRecords?: number } = {}) =>
  fc.boolean().chain((typed) =>
    fc
      .tuple(...[0, 1, 2].map(() => (typed ? fc.constantFrom(...TYPES) : fc.constant(undefined))))
      .chain((entryTypes) =>
        fc.array(
          fc
            .tuple(fc.nat({ max: 2 }), fc.boolean())
            .chain(([entry, flag]) =>
              fileSpec(entryTypes[entry], typed, options.kd ?? false, options.maxRecords).map((spec) => [spec, entry, flag] as const),
            ),
          { minLength: 1, maxLength: options.maxFiles ?? 5 },
        ),
      )
      .map((files) => ({ typed, files })),
  );

export type Corpus = fc.Arbitrary<ReturnType<typeof corpus>> extends fc.Arbitrary<infer C> ? C : never;

/** The corpus as the records `fromTaskFiles` would yield, in load order. */
export const sourced = (c: { readonly files: ReadonlyArray<readonly [FileSpec, number, boolean]> }): SourcedExample[] => {
  // Entry j is a folder `dir<j>` (flagged when its boolean says so); files with entry 2 are named directly.
  const ordered = c.files.map(([spec, entry, flag], i) => ({ spec, entry, flag, i })).sort((a, b) => a.entry - b.entry || a.i - b.i);
  const out: SourcedExample[] = [];
  for (const { spec, entry, flag, i } of ordered) {
    const folder = entry < 2;
    const name = folder ? `dir${entry}${flag ? '_no_in_batch_neg' : ''}` : `task${i}${flag ? '_no_in_batch_neg' : ''}.jsonl`;
    const origin: TaskFileOrigin = { entry: name, entryIndex: entry, inFolder: folder };
    const file = folder ? `${name}/task${i}.jsonl` : name;
    spec.records.forEach((value, record) => out.push({ file, line: record + 1, record, value, origin }));
  }
  return out;
};

/** Options of the composed pipeline (everything but data and tokenizer). */
export const pipelineOptions = fc.record({
  seed: fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
  perDeviceTrainBatchSize: fc.integer({ min: 2, max: 6 }),
  worldSize: fc.integer({ min: 1, max: 4 }),
  trainGroupSize: fc.integer({ min: 1, max: 8 }),
  shuffleRatio: fc.constantFrom(0, 0.4, 1),
  retrievalUseExamples: fc.boolean(),
  knowledgeDistillation: fc.boolean(),
  queryMaxLen: fc.constantFrom(24, 64, 600, 700),
  passageMaxLen: fc.integer({ min: 16, max: 64 }),
  exampleQueryMaxLen: fc.integer({ min: 2, max: 24 }),
  examplePassageMaxLen: fc.integer({ min: 2, max: 24 }),
  iclSuffixStr: fc.constantFrom('\nResponse:', '\n<response>'),
  queryInstructionFormat: fc.constantFrom('{}{}', '<instruct>{}\n<query>{}', 'Instruct: {}\nQuery: {}'),
  queryInstructionForRetrieval: fc.constant('Given a query, retrieve passages.'),
  padToMultipleOf: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
  smallThreshold: fc.constantFrom(0, 0, 4),
  dropThreshold: fc.constantFrom(0, 3),
  maxExampleNumPerDataset: fc.constantFrom(100_000_000, 100_000_000, 7),
});

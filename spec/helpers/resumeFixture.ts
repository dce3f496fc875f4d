/** A fixed corpus and options for the resume examples (two tasks: a retrieval file and a symmetric one). */
import type { FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';

export const fixtureTokenizerForResume = fixtureTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });

/** 13 `normal` records in a.jsonl and 10 `symmetric_sts` records in b.jsonl; `variant` 1 changes one query. */
export const fixedRecords = (variant = 0): SourcedExample[] => {
  const file = (name: string, n: number, extra: Record<string, unknown> = {}) =>
    Array.from({ length: n }, (_, i): SourcedExample => ({
      file: name,
      line: i + 1,
      record: i,
      origin: { entry: name, entryIndex: name === 'a.jsonl' ? 0 : 1, inFolder: false },
      value: {
        query: `query ${name} ${i}${variant !== 0 && i === 0 ? ' changed' : ''}`,
        pos: [`positive ${i} ${'long text '.repeat(i % 3 === 0 ? 12 : 1)}`],
        neg: Array.from({ length: 2 + (i % 5) }, (_, j) => `negative ${i}.${j}`),
        ...extra,
      },
    }));
  return [...file('a.jsonl', 13, { prompt: 'Find it.', type: 'normal' }), ...file('b.jsonl', 10, { prompt: 'Same meaning.', type: 'symmetric_sts' })];
};

/** World size 2, per-device batch 2 (symmetric tasks: 1), group 3, a seed above 2^64, chunk shuffles on. */
export const fixedOptions = (extra: Partial<FlagEmbeddingOptions> = {}): FlagEmbeddingOptions => ({
  trainData: [],
  tokenizer: fixtureTokenizerForResume,
  seed: '18446744073709551621', // 2^64 + 5
  perDeviceTrainBatchSize: 2,
  worldSize: 2,
  rank: 0,
  trainGroupSize: 3,
  shuffleRatio: 0.5,
  queryMaxLen: 64,
  passageMaxLen: 32,
  ...extra,
});

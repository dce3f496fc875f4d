/**
 * A custom pipeline: the library's stages, composed by hand, with a stage of your own in the pipe.
 * Here the custom stage keeps only English-only queries before sampling, and a second one measures
 * how much of each padded batch is padding.
 *
 *   node --import ./lib/cli/register.mjs examples/customStage.ts   (or npx tsx …)
 */
import { toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import {
  augmentIcl,
  epochShuffle,
  failOnIssues,
  formatPrompt,
  fromTaskFiles,
  groupByTask,
  loadDefaultTokenizer,
  operator,
  pad,
  readRecords,
  sampleGroup,
  shardByRank,
  tokenize,
  toTaskFiles,
  type Op,
  type PaddedBatch,
  type SourcedExample,
} from '../lib/index.js';

/** Your stage: drop records whose query is not plain ASCII (say, for an English-only run). */
const asciiQueriesOnly = (): Op<SourcedExample, SourcedExample> =>
  operator(async function* (records) {
    for await (const record of records) if (/^[\x20-\x7e]*$/.test(record.value.query)) yield record;
  });

/** Another: the share of padding in each batch's query and passage tensors. */
const paddingShare = (): Op<PaddedBatch, { step: number; task: string; queryPadding: number; passagePadding: number }> =>
  operator(async function* (batches) {
    const share = (mask: ReadonlyArray<ReadonlyArray<number>>) => {
      const cells = mask.length * (mask[0]?.length ?? 0);
      return cells === 0 ? 0 : 1 - mask.flat().reduce((a, b) => a + b, 0) / cells;
    };
    for await (const b of batches) {
      if (b.padded.kind !== 'whole') continue;
      yield { step: b.globalStep, task: b.task.name, queryPadding: share(b.padded.queries.attentionMask), passagePadding: share(b.padded.passages.attentionMask) };
    }
  });

const tokenizer = await loadDefaultTokenizer();
const options = {
  trainData: ['examples/data/retrieval', 'examples/data/sts'],
  tokenizer,
  seed: 7,
  perDeviceTrainBatchSize: 4,
  worldSize: 1,
  rank: 0,
  queryMaxLen: 512,
  passageMaxLen: 128,
  padToMultipleOf: 8,
  queryInstructionFormat: 'Instruct: {}\nQuery: {}',
  iclSuffixStr: '\nResponse:',
};

const stats = await toArray(
  fromTaskFiles(options.trainData)
    .pipe(failOnIssues(), asciiQueriesOnly(), toTaskFiles(), groupByTask(options), epochShuffle(options), shardByRank(options), readRecords())
    .pipe(sampleGroup(options), formatPrompt(options), augmentIcl(options), tokenize(options), pad({ ...options, padTokenId: tokenizer.padTokenId }))
    .pipe(paddingShare(), take(5)),
);
for (const s of stats) {
  console.log(`step ${s.step} ${s.task}: ${(100 * s.queryPadding).toFixed(0)}% of query cells and ${(100 * s.passagePadding).toFixed(0)}% of passage cells are padding`);
}

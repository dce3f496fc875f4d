/**
 * Quickstart (`npm start`): FlagEmbedding's bge-en-icl training batches on the project's sample
 * corpus, for both ranks of a 2-GPU run, with the shipped Mistral-7B tokenizer, offline.
 *
 *   npm start -- [steps]   (or: npx tsx examples/quickstart.ts [steps])
 */
import { zip } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { collectReport, flagEmbeddingBatches, loadDefaultTokenizer, type PaddedBatch, type PaddedTensor } from '../lib/index.js';

const steps = Number(process.argv[2] ?? 6);
const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
const report = collectReport();

// The bge-en-icl fine-tuning settings (FlagEmbedding's examples/finetune/embedder/decoder_only/icl.sh).
const settings = {
  trainData: [
    'examples/data/retrieval',
    'examples/data/sts',
    'examples/data/classification-no_in_batch_neg',
    'examples/data/clustering-no_in_batch_neg',
    'examples/data/small',
  ],
  tokenizer,
  seed: 42,
  perDeviceTrainBatchSize: 4,
  worldSize: 2,
  trainGroupSize: 8,
  queryMaxLen: 2048,
  passageMaxLen: 512,
  padToMultipleOf: 8,
  queryInstructionForRetrieval: 'Given a query, retrieve passages that are relevant to the query.',
  queryInstructionFormat: '<instruct>{}\n<query>{}',
  iclSuffixStr: '\n<response>',
  knowledgeDistillation: true,
  exampleQueryMaxLen: 256,
  examplePassageMaxLen: 256,
  retrievalUseExamples: true,
  smallThreshold: 10,
  report,
};

const shape = (t: PaddedTensor) => `${t.inputIds.length}×${t.inputIds[0]?.length ?? 0}`;
const firstQuery = async (batch: PaddedBatch): Promise<string> => {
  if (batch.padded.kind !== 'whole') return '';
  const row = batch.padded.queries.inputIds[0]!;
  const mask = batch.padded.queries.attentionMask[0]!;
  const [text] = await tokenizer.decodeBatch([row.filter((_, i) => mask[i] === 1)]);
  return text!;
};

// One pipeline per rank, as each GPU's process would run it; every rank computes the same plan.
const ranks = [0, 1].map((rank) => flagEmbeddingBatches({ ...settings, rank }));
for await (const perRank of zip(...ranks).pipe(take(steps))) {
  for (const batch of perRank) {
    if (batch.padded.kind !== 'whole') continue;
    const { queries, passages } = batch.padded;
    console.log(
      `epoch ${batch.epoch} step ${batch.step} rank ${batch.rank} | task ${batch.task.name} (${batch.task.type ?? 'untyped'})` +
        ` | ${batch.queries.length} queries, ${batch.passages.length} passages (group ${batch.groupSize})` +
        ` | q ${shape(queries)} p ${shape(passages)}` +
        ` | scores ${batch.teacherScores === null ? 'none' : batch.teacherScores.length} | in-batch negatives ${batch.noInBatchNeg ? 'off' : 'on'}`,
    );
  }
  const text = await firstQuery(perRank[0]!);
  console.log(`  first query of rank 0, decoded from its ids (${text.length} chars):\n  ${JSON.stringify(text.length > 400 ? `${text.slice(0, 200)} … ${text.slice(-150)}` : text)}`);
}

const counts = new Map<string, number>();
for (const event of report.events) counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1);
console.log(`\nreport (both ranks): ${[...counts].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'nothing skipped or dropped'}`);
for (const event of report.events.filter((e) => e.kind === 'taskDropped' || e.kind === 'fileSkipped')) console.log(' ', JSON.stringify(event));

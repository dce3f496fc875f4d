/**
 * The false-negative mask on the sample corpus: rank 0 of a 2-GPU run with cross-device negatives
 * (`falseNegativeScope: 'global'`), one line per step with the mask's shape and how many passages
 * it takes out, and the first of them explained.
 *
 *   node --import ./lib/cli/register.mjs examples/falseNegatives.ts [steps]
 */
import { take } from 'ix/asynciterable/operators';
import { flagEmbeddingBatches, loadDefaultTokenizer } from '../lib/index.js';

const steps = Number(process.argv[2] ?? 12);
const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });

const batches = flagEmbeddingBatches({
  trainData: ['examples/data/retrieval', 'examples/data/sts', 'examples/data/classification-no_in_batch_neg', 'examples/data/clustering-no_in_batch_neg'],
  tokenizer,
  seed: 42,
  perDeviceTrainBatchSize: 4,
  worldSize: 2,
  rank: 0,
  trainGroupSize: 4,
  queryMaxLen: 512,
  passageMaxLen: 256,
  queryInstructionFormat: '<instruct>{}\n<query>{}',
  iclSuffixStr: '\n<response>',
  falseNegativeScope: 'global',
});

const clip = (s: string, n = 60) => JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s);

for await (const batch of batches.pipe(take(steps))) {
  const mask = batch.falseNegativeMask!;
  const marked = mask.flatMap((row, i) => row.flatMap((m, j) => (m ? [[i, j] as const] : [])));
  const type = batch.task.type ?? 'untyped';
  console.log(`step ${batch.globalStep} | ${batch.task.name} (${type}) | mask ${mask.length}×${mask[0]!.length} | ${marked.length} masked`);
  // Columns run over both ranks' passages, rank 0's first: this rank's own are 0 … local − 1.
  const local = batch.passages.length;
  const shown = marked.find(([, j]) => j < local);
  if (shown !== undefined) {
    const [i, j] = shown;
    // Masked: one of the positives of the query's record, or a copy of a passage in its own group.
    console.log(`  e.g. query ${i} ${clip(batch.records[i]!.value.query)} × passage ${j} ${clip(batch.passages[j]!)}`);
  }
}

/**
 * The research flavor: research/llm_dense_retriever's data path on a sample Hugging Face dataset
 * (examples/research/jsonl-configs: five splits named in its README.md), rank 0 of 2.
 *
 *   node --import ./lib/cli/register.mjs examples/research.ts [steps]   (or: npx tsx examples/research.ts [steps])
 */
import { take } from 'ix/asynciterable/operators';
import { collectReport, flagEmbeddingBatches, loadDefaultTokenizer, toResearchDumpRecord } from '../lib/index.js';

const steps = Number(process.argv[2] ?? 6);
// run.py adds the three special tokens when use_special_tokens is on (the default).
const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
const report = collectReport();
const batches = flagEmbeddingBatches({
  flavor: 'research',
  trainData: 'examples/research/jsonl-configs',
  tokenizer, seed: 42, perDeviceTrainBatchSize: 6, worldSize: 2, rank: 0,
  symmetricBatchSize: 12, trainGroupSize: 4, symmetricTrainGroupSize: 3, maxClassNeg: 5,
  queryMaxLen: 1024, passageMaxLen: 128,
  report,
});
for await (const batch of batches.pipe(take(steps))) {
  const step = toResearchDumpRecord(batch); // the oracle's fields: epoch, example_indices, texts, messages, scores, ids, masks
  const messages = step.messages.length === 1 ? step.messages[0] : `${step.messages.length} × ${step.messages[0]}`;
  console.log(
    `epoch ${step.epoch} step ${batch.step} | ${batch.task.name} (${batch.task.type}) | ${step.queries_text.length} queries, ${step.passages_text.length} passages | messages: ${messages} | scores: ${step.teacher_scores?.length ?? 'none'}`,
  );
}
console.log(`tails dropped: ${report.events.filter((e) => e.kind === 'tailDropped').length}`);

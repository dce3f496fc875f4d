/**
 * One research-flavor step as the research oracle (../shared/oracle/run_research.py) prints it.
 *
 * @module
 */
import type { PaddedBatch, PaddedTensor } from '../core/model.js';

/**
 * A step's fields as the research oracle prints them: `epoch`, `example_indices` (global row indices
 * in the concatenation of the splits), `queries_text`, `passages_text`, `messages`,
 * `teacher_scores` (null when none), `q_ids`, `q_mask`, `p_ids`, `p_mask` (lists of tensors with
 * `sub_batch_size`), and `false_negative_mask` when the batch carries one.
 *
 * @example
 * for await (const batch of researchBatches(options)) console.log(JSON.stringify(toResearchDumpRecord(batch)));
 *
 * @category sinks
 */
export const toResearchDumpRecord = (batch: PaddedBatch) => {
  const { padded } = batch;
  const ids = (t: PaddedTensor) => t.inputIds;
  const mask = (t: PaddedTensor) => t.attentionMask;
  const tensors =
    padded.kind === 'whole'
      ? { q_ids: ids(padded.queries), q_mask: mask(padded.queries), p_ids: ids(padded.passages), p_mask: mask(padded.passages) }
      : { q_ids: padded.queries.map(ids), q_mask: padded.queries.map(mask), p_ids: padded.passages.map(ids), p_mask: padded.passages.map(mask) };
  const global = batch.task.globalIndices;
  return {
    epoch: batch.epoch,
    example_indices: batch.indices.map((i) => (global === undefined ? batch.task.offset + i : global[i]!)),
    queries_text: batch.queries,
    passages_text: batch.passages,
    messages: batch.messages ?? [],
    teacher_scores: batch.teacherScores,
    ...tensors,
    // Only when asked for (--false_negative_scope): without it the line is the research oracle's, field for field.
    ...(batch.falseNegativeMask === undefined ? {} : { false_negative_mask: batch.falseNegativeMask }),
  };
};

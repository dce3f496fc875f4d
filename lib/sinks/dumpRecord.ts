/**
 * One step as the reference oracles print it: the fields of `dump`'s JSON lines.
 *
 * @module
 */
import type { PaddedBatch, PaddedTensor } from '../core/model.js';

/** `q_ids`, `q_mask`, `p_ids`, `p_mask`: one matrix each, or a list of them with `sub_batch_size`. */
const tensorFields = ({ padded }: PaddedBatch) => {
  const ids = (t: PaddedTensor) => t.inputIds;
  const mask = (t: PaddedTensor) => t.attentionMask;
  return padded.kind === 'whole'
    ? { q_ids: ids(padded.queries), q_mask: mask(padded.queries), p_ids: ids(padded.passages), p_mask: mask(padded.passages) }
    : { q_ids: padded.queries.map(ids), q_mask: padded.queries.map(mask), p_ids: padded.passages.map(ids), p_mask: padded.passages.map(mask) };
};

/**
 * A step's `example_indices`: each record's global index in the reference's concatenation of the
 * tasks (`offset + position`, or the task's own list where a research-flavor `load_from_disk` gave
 * other indices). Shared by dump's JSON and the Arrow step table, so that the two agree.
 *
 * @category sinks
 */
export const exampleIndicesOf = (batch: PaddedBatch): number[] => {
  const { offset, globalIndices } = batch.task;
  return batch.indices.map((i) => (globalIndices === undefined ? offset + i : globalIndices[i]!));
};

/** Only when asked for (--false_negative_scope): without it a line is the oracle's, field for field. */
const maskField = (batch: PaddedBatch) => (batch.falseNegativeMask === undefined ? {} : { false_negative_mask: batch.falseNegativeMask });

/**
 * An icl-flavor step as the reference oracle (../shared/oracle/run_ref.py) prints it: `epoch`,
 * `example_indices` (global record indices in the reference's concatenation order),
 * `queries_text`, `passages_text`, `teacher_scores`, `no_in_batch_neg`, `q_ids`, `q_mask`, `p_ids`,
 * `p_mask` (lists of tensors with `sub_batch_size`); and `false_negative_mask` (one boolean row per
 * query) when the batch carries one.
 *
 * @example
 * for await (const batch of flagEmbeddingBatches(options)) console.log(JSON.stringify(toDumpRecord(batch)));
 *
 * @category sinks
 */
export const toDumpRecord = (batch: PaddedBatch) => ({
  epoch: batch.epoch,
  example_indices: exampleIndicesOf(batch),
  queries_text: batch.queries,
  passages_text: batch.passages,
  teacher_scores: batch.teacherScores,
  no_in_batch_neg: batch.noInBatchNeg,
  ...tensorFields(batch),
  ...maskField(batch),
});

/**
 * A research-flavor step as the research oracle (../shared/oracle/run_research.py) prints it:
 * `epoch`, `example_indices` (global row indices in the concatenation of the splits),
 * `queries_text`, `passages_text`, `messages`, `teacher_scores` (null when none), `q_ids`, `q_mask`,
 * `p_ids`, `p_mask` (lists of tensors with `sub_batch_size`), and `false_negative_mask` when the
 * batch carries one.
 *
 * @example
 * for await (const batch of researchBatches(options)) console.log(JSON.stringify(toResearchDumpRecord(batch)));
 *
 * @category sinks
 */
export const toResearchDumpRecord = (batch: PaddedBatch) => ({
  epoch: batch.epoch,
  example_indices: exampleIndicesOf(batch),
  queries_text: batch.queries,
  passages_text: batch.passages,
  messages: batch.messages ?? [],
  teacher_scores: batch.teacherScores,
  ...tensorFields(batch),
  ...maskField(batch),
});

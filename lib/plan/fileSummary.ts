/**
 * What the reference reads off a whole task file, gathered record by record (so an index can be
 * built in one streaming pass), with the checks that keep every batch of a task well-formed.
 *
 * @module
 */
import type { Issue } from '../core/errors.js';
import type { DatasetColumns, Example, FileSummary, Located } from '../core/model.js';

/** No optional field anywhere. */
export const NO_COLUMNS: DatasetColumns = {
  prompt: false,
  type: false,
  category: false,
  trainGroupSize: false,
  posScores: false,
  negScores: false,
};

/**
 * The union of two column sets (FlagEmbedding concatenates Arrow tables: a field present anywhere
 * is a column everywhere).
 *
 * @category plan
 */
export const unionColumns = (a: DatasetColumns, b: DatasetColumns): DatasetColumns => ({
  prompt: a.prompt || b.prompt,
  type: a.type || b.type,
  category: a.category || b.category,
  trainGroupSize: a.trainGroupSize || b.trainGroupSize,
  posScores: a.posScores || b.posScores,
  negScores: a.negScores || b.negScores,
});

const columnsOfExample = (e: Example): DatasetColumns => ({
  prompt: e.prompt !== undefined,
  type: e.type !== undefined,
  category: e.category !== undefined,
  trainGroupSize: e.trainGroupSize !== undefined,
  posScores: e.posScores !== undefined,
  negScores: e.negScores !== undefined,
});

const at = (record: Located<Example>, field: string, message: string): Issue => ({ file: record.file, line: record.line, field, message });

const clusteringIssue = (record: Located<Example>): Issue | undefined =>
  record.value.type === 'symmetric_clustering' && record.value.category === undefined
    ? at(record, 'category', 'is missing; symmetric_clustering records use their category as the in-context example answer')
    : undefined;

/** What the checks keep of a file's first record (not its texts: a first record of 50 MB would stay in memory). */
interface FirstRecord {
  readonly file: string;
  readonly line: number;
  readonly value: Pick<Example, 'type'> & { readonly posScores?: unknown };
}

const firstOf = (record: Located<Example>): FirstRecord => ({
  file: record.file,
  line: record.line,
  value: { type: record.value.type, ...(record.value.posScores === undefined ? {} : { posScores: true }) },
});

/** What makes `record` unfit to share a task with `first`. */
const issueAgainst = (first: FirstRecord, record: Located<Example>): Issue | undefined => {
  if (record.value.type !== first.value.type) {
    return at(
      record,
      'type',
      `is ${JSON.stringify(record.value.type ?? null)} but ${first.file}:${first.line} has ${JSON.stringify(first.value.type ?? null)}; ` +
        'every record of a file must have the same type (the reference asserts one type per batch)',
    );
  }
  const scored = first.value.posScores !== undefined;
  if ((record.value.posScores !== undefined) !== scored) {
    return at(
      record,
      'pos_scores',
      `${scored ? 'is missing' : 'is present'} but ${first.file}:${first.line} ${scored ? 'has' : 'has no'} teacher scores; ` +
        'with knowledge distillation every record of a file must have scores, or none (the reference fails on partial scores)',
    );
  }
  return clusteringIssue(record);
};

/**
 * An accumulator of a file's {@link FileSummary}: `add` each record in file order (it returns the
 * record's problem, if any, and then leaves the record out of the summary), then `summary()`.
 *
 * **Details**: the reference asserts one type per batch and fails on partial teacher scores, and
 * batches come from one task, so every record of a file must share the first record's `type` and
 * have teacher scores if and only if the first has; `symmetric_clustering` records need a
 * `category` (their examples answer with it). It also notes what later checks need without reading
 * the records again: the first record without a prompt, the first with no negatives, the largest
 * `train_group_size`.
 *
 * @example
 * const acc = fileSummary();
 * for (const r of records) { const issue = acc.add(r); if (issue) throw new RecordError([issue]); }
 * acc.summary();
 *
 * @category plan
 */
export const fileSummary = () => {
  let first: FirstRecord | undefined;
  let records = 0;
  let columns = NO_COLUMNS;
  let anyBatchSize = false;
  let firstWithoutPrompt: number | null = null;
  let firstWithoutNegatives: number | null = null;
  let maxTrainGroupSize = 0;
  return {
    add(record: Located<Example>): Issue | undefined {
      // A record with an issue is not counted: a caller that skips it must get the summary of the rest.
      const issue = first === undefined ? clusteringIssue(record) : issueAgainst(first, record);
      if (issue !== undefined) return issue;
      records += 1;
      columns = unionColumns(columns, columnsOfExample(record.value));
      anyBatchSize ||= record.value.batchSize !== undefined;
      if (record.value.prompt === undefined) firstWithoutPrompt ??= record.line;
      if (record.value.neg.length === 0) firstWithoutNegatives ??= record.line;
      maxTrainGroupSize = Math.max(maxTrainGroupSize, record.value.trainGroupSize ?? 0);
      first ??= firstOf(record);
      return undefined;
    },
    summary(): FileSummary {
      return {
        records,
        columns,
        type: first?.value.type,
        scored: first?.value.posScores !== undefined,
        anyBatchSize,
        firstWithoutPrompt,
        firstWithoutNegatives,
        maxTrainGroupSize,
      };
    },
  };
};

import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { ConfigError, RecordError } from '../core/errors.js';
import type { Example, Located, PromptedBatch, SampledBatch, Task } from '../core/model.js';
import { mapConcurrent, type Step } from '../core/mapConcurrent.js';
import type { Op } from '../core/operator.js';
import { compilePythonFormat } from '../core/pythonFormat.js';
import { PROMPT_MISSING_IN_COLUMN, PROMPT_MISSING_NO_DEFAULT } from '../plan/taskChecks.js';
import { researchFormatsPassages } from '../plan/researchRules.js';

/**
 * Options of {@link formatPrompt}, with the reference's argument names.
 *
 * @category stages
 */
export interface FormatPromptOptions {
  /** `query_instruction_for_retrieval`: the instruction for records without a `prompt`. Default: none. */
  readonly queryInstructionForRetrieval?: string | null;
  /** `query_instruction_format`: `format(instruction, query)`. Default: `'{}{}'`. */
  readonly queryInstructionFormat?: string;
  /** `passage_instruction_for_retrieval`: an instruction for passages. Default: none (passages unchanged). */
  readonly passageInstructionForRetrieval?: string | null;
  /** `passage_instruction_format`: `format(instruction, passage)`. Default: `'{}{}'`. */
  readonly passageInstructionFormat?: string;
  /**
   * How `type` is read: `'icl'`, the task's type is `symmetric_sts` or `symmetric_clustering`;
   * `'research'`, each record's own type contains `sts` or `clustering` (and passage instructions are
   * not used, as the research module does not use them). Default: `'icl'`.
   */
  readonly typeRules?: 'icl' | 'research';
}

/** Types whose passages are formatted like queries (and later closed with the ICL suffix). */
export const SYMMETRIC_PASSAGE_TYPES: ReadonlySet<string> = new Set(['symmetric_sts', 'symmetric_clustering']);

/** @internal */
export const validateFormatPromptOptions = (options: FormatPromptOptions) => {
  const query = compilePythonFormat('query_instruction_format', options.queryInstructionFormat ?? '{}{}');
  const passage = compilePythonFormat('passage_instruction_format', options.passageInstructionFormat ?? '{}{}');
  for (const f of [query, passage]) {
    if (f.arity > 2) throw new ConfigError(f === query ? 'query_instruction_format' : 'passage_instruction_format', `reads ${f.arity} fields; it gets two (instruction, text)`);
  }
  const research = options.typeRules === 'research';
  return {
    query,
    passage,
    queryInstruction: options.queryInstructionForRetrieval ?? null,
    passageInstruction: research ? null : (options.passageInstructionForRetrieval ?? null),
    research,
  };
};

/**
 * FlagEmbedding's `get_query_prompt`: the two instruction templates its LLM retrievers are trained with.
 *
 * @example
 * getQueryPrompt('what is a sonnet', 'Given a term, retrieve its definition.', true);
 * // '<instruct>Given a term, retrieve its definition.\n<query>what is a sonnet'
 * getQueryPrompt('what is a sonnet', 'Given a term, retrieve its definition.', false);
 * // 'Instruct: Given a term, retrieve its definition.\nQuery: what is a sonnet'
 *
 * @category constructors
 */
export const getQueryPrompt = (query: string, prompt: string, useSpecialTokens: boolean): string =>
  useSpecialTokens ? `<instruct>${prompt}\n<query>${query}` : `Instruct: ${prompt}\nQuery: ${query}`;

/**
 * The instruction a record's query is formatted with: its `prompt` when the corpus has a prompt
 * column, else `query_instruction_for_retrieval`.
 *
 * **Gotchas**: where the reference would format Python's `None` into the text (a record without a
 * prompt in a corpus where other files have one, or no prompt and no default instruction), this is
 * a {@link RecordError} naming the record.
 *
 * @category plan
 */
export const instructionOf = (task: Task, record: Located<Example>, defaultInstruction: string | null): string => {
  const instruction = task.columns.prompt ? record.value.prompt : defaultInstruction;
  if (instruction !== undefined && instruction !== null) return instruction;
  const why = task.columns.prompt ? PROMPT_MISSING_IN_COLUMN : PROMPT_MISSING_NO_DEFAULT;
  throw new RecordError([{ file: record.file, line: record.line, field: 'prompt', message: why }]);
};

/**
 * Applies instructions: each query becomes `query_instruction_format.format(instruction, query)`;
 * each record's passages (chosen positive first, then its negatives) are formatted the same way for
 * `symmetric_sts` / `symmetric_clustering`, else with `passage_instruction_format` when
 * `passage_instruction_for_retrieval` is set, else left as they are.
 *
 * @example
 * sampled.pipe(formatPrompt({ queryInstructionFormat: '<instruct>{}\n<query>{}' }));
 *
 * @category stages
 */
export const formatPrompt = (options: FormatPromptOptions): Op<SampledBatch, PromptedBatch> => {
  const step = formatPromptStep(options);
  return mapConcurrent(1, () => step);
};

/**
 * {@link formatPrompt} for one batch (for `mapConcurrent` and worker threads).
 *
 * @category stages
 */
export const formatPromptStep = (options: FormatPromptOptions): Step<SampledBatch, PromptedBatch> => {
  const { query, passage, queryInstruction, passageInstruction, research } = validateFormatPromptOptions(options);
  return (batch) => {
    const taskSymmetric = batch.task.columns.type && SYMMETRIC_PASSAGE_TYPES.has(batch.task.type ?? '');
    const queries: string[] = [];
    const passages: ReadonlyNonEmptyArray<string>[] = [];
    batch.records.forEach((record, i) => {
      const instruction = instructionOf(batch.task, record, queryInstruction);
      queries.push(query.render([instruction, record.value.query]));
      const group = batch.groups[i]!;
      const texts = [group.positive, ...group.negativeIndices.map((n) => record.value.neg[n]!)] as const;
      const symmetric = research ? researchFormatsPassages(record.value.type ?? '') : taskSymmetric;
      const formatted = symmetric
        ? texts.map((p) => query.render([instruction, p]))
        : passageInstruction !== null
          ? texts.map((p) => passage.render([passageInstruction, p]))
          : texts;
      passages.push(formatted as unknown as ReadonlyNonEmptyArray<string>);
    });
    return {
      ...batch,
      queries: queries as unknown as ReadonlyNonEmptyArray<string>,
      passages: passages as unknown as ReadonlyNonEmptyArray<ReadonlyNonEmptyArray<string>>,
    };
  };
};

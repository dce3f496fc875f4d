/**
 * A data report as plain text, for a terminal.
 *
 * @module
 */
import type { DataStats, TaskStats } from './dataStats.js';
import { decimal, groupText, header, percent, spread } from './_format.js';

/** The lines of one task. */
const taskLines = (t: TaskStats, stats: DataStats): string[] => [
  `${t.task} (${t.type ?? 'untyped'}): ${t.steps} steps, ${t.queries} queries, ${t.passages} passages (group ${groupText(t)}), batch ${t.batchSize} per device${t.noInBatchNeg ? ', no in-batch negatives' : ''}`,
  `  query tokens      ${spread(t.queryTokens)} alone; ${spread(t.queryWithExamplesTokens)} with examples; cut at ${stats.queryMaxLen}: ${percent(t.cut.queries)} (${percent(t.cut.queriesAlone)} even without examples)`,
  `  passage tokens    ${spread(t.passageTokens)}; cut at ${stats.passageMaxLen}: ${percent(t.cut.passages)}`,
  `  examples          ${decimal(t.examples.drawnPerQuery)} drawn, ${decimal(t.examples.keptPerQuery)} kept per query; dropped by the budget ${percent(t.examples.droppedShare)}, truncated ${percent(t.examples.truncatedShare)}; queries that kept none of theirs ${percent(t.examples.queriesWithNoneKept)}`,
  `  padding waste     queries ${percent(t.paddingWaste.queries)}, passages ${percent(t.paddingWaste.passages)}, all ${percent(t.paddingWaste.all)}`,
  `  records           ${t.records} seen; negatives holding a positive: ${t.recordsWithPositiveInNegatives.count}; duplicate queries: ${t.duplicateQueries.count}`,
  ...(t.batchSizeForBudget === null
    ? []
    : [
        `  batch_size        ${t.batchSizeForBudget.observed} fits ${t.batchSizeForBudget.tokenBudget} tokens per device with the widest rows seen (${t.batchSizeForBudget.queryWidth} + ${t.groupSize.max} × ${t.batchSizeForBudget.passageWidth}); ${t.batchSizeForBudget.guaranteed} with rows at the length limits`,
      ]),
];

/**
 * A data report as text: a header, then a block per task.
 *
 * @example
 * console.log(formatStats(await dataStats(options)));
 *
 * @category sinks
 */
export const formatStats = (stats: DataStats): string => [header(stats), '', ...stats.tasks.flatMap((t) => [...taskLines(t, stats), ''])].join('\n').trimEnd();


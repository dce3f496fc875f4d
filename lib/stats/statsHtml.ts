/**
 * A data report as one self-contained HTML page.
 *
 * @module
 */
import type { DataStats, Distribution, TaskStats } from './dataStats.js';
import { decimal, groupText, header, percent, spread } from './_format.js';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** One histogram panel: bars of shares, an axis with a few ticks, the budget as a line. */
const panel = (d: Distribution, x: number, width: number, height: number, label: string, colour: string, limit: number): string => {
  const top = 22;
  const bottom = height - 30;
  const left = x + 44;
  const right = x + width - 10;
  const title = `<text x="${x + width / 2}" y="14" text-anchor="middle" class="label">${escapeHtml(label)}</text>`;
  if (d.count === 0) return `${title}<text x="${x + width / 2}" y="${(top + bottom) / 2}" text-anchor="middle" class="tick">no data</text>`;
  const bins = d.histogram.counts;
  const peak = Math.max(...bins) / d.count;
  const span = Math.max(bins.length * d.histogram.binWidth, limit <= 2 * d.max ? limit + d.histogram.binWidth : 0);
  const sx = (v: number) => left + ((right - left) * v) / span;
  const sy = (share: number) => bottom - ((bottom - top) * share) / (peak || 1);
  const bars = bins
    .map((count, k) => {
      if (count === 0) return '';
      const x0 = sx(k * d.histogram.binWidth);
      const x1 = sx((k + 1) * d.histogram.binWidth);
      const from = k * d.histogram.binWidth;
      return `<rect class="bar" x="${x0.toFixed(1)}" y="${sy(count / d.count).toFixed(1)}" width="${Math.max(1, x1 - x0 - 1).toFixed(1)}" height="${(bottom - sy(count / d.count)).toFixed(1)}" fill="${colour}"><title>${from}–${from + d.histogram.binWidth - 1} tokens: ${count}</title></rect>`;
    })
    .join('');
  const ticks = [0, span / 2, span]
    .map((v) => `<text x="${sx(v).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" class="tick">${Math.round(v)}</text>`)
    .join('');
  const yTicks = [0, peak]
    .map((v) => `<text x="${left - 4}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${(100 * v).toFixed(0)}%</text>`)
    .join('');
  const budget =
    limit <= span
      ? `<line x1="${sx(limit).toFixed(1)}" x2="${sx(limit).toFixed(1)}" y1="${top}" y2="${bottom}" class="limit"/><text x="${(sx(limit) - 3).toFixed(1)}" y="${top + 10}" text-anchor="end" class="tick">limit ${limit}</text>`
      : '';
  const axis = `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" class="axis"/><text x="${(left + right) / 2}" y="${height - 2}" text-anchor="middle" class="tick">tokens</text>`;
  return `${title}${bars}${axis}${ticks}${yTicks}${budget}`;
};

/** A task's histogram: query token lengths (with examples) and passage token lengths, side by side. */
const histogram = (t: TaskStats, stats: DataStats, index: number): string => {
  const width = 360;
  const height = 190;
  const name = `Token lengths of ${t.task}`;
  return (
    `<svg class="histogram" role="img" aria-labelledby="h${index}" width="${2 * width}" height="${height}" viewBox="0 0 ${2 * width} ${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="h${index}">${escapeHtml(name)}</title>` +
    panel(t.queryWithExamplesTokens, 0, width, height, 'queries (with examples)', '#3b6ea5', stats.queryMaxLen) +
    panel(t.passageTokens, width, width, height, 'passages', '#c0703a', stats.passageMaxLen) +
    '</svg>'
  );
};

const row = (label: string, value: string) => `<tr><th scope="row">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`;

const taskSection = (t: TaskStats, stats: DataStats, index: number): string =>
  `<section class="task"><h2>${escapeHtml(t.task)} <small>${escapeHtml(t.type ?? 'untyped')}</small></h2>` +
  `<p>${t.steps} steps, ${t.queries} queries, ${t.passages} passages (group ${groupText(t)}), batch ${t.batchSize} per device${t.noInBatchNeg ? ', no in-batch negatives' : ''}</p>` +
  histogram(t, stats, index) +
  '<table>' +
  row('query tokens, alone', spread(t.queryTokens)) +
  row('query tokens, with examples', spread(t.queryWithExamplesTokens)) +
  row(`queries cut at ${stats.queryMaxLen}`, `${percent(t.cut.queries)} (${percent(t.cut.queriesAlone)} even without examples)`) +
  row('passage tokens', spread(t.passageTokens)) +
  row(`passages cut at ${stats.passageMaxLen}`, percent(t.cut.passages)) +
  row('in-context examples per query', `${decimal(t.examples.drawnPerQuery)} drawn, ${decimal(t.examples.keptPerQuery)} kept`) +
  row('examples dropped by the budget / truncated', `${percent(t.examples.droppedShare)} / ${percent(t.examples.truncatedShare)}`) +
  row('queries that kept none of their examples', percent(t.examples.queriesWithNoneKept)) +
  row('padding waste (queries, passages, all)', `${percent(t.paddingWaste.queries)}, ${percent(t.paddingWaste.passages)}, ${percent(t.paddingWaste.all)}`) +
  row('records whose negatives hold a positive', `${t.recordsWithPositiveInNegatives.count} of ${t.records}`) +
  row('duplicate queries', `${t.duplicateQueries.count} of ${t.records}`) +
  (t.batchSizeForBudget === null
    ? ''
    : row(
        `largest batch_size for ${t.batchSizeForBudget.tokenBudget} tokens per device`,
        `${t.batchSizeForBudget.observed} (widest rows seen: ${t.batchSizeForBudget.queryWidth} + ${t.groupSize.max} × ${t.batchSizeForBudget.passageWidth}); ${t.batchSizeForBudget.guaranteed} at the length limits`,
      )) +
  '</table></section>';

/**
 * A data report as one self-contained HTML page: a histogram per task (inline SVG) and its figures.
 * No scripts, no network, no external assets (the page forbids them itself, by its
 * Content-Security-Policy).
 *
 * @example
 * await writeFile('stats.html', statsHtml(await dataStats(options)));
 *
 * @category sinks
 */
export const statsHtml = (stats: DataStats, title = 'llm-retriever-data stats'): string =>
  [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>',
    'body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:900px}',
    'h1{font-size:20px}h2{font-size:16px;margin:28px 0 4px}h2 small{font-weight:normal;color:#666}',
    'table{border-collapse:collapse;margin-top:6px}th,td{text-align:left;padding:2px 12px 2px 0;vertical-align:top}th{font-weight:normal;color:#555}',
    '.label{font:600 12px system-ui,sans-serif;fill:#333}.tick{font:11px system-ui,sans-serif;fill:#555}',
    '.axis{stroke:#999}.limit{stroke:#b00;stroke-dasharray:4 3}.histogram{display:block;max-width:100%;height:auto}',
    '</style></head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="summary">${escapeHtml(header(stats))}</p>`,
    ...stats.tasks.map((t, i) => taskSection(t, stats, i)),
    '</body></html>',
    '',
  ].join('\n');

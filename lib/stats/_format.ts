/** Number and text formatting shared by the stats sinks. */
import type { DataStats, Distribution, TaskStats } from './dataStats.js';

export const percent = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(x > 0 && x < 0.001 ? 2 : 1)} %`);
export const decimal = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(2));
export const spread = (d: Distribution): string => (d.count === 0 ? 'none' : `p50 ${d.p50}, p95 ${d.p95}, max ${d.max}`);

export const header = (stats: DataStats): string =>
  `${stats.steps} steps (${stats.over === 'epoch' ? 'the first epoch' : `the first ${stats.over}`}, all ${stats.worldSize} rank${stats.worldSize === 1 ? '' : 's'}), ` +
  `query_max_len ${stats.queryMaxLen}, passage_max_len ${stats.passageMaxLen}`;

export const groupText = (t: TaskStats): string => (t.groupSize.min === t.groupSize.max ? String(t.groupSize.max) : `${t.groupSize.min}–${t.groupSize.max}`);


/**
 * What a command tells about its report events: a one-line summary on stderr, and `--report FILE`,
 * every event as one JSON object per line (JSON Lines), written as the events happen.
 *
 * @module
 */
import { createWriteStream } from 'node:fs';
import { ConfigError } from '../core/errors.js';
import type { ReportEvent, ReportSink } from '../core/report.js';

const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
const sum = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0);

const SKIP_REASONS: Readonly<Record<string, string>> = { 'not-json': 'not .json/.jsonl', 'not-a-file': 'not a regular file', empty: 'empty' };

/**
 * Everything skipped or dropped, counted, in one line: files skipped (by reason), files subsampled
 * (records left out), tasks dropped, incomplete last batches dropped, bad records skipped; then the
 * warnings: unknown types, cache entries rebuilt, waits for (and locks taken over from) other
 * processes. `fileIndexed` events are not drops and are not counted.
 *
 * @example
 * summarizeReport(report.events); // 'skipped or dropped: 1 file skipped (empty), 6 incomplete last batches (9 records)'
 */
export const summarizeReport = (events: ReadonlyArray<ReportEvent>): string => {
  const of = <K extends ReportEvent['kind']>(kind: K) => events.filter((e): e is Extract<ReportEvent, { kind: K }> => e.kind === kind);
  const parts: string[] = [];
  const skipped = of('fileSkipped');
  if (skipped.length > 0) {
    const reasons = [...new Set(skipped.map((e) => e.reason))].map((r) => `${skipped.filter((e) => e.reason === r).length} ${SKIP_REASONS[r] ?? r}`);
    parts.push(`${count(skipped.length, 'file')} skipped (${reasons.join(', ')})`);
  }
  const subsampled = of('fileSubsampled');
  if (subsampled.length > 0) parts.push(`${count(subsampled.length, 'file')} subsampled (${count(sum(subsampled.map((e) => e.records - e.kept)), 'record')} left out)`);
  const tasks = of('taskDropped');
  if (tasks.length > 0) parts.push(`${count(tasks.length, 'task')} dropped (${count(sum(tasks.map((e) => e.records)), 'record')})`);
  const tails = of('tailDropped');
  if (tails.length > 0) parts.push(`${count(tails.length, 'incomplete last batch', 'incomplete last batches')} (${count(sum(tails.map((e) => e.records)), 'record')})`);
  const bad = of('recordDropped');
  if (bad.length > 0) parts.push(`${count(bad.length, 'bad record')} skipped`);
  const dropped = parts.length === 0 ? 'nothing skipped or dropped' : `skipped or dropped: ${parts.join(', ')}`;
  const warnings = summarizeWarnings(events);
  return warnings === null ? dropped : `${dropped}; ${warnings}`;
};

const more = (n: number) => (n > 1 ? ` and ${n - 1} more` : '');

/**
 * What the run warns about, in one clause (null when nothing): files of a type the reference does
 * not know (trained as it trains them), cache entries rebuilt, waits for another process's index
 * build (and locks taken over).
 */
const summarizeWarnings = (events: ReadonlyArray<ReportEvent>): string | null => {
  const of = <K extends ReportEvent['kind']>(kind: K) => events.filter((e): e is Extract<ReportEvent, { kind: K }> => e.kind === kind);
  const parts: string[] = [];
  const types = of('unknownType');
  if (types.length > 0) {
    const [first] = types;
    parts.push(
      `${count(types.length, 'file')} of a type the reference does not know, trained as normal (${first!.file}:${first!.line} ${JSON.stringify(first!.type)}${more(types.length)}; known: ${first!.known.join(', ')})`,
    );
  }
  const rejected = of('cacheEntryRejected');
  if (rejected.length > 0) parts.push(`${count(rejected.length, 'cache entry', 'cache entries')} rebuilt (${rejected[0]!.file}: ${rejected[0]!.reason}${more(rejected.length)})`);
  const waits = of('lockWaited');
  if (waits.length > 0) {
    const takenOver = waits.filter((w) => w.outcome === 'taken-over').length;
    parts.push(
      `${count(waits.length, 'wait')} for another process's index build (${sum(waits.map((w) => w.seconds)).toFixed(1)} s${takenOver > 0 ? `; ${count(takenOver, 'lock')} taken over from a process gone or silent` : ''})`,
    );
  }
  return parts.length === 0 ? null : `warnings: ${parts.join(', ')}`;
};

/**
 * The report file could not be written to the end (a full disk, a file system gone): exit code 1,
 * like other file failures.
 *
 * @category errors
 */
export class ReportFileError extends Error {
  readonly _tag = 'ReportFileError' as const;
  constructor(path: string, cause: Error) {
    super(`cannot write the report ${path}: ${cause.message}`);
    this.name = 'ReportFileError';
  }
}

/** `--report FILE`: a sink that appends each event to the file as one JSON line. */
export interface ReportFile {
  readonly sink: ReportSink;
  /** Finishes the file; rejects if any write failed. */
  readonly close: () => Promise<void>;
}

/**
 * Opens (creates or truncates) `path` for the report, before the run starts, so that a file that
 * cannot be written is an error before any work. Events are written as they happen, so that the
 * file holds what happened before a failure too.
 */
export const openReportFile = async (path: string): Promise<ReportFile> => {
  const stream = createWriteStream(path, { flags: 'w' });
  let failure: Error | null = null;
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(new ConfigError('report', `cannot write ${path}: ${e.message}`)));
  });
  stream.on('error', (e) => void (failure ??= e));
  return {
    // Not waiting for the stream: events are few (per file, task, epoch, bad record) and the report keeps them anyway.
    sink: { add: (event) => void (failure === null && stream.write(`${JSON.stringify(event)}\n`)) },
    close: () =>
      new Promise<void>((resolve, reject) => {
        const fail = () => reject(new ReportFileError(path, failure!));
        if (failure !== null) {
          stream.destroy();
          return fail();
        }
        stream.end(() => (failure === null ? resolve() : fail()));
      }),
  };
};

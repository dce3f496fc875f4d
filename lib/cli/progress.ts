/**
 * Progress on stderr: one line redrawn in place on a terminal, or (when forced with `--progress`
 * onto a file or pipe) a plain line at most once per interval and one when the work ends.
 *
 * Hand-written (about 80 lines) rather than a package: what it draws is one line for one task at a
 * time, fed by {@link ProgressSink} calls, and it must write only through the stream it is given
 * (stderr), never touch stdout or process-wide hooks, and work on a plain stream in tests. The
 * well-kept packages (cli-progress, ora) bring multi-bar layouts, spinners and terminal handling this
 * does not need, and take over process or cursor state.
 *
 * @module
 */
import type { ProgressSink, ProgressTask, ProgressUnit } from '../core/progress.js';
import type { Output } from './output.js';

/** How progress is drawn: redrawn in place (a terminal), or as separate lines (a log). */
export type ProgressStyle = 'line' | 'lines';

/** Options of {@link stderrProgress}. */
export interface StderrProgressOptions {
  readonly style: ProgressStyle;
  /** Milliseconds between redraws while the numbers change, and of the elapsed-time tick. Default: 200 (line), 1000 (lines). */
  readonly interval?: number;
  /** The clock, in milliseconds (tests pass their own). Default: `performance.now`. */
  readonly now?: () => number;
}

const formatAmount = (n: number, unit: ProgressUnit | undefined): string =>
  unit === 'bytes' ? `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB` : `${n.toLocaleString('en-US')}${unit === undefined ? '' : ` ${unit}`}`;

const formatSeconds = (ms: number): string => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);

/**
 * A {@link ProgressSink} that draws on `err` (stderr). A task is drawn at its first update (or
 * after one interval without any), then at most once per interval. One task is shown at a time:
 * starting another ends the one before.
 */
export const stderrProgress = (err: Output, options: StderrProgressOptions): ProgressSink => {
  const now = options.now ?? (() => performance.now());
  const interval = options.interval ?? (options.style === 'line' ? 200 : 1000);
  let current: ProgressTask | null = null;
  return {
    start: (label, { total, unit } = {}) => {
      current?.end();
      const started = now();
      let done = 0;
      let note: string | undefined;
      let lastDrawn = -Infinity;
      let ended = false;
      const text = (final: boolean): string => {
        const elapsed = now() - started;
        const amount =
          total !== undefined && total > 0
            ? `${Math.floor((100 * Math.min(done, total)) / total)}% (${formatAmount(done, unit)} of ${formatAmount(total, unit)})`
            : unit === undefined
              ? null // a wait: nothing to count, only the time
              : formatAmount(done, unit);
        // How long the rest will take at the pace so far (once there is a pace to go by).
        const left =
          !final && total !== undefined && total > 0 && done > 0 && done < total && elapsed >= 1000 ? `, about ${formatSeconds(((total - done) * elapsed) / done)} left` : '';
        const parts = [...(final ? ['done'] : []), ...(amount === null ? [] : [amount]), ...(note === undefined ? [] : [note])];
        return `${label}: ${parts.length === 0 ? '' : `${parts.join(', ')}, `}${formatSeconds(elapsed)}${left}`;
      };
      const draw = (final = false) => {
        lastDrawn = now();
        if (options.style === 'lines') err.post(`${text(final)}\n`);
        else {
          // Cut to the terminal's width: a wrapped line cannot be redrawn in place.
          const width = (err.columns ?? 80) - 1;
          const line = text(final);
          err.post(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\x1b[K`);
        }
      };
      // The elapsed time keeps moving while one big file is read; unref: never keeps the process alive.
      const tick = setInterval(() => draw(), interval);
      tick.unref();
      const task: ProgressTask = {
        update: (n, what) => {
          if (ended) return;
          done = n;
          note = what;
          if (now() - lastDrawn >= interval) draw();
        },
        end: () => {
          if (ended) return;
          ended = true;
          clearInterval(tick);
          if (options.style === 'lines') draw(true);
          else err.post('\r\x1b[K'); // leave the terminal line clean for what follows
          if (current === task) current = null;
        },
      };
      current = task;
      return task;
    },
  };
};

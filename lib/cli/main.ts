/**
 * The `llm-retriever-data` command: parse, read the config file, run the command, say what was
 * skipped or dropped, and turn every failure a user can cause into an exit code and a message.
 *
 * @module
 */
import type { Writable } from 'node:stream';
import { ConfigError, FileError, RecordError, TokenizerError } from '../core/errors.js';
import { collectReport, teeReport, type ReportSink } from '../core/report.js';
import { ResumeError } from '../core/resume.js';
import type { Environment } from './commands.js';
import { readConfigFile } from './config.js';
import { isClosedPipe, output } from './output.js';
import { parseCommandLine, UsageError } from './program.js';
import type { HeapGrowth } from './heapGrowth.js';
import { stderrProgress } from './progress.js';
import { openReportFile, ReportFileError, summarizeReport, type ReportFile } from './report.js';

const NAME = 'llm-retriever-data';

/** A Node system error (`ENOENT`, `EACCES`, `ENOSPC`…, with the call that failed): its message names the path. */
const isSystemError = (e: unknown): e is Error & { code: string; syscall: string } =>
  e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { syscall?: unknown }).syscall === 'string';

/** The exit code and the message of a failure a user can cause, or null for a bug (rethrown, with its stack). */
const describeFailure = (e: unknown): { code: 1 | 2; message: string } | null => {
  if (e instanceof UsageError || e instanceof ConfigError || e instanceof TokenizerError) return { code: 2, message: `error: ${e.message.replaceAll('\n', ' ')}` };
  if (e instanceof RecordError) return { code: 1, message: `bad data:\n${e.message}` };
  if (e instanceof ResumeError) return { code: 1, message: `cannot resume: ${e.message}` };
  if (e instanceof ReportFileError) return { code: 1, message: e.message };
  if (e instanceof FileError) return { code: 1, message: `file error: ${e.message}` };
  if (isSystemError(e)) return { code: 1, message: `file error: ${e.message}` };
  return null;
};

/**
 * Runs the command; resolves to the exit code: 0 ok (also when stdout's reader goes away early, as
 * with `| head`), 1 bad data, files or resume state, 2 bad arguments. Messages go to stderr, one
 * line for argument errors; at the end of a run, one line says what was skipped or dropped.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
 *
 * @category sinks
 */
export const main = async (
  argv: ReadonlyArray<string>,
  io: { readonly stdout: Writable; readonly stderr: Writable; readonly env?: Environment; readonly heapGrowth?: (growth: HeapGrowth) => void } = process,
): Promise<number> => {
  const stdout = output(io.stdout);
  const stderr = output(io.stderr);
  // Diagnostics are best effort: when stderr itself is gone there is nowhere left to say anything.
  const say = (text: string) => stderr.write(`${NAME}: ${text}\n`).catch(() => undefined);
  let reportFile: ReportFile | null = null;
  try {
    const line = parseCommandLine(argv, { helpWidth: stdout.columns ?? 100 });
    if (line.kind === 'print') {
      await stdout.write(line.text);
      await stdout.flush();
      return 0;
    }
    const fromFile = line.args.config === undefined ? {} : await readConfigFile(line.args.config, line.command);
    const args = { ...fromFile, ...line.args };
    const collected = collectReport();
    reportFile = args.report === undefined ? null : await openReportFile(args.report);
    const sinks: ReportSink[] = [collected, ...(reportFile === null ? [] : [reportFile.sink])];
    const showProgress = args.progress ?? stderr.isTTY;
    const progress = showProgress ? stderrProgress(stderr, { style: stderr.isTTY ? 'line' : 'lines' }) : null;
    // Loaded only to run a command: --help and --version do not wait for the pipeline and the tokenizers to load.
    const { RUNNERS } = await import('./commands.js');
    const done = await RUNNERS[line.command]({
      args,
      env: io.env ?? {},
      stdout,
      heapGrowth: io.heapGrowth ?? (() => undefined),
      report: teeReport(...sinks),
      progress,
      // Waits and far resumes say what takes the time even without --progress: a line every 10 s.
      notices: progress ?? stderrProgress(stderr, { style: 'lines', interval: 10_000 }),
    });
    await stdout.flush();
    const file = reportFile;
    reportFile = null;
    await file?.close();
    const summary = summarizeReport(collected.events);
    const where = collected.events.some((e) => e.kind !== 'fileIndexed')
      ? args.report === undefined
        ? ' (--report FILE lists each)'
        : ` (each in ${args.report})`
      : '';
    await say(`${line.command}: ${done}; ${summary}${where}`);
    return 0;
  } catch (e) {
    // The reader of stdout went away (`dump … | head -1`): the work stopped where it was, quietly.
    if (isClosedPipe(e)) return 0;
    const failure = describeFailure(e);
    if (failure === null) throw e;
    await say(failure.message);
    return failure.code;
  } finally {
    // After a failure the report keeps what happened up to it; an error closing it then changes nothing.
    await reportFile?.close().catch(() => undefined);
    stdout.release();
    stderr.release();
  }
};

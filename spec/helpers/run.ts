/** Running the CLI in-process and collecting what it prints. */
import { Writable } from 'node:stream';
import { main } from '../../lib/cli/main.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const sink = (chunks: Buffer[]) =>
  new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });

/**
 * `llm-retriever-data <argv>`, in this process, its stdout kept as bytes (`--format arrow`). `env` is
 * what the command sees as its environment (torchrun's `RANK` / `WORLD_SIZE`); without it, an empty
 * one (never this process's).
 */
export const runCliBytes = async (argv: ReadonlyArray<string>, env?: Readonly<Record<string, string | undefined>>): Promise<{ code: number; stdout: Buffer; stderr: string }> => {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const code = await main(argv, { stdout: sink(out), stderr: sink(err), ...(env === undefined ? {} : { env }) });
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
};

/** {@link runCliBytes} with stdout as text. */
export const runCli = async (argv: ReadonlyArray<string>, env?: Readonly<Record<string, string | undefined>>): Promise<CliRun> => {
  const run = await runCliBytes(argv, env);
  return { ...run, stdout: run.stdout.toString() };
};

/** The JSON lines of a `dump` run, parsed. */
export const dumpLines = (stdout: string): unknown[] =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

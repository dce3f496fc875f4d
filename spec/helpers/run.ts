/** Running the CLI in-process and collecting what it prints. */
import { Writable } from 'node:stream';
import { main } from '../../lib/cli/main.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const sink = (chunks: string[]) =>
  new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });

/**
 * `llm-retriever-data <argv>`, in this process. `env` is what the command sees as its environment
 * (torchrun's `RANK` / `WORLD_SIZE`); without it, an empty one (never this process's).
 */
export const runCli = async (argv: ReadonlyArray<string>, env?: Readonly<Record<string, string | undefined>>): Promise<CliRun> => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: sink(out), stderr: sink(err), ...(env === undefined ? {} : { env }) });
  return { code, stdout: out.join(''), stderr: err.join('') };
};

/** The JSON lines of a `dump` run, parsed. */
export const dumpLines = (stdout: string): unknown[] =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

/** `llm-retriever-data <argv>` in this process, its stdout kept as bytes (`--format arrow`). */
export const runCliBytes = async (argv: ReadonlyArray<string>): Promise<{ code: number; stdout: Buffer; stderr: string }> => {
  const out: Buffer[] = [];
  const err: string[] = [];
  const bytes = (push: (b: Buffer) => void) => new Writable({ write: (chunk: Buffer, _e, done) => (push(Buffer.from(chunk)), done()) });
  const code = await main(argv, { stdout: bytes((b) => out.push(b)), stderr: bytes((b) => err.push(b.toString())) });
  return { code, stdout: Buffer.concat(out), stderr: err.join('') };
};

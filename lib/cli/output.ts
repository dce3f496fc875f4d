/**
 * Writing to stdout and stderr: waiting while a slow reader catches up, and telling a reader that
 * went away (`| head`) from a real failure.
 *
 * @module
 */
import type { Writable } from 'node:stream';

/** A stream the command writes to, with backpressure and its error kept. */
export interface Output {
  /** Writes `text` (or bytes); resolves when the stream can take more; rejects with the stream's error (then and for every later write). */
  readonly write: (text: string | Uint8Array) => Promise<void>;
  /** Writes without waiting (small diagnostics such as progress): a failure shows in the next `write` or `flush`. */
  readonly post: (text: string) => void;
  /** Resolves when everything written so far has been handed on; rejects with the stream's error. */
  readonly flush: () => Promise<void>;
  /** Detaches from the stream (its one error listener). */
  readonly release: () => void;
  /** The terminal's width when the stream is one. */
  readonly columns: number | undefined;
  readonly isTTY: boolean;
}

/**
 * Wraps a stream for writing. It holds exactly one `'error'` listener for its whole life and at
 * most one `'drain'` waiter, however many writes block: adding an error listener per blocked write
 * (and keeping it) is what made Node warn `MaxListenersExceededWarning` on a slow pipe. The error
 * listener also catches failures that surface between writes (an asynchronous EPIPE), which would
 * otherwise crash the process with a stack trace.
 */
export const output = (stream: Writable & { readonly columns?: number; readonly isTTY?: boolean }): Output => {
  let failure: Error | null = null;
  let waiting: { resolve: () => void; reject: (e: Error) => void } | null = null;
  const onDrain = () => {
    const w = waiting;
    waiting = null;
    w?.resolve();
  };
  const onError = (e: Error) => {
    failure ??= e;
    stream.off('drain', onDrain);
    const w = waiting;
    waiting = null;
    w?.reject(e);
  };
  stream.on('error', onError);
  const write = (text: string | Uint8Array): Promise<void> => {
    if (failure !== null) return Promise.reject(failure);
    if (stream.destroyed) return Promise.reject((failure = Object.assign(new Error('write after the stream was closed'), { code: 'ERR_STREAM_DESTROYED' })));
    if (stream.write(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      waiting = { resolve, reject };
      stream.once('drain', onDrain);
    });
  };
  return {
    write,
    post: (text) => {
      if (failure === null && !stream.destroyed) stream.write(text);
    },
    flush: () =>
      failure !== null
        ? Promise.reject(failure)
        : stream.destroyed
          ? Promise.resolve()
          : new Promise((resolve, reject) => stream.write('', (e) => (e ? reject(failure ?? e) : resolve()))),
    release: () => {
      stream.off('error', onError);
      stream.off('drain', onDrain);
    },
    columns: stream.columns,
    isTTY: stream.isTTY === true,
  };
};

/** Whether an error means the reader closed the pipe (`dump … | head`): not a failure of the command. */
export const isClosedPipe = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
};

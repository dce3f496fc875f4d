/**
 * Files that appear whole or not at all: written under a temporary name in the same folder,
 * flushed to disk, then renamed over the target (a rename within one file system is atomic).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary name next to `path`, unique to this process and call. */
export const temporaryPathFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);

/**
 * Writes `data` to `path` atomically: readers see the old file or the new one, never a part.
 *
 * @example
 * await atomicWriteFile('out/state.json', JSON.stringify(state));
 *
 * @category sinks
 */
export const atomicWriteFile = async (path: string, data: string | Uint8Array): Promise<void> => {
  const file = await openAtomic(path);
  try {
    await file.handle.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  } catch (e) {
    await file.abort();
    throw e;
  }
  await file.commit();
};

/**
 * A file being written atomically: write through `handle`, then `commit()` (flush, close, rename
 * into place) or `abort()` (close and remove the temporary file).
 *
 * @category sinks
 */
export interface AtomicFile {
  readonly path: string;
  readonly handle: FileHandle;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Opens `path` for an atomic write (see {@link AtomicFile}).
 *
 * @example
 * const file = await openAtomic('out/data-00000-of-00001.arrow');
 * try { await file.handle.write(bytes); await file.commit(); } catch (e) { await file.abort(); throw e; }
 *
 * @category sinks
 */
export const openAtomic = async (path: string): Promise<AtomicFile> => {
  const temporary = temporaryPathFor(path);
  const handle = await open(temporary, 'wx');
  let done = false;
  return {
    path,
    handle,
    async commit() {
      if (done) return;
      done = true;
      try {
        await handle.sync();
        await handle.close();
        await rename(temporary, path);
      } catch (e) {
        await rm(temporary, { force: true });
        throw e;
      }
    },
    async abort() {
      if (done) return;
      done = true;
      await handle.close().catch(() => undefined);
      await rm(temporary, { force: true });
    },
  };
};

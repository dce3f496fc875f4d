/**
 * Files that appear whole or not at all, written so that nobody else can slip a file or a link in
 * their way: each is written under a temporary name that is random (never guessable from the pid
 * or the time) and created exclusively (`O_CREAT | O_EXCL`, which also refuses to follow a symbolic
 * link planted at that name; `O_NOFOLLOW` says so twice), flushed to disk, given its final
 * permissions, then renamed over the target (a rename within one file system is atomic, and it
 * replaces a link at the target rather than writing through it).
 *
 * Used by every writer of the package: task-file indexes and their decompressed copies, resume
 * states, Arrow shards and dataset folders.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `O_NOFOLLOW` where the platform has it (not on Windows). */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Create a new file, write only, fail if anything (a file, a link) is at the path already. */
export const EXCLUSIVE_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

/**
 * Open for reading, refusing a symbolic link at the last component (cache entries are never links),
 * and without waiting on a FIFO planted in a file's place (`O_NONBLOCK`: no effect on files).
 */
export const READ_NO_FOLLOW = constants.O_RDONLY | NOFOLLOW | constants.O_NONBLOCK;

/**
 * A temporary name next to `path`: hidden, 128 random bits, so that another process (or user) can
 * neither predict it nor collide with it.
 */
export const temporaryPathFor = (path: string): string => join(dirname(path), `.${basename(path)}.${randomBytes(16).toString('hex')}.tmp`);

/**
 * Creates `path` exclusively (see {@link EXCLUSIVE_CREATE}) with permissions `mode` (default
 * `0o600`: the owner only), and opens it for writing.
 *
 * @throws the system error `EEXIST` when anything is at `path` already.
 */
export const createExclusive = (path: string, mode = 0o600): Promise<FileHandle> => open(path, EXCLUSIVE_CREATE, mode);

/**
 * Options of {@link openAtomic} and {@link atomicWriteFile}.
 *
 * @category sinks
 */
export interface AtomicFileOptions {
  /**
   * The finished file's permission bits. The temporary file is `0o600` while it is written, then
   * set to this before the rename. Default: `0o666` less the process's umask (what a plain
   * `writeFile` gives).
   */
  readonly mode?: number;
}

/** What `writeFile` would give a new file: 0o666 less the umask. */
const defaultMode = (): number => 0o666 & ~process.umask();

/**
 * A file being written atomically: write through `handle`, then `commit()` (flush, set the mode,
 * close, rename into place) or `abort()` (close and remove the temporary file).
 *
 * @category sinks
 */
export interface AtomicFile {
  readonly path: string;
  /** The temporary file being written. */
  readonly temporaryPath: string;
  readonly handle: FileHandle;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Opens `path` for an atomic write (see {@link AtomicFile}).
 *
 * **Gotchas**: a process killed between creating the temporary file and renaming it leaves the
 * temporary file (`.name.<random>.tmp`) behind; it is never read, only the target is.
 *
 * @example
 * const file = await openAtomic('out/data-00000-of-00001.arrow');
 * try { await file.handle.write(bytes); await file.commit(); } catch (e) { await file.abort(); throw e; }
 *
 * @category sinks
 */
export const openAtomic = async (path: string, options: AtomicFileOptions = {}): Promise<AtomicFile> => {
  const temporaryPath = temporaryPathFor(path);
  const handle = await createExclusive(temporaryPath);
  const mode = options.mode ?? defaultMode();
  let done = false;
  return {
    path,
    temporaryPath,
    handle,
    async commit() {
      if (done) return;
      done = true;
      try {
        await handle.sync();
        if (mode !== 0o600) await handle.chmod(mode);
        await handle.close();
        await rename(temporaryPath, path);
      } catch (e) {
        await handle.close().catch(() => undefined);
        await rm(temporaryPath, { force: true });
        throw e;
      }
    },
    async abort() {
      if (done) return;
      done = true;
      await handle.close().catch(() => undefined);
      await rm(temporaryPath, { force: true });
    },
  };
};

/**
 * Writes `data` to `path` atomically: readers see the old file or the new one, never a part.
 *
 * @example
 * await atomicWriteFile('out/state.json', JSON.stringify(state));
 *
 * @category sinks
 */
export const atomicWriteFile = async (path: string, data: string | Uint8Array, options: AtomicFileOptions = {}): Promise<void> => {
  const file = await openAtomic(path, options);
  try {
    await file.handle.writeFile(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  } catch (e) {
    await file.abort();
    throw e;
  }
  await file.commit();
};

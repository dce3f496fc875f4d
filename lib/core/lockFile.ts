/**
 * A lock file that never makes anyone wait in silence: its holder says who it is and touches it
 * while it works (a heartbeat); a waiter says what it waits for, and takes over a lock whose holder
 * is gone (a dead process on this machine) or silent (no heartbeat for a while: a process that
 * died on another machine sharing the folder, or one that hangs).
 *
 * @module
 */
import { hostname } from 'node:os';
import { lstat, open, rm, type FileHandle } from 'node:fs/promises';
import { createExclusive, READ_NO_FOLLOW } from './atomicFile.js';
import type { ProgressSink, ProgressTask } from './progress.js';

/**
 * Who holds a lock, as written in the lock file.
 *
 * @category models
 */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** When the holder took the lock (ISO 8601). */
  readonly since: string;
  /** What the holder does under the lock. */
  readonly what: string;
}

/**
 * How a wait for a lock ended: the holder released it, or it was taken over because its holder
 * was gone (`reason` says how that was known).
 *
 * @category models
 */
export interface LockWait {
  readonly lock: string;
  readonly holder: LockHolder | null;
  readonly waitedMs: number;
  readonly outcome: 'released' | 'taken-over';
  readonly reason?: string;
}

/**
 * Options of {@link withLock}.
 *
 * @category models
 */
export interface LockOptions {
  /** What the lock protects, for people: "indexing data/faq.jsonl". */
  readonly what: string;
  /** Where a wait longer than `quietMs` shows what it waits for. Default: nowhere (see `onWait`). */
  readonly progress?: ProgressSink;
  /** Told once a wait is over (released or taken over). */
  readonly onWait?: (wait: LockWait) => void;
  /** How often the holder touches the lock file. Default: 1000 ms. */
  readonly heartbeatMs?: number;
  /**
   * A lock whose file has not been touched for this long is taken over: its holder stopped
   * (died on another machine, or hangs). Default: 15,000 ms (15 heartbeats).
   */
  readonly staleMs?: number;
  /** Waits shorter than this are not shown. Default: 1000 ms. */
  readonly quietMs?: number;
}

/** A holder writes its name right after creating the lock: a lock still empty after this was abandoned. */
const EMPTY_GRACE_MS = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const readHolder = async (lockFile: string): Promise<LockHolder | null> => {
  let handle: FileHandle | null = null;
  try {
    handle = await open(lockFile, READ_NO_FOLLOW);
    const holder = JSON.parse(await handle.readFile('utf8')) as Partial<LockHolder>;
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? { pid: holder.pid, host: holder.host, since: String(holder.since), what: String(holder.what) } : null;
  } catch {
    return null; // gone, empty or half written: judged by its age below
  } finally {
    await handle?.close();
  }
};

const describeHolder = (holder: LockHolder | null) =>
  holder === null ? 'a process that has not said who it is yet' : `pid ${holder.pid} on ${holder.host === hostname() ? 'this machine' : `host ${holder.host}`} (since ${holder.since})`;

/**
 * Runs `work` holding `lockFile` (created exclusively), unless `ready()` finds the work done while
 * waiting; resolves to what `work` (or `ready`) gives. The lock file is removed afterwards.
 * `work` runs once the lock is held and must itself look whether the work was done meanwhile
 * (by the process that held the lock before).
 *
 * **Details**: the holder writes its pid, host, start time and `what` into the lock and touches it
 * every `heartbeatMs`. A waiter polls every 100 ms (calling `ready()` each time), shows a wait
 * longer than `quietMs` on `progress` (who holds the lock, and for what), and takes the lock over
 * when its holder is a process of this machine that no longer exists, or when the lock has not
 * been touched for `staleMs` (measured on this machine's clock from the moment the waiter saw it
 * last change, so clocks of other machines do not matter), or when it has stayed empty for 2 s
 * (its holder died between creating it and writing its name).
 *
 * **Gotchas**: two waiters can judge the same lock stale at once and both do the work; `work` must
 * therefore be safe to run twice (the index cache writes each result atomically, so the last one
 * wins and both are whole).
 *
 * @example
 * const index = await withLock(`${key}.lock`, readCached, build, { what: 'indexing faq.jsonl', progress });
 *
 * @category constructors
 */
export const withLock = async <A>(lockFile: string, ready: () => Promise<A | null>, work: () => Promise<A>, options: LockOptions): Promise<A> => {
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const staleMs = options.staleMs ?? 15_000;
  const quietMs = options.quietMs ?? 1000;
  const started = Date.now();
  let seen: { ino: number; mtimeMs: number; at: number } | null = null;
  let holder: LockHolder | null = null;
  let shown: ProgressTask | null = null;
  const endWait = (outcome: LockWait['outcome'], reason?: string) => {
    shown?.end();
    shown = null;
    if (seen !== null) options.onWait?.({ lock: lockFile, holder, waitedMs: Date.now() - started, outcome, ...(reason === undefined ? {} : { reason }) });
    seen = null;
  };
  for (;;) {
    let handle: FileHandle;
    try {
      handle = await createExclusive(lockFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const info = await lstat(lockFile).catch(() => null);
      if (info === null) continue; // released between the two calls
      const now = Date.now();
      if (seen === null || seen.ino !== info.ino || seen.mtimeMs !== info.mtimeMs) seen = { ino: info.ino, mtimeMs: info.mtimeMs, at: now };
      holder = await readHolder(lockFile);
      const local = holder !== null && holder.host === hostname();
      const gone =
        local && holder!.pid !== process.pid && !isAlive(holder!.pid)
          ? `its process (pid ${holder!.pid}) no longer exists`
          : // On this machine the file's time is on our clock; elsewhere only a change we saw counts.
            holder === null && now - seen.at > EMPTY_GRACE_MS
            ? `it has stayed empty for ${((now - seen.at) / 1000).toFixed(0)} s (its process died before writing its name)`
            : local && now - info.mtimeMs > staleMs
            ? `no heartbeat for ${((now - info.mtimeMs) / 1000).toFixed(0)} s`
            : now - seen.at > staleMs
              ? `no heartbeat for ${((now - seen.at) / 1000).toFixed(0)} s`
              : null;
      if (gone !== null) {
        // Removed only if it is still the file judged (another waiter may have replaced it already).
        const again = await lstat(lockFile).catch(() => null);
        if (again !== null && again.ino === info.ino) await rm(lockFile, { recursive: true, force: true });
        endWait('taken-over', gone);
        continue;
      }
      if (shown === null && now - started >= quietMs && options.progress !== undefined) {
        shown = options.progress.start(`waiting for ${describeHolder(holder)}, which holds ${lockFile} (${holder?.what ?? options.what})`, {});
      }
      shown?.update(0, `last heartbeat ${((now - (local ? info.mtimeMs : seen.at)) / 1000).toFixed(0)} s ago`);
      await sleep(100);
      const done = await ready();
      if (done !== null) {
        endWait('released');
        return done;
      }
      continue;
    }
    if (seen !== null) endWait('released');
    // Held: say who holds it, keep it fresh, and release it whatever happens.
    const beat = setInterval(() => {
      const t = new Date();
      handle.utimes(t, t).catch(() => undefined);
    }, heartbeatMs);
    beat.unref();
    try {
      const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what: options.what };
      await handle.writeFile(`${JSON.stringify(me)}\n`);
      return await work();
    } finally {
      clearInterval(beat);
      const mine = await handle.stat().catch(() => null);
      await handle.close().catch(() => undefined);
      // Not a lock that replaced ours (taken over while we hung): that one is its holder's to remove.
      const now = await lstat(lockFile).catch(() => null);
      if (mine !== null && now !== null && now.ino === mine.ino) await rm(lockFile, { force: true });
    }
  }
};

/**
 * Folders and files that only this user can change: the index cache must be one, or another user
 * could plant indexes (or links) in it and make a run read or write what they choose.
 *
 * @module
 */
import { mkdir, stat } from 'node:fs/promises';
import { ConfigError } from './errors.js';

/** This process's user id, or null where the platform has none (Windows: no checks there). */
const myUid = (): number | null => (typeof process.getuid === 'function' ? process.getuid() : null);

/**
 * Why a file or folder is not this user's own, or null when it is: owned by another user.
 * (Root's files are root's: running as root, a folder owned by anyone else is refused too.)
 */
export const foreignOwner = (info: { readonly uid: number | bigint }): string | null => {
  const uid = myUid();
  return uid === null || Number(info.uid) === uid ? null : `it is owned by user id ${info.uid}, not by you (user id ${uid})`;
};

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

const checked = new Map<string, Promise<void>>();

/**
 * Makes sure `dir` exists, is a folder, belongs to this user and is writable by nobody else:
 * created with mode 0700 (and its missing parents too) when it does not exist.
 *
 * **Details**: the check follows a symbolic link (a cache folder linked elsewhere is fine when its
 * target passes). A folder that fails is refused, not repaired: it may be shared on purpose, and
 * what is already in it cannot be trusted. Checked once per folder and process.
 *
 * @throws {ConfigError} naming `option`, with what is wrong and what to do.
 *
 * @example
 * await ensurePrivateDir('/home/me/.cache/llm-retriever-data', 'index_cache');
 *
 * @category constructors
 */
export const ensurePrivateDir = (dir: string, option: string): Promise<void> => {
  let done = checked.get(dir);
  if (done === undefined) {
    done = check(dir, option);
    checked.set(dir, done);
    // A failure is not remembered: the user may fix the folder while the process runs.
    done.catch(() => checked.delete(dir));
  }
  return done;
};

const check = async (dir: string, option: string): Promise<void> => {
  const refuse = (why: string) =>
    new ConfigError(option, `cannot use ${dir} as the index cache: ${why}; give a folder of your own (--index_cache DIR, created with mode 0700 when missing) or --index_cache none`);
  let info = await stat(dir).catch(() => null);
  if (info === null) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw refuse((e as Error).message);
    }
    info = await stat(dir).catch((e: Error) => {
      throw refuse(e.message);
    });
  }
  if (!info.isDirectory()) throw refuse('it is not a folder');
  const owner = foreignOwner(info);
  if (owner !== null) throw refuse(`${owner}, so its owner could plant or change indexes in it`);
  if ((info.mode & 0o022) !== 0) {
    throw refuse(`other users can write in it (mode ${octal(info.mode)}), so they could plant or change indexes in it (chmod go-w, or 700, makes it private)`);
  }
};

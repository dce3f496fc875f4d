/**
 * Data-file patterns as Hugging Face `datasets` resolves them on a local folder (`resolve_pattern`
 * over fsspec's `glob`): which files `train.jsonl`, `data/*`, `**` or `**\/train[-._ 0-9]*` name, and in what order.
 *
 * Why hand-written: the order and the edge cases (hidden files, `__special__` folders, ignored
 * names, `**` only as a whole path part) decide which records form which task; a general glob
 * library answers these differently. This is a port of fsspec's `glob_translate` (CPython's
 * `glob.translate`) and of `resolve_pattern`'s filters.
 *
 * @module
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { byCodePoint } from '../core/pythonStrings.js';

/** Escapes a character for a `u`-mode regular expression (where only syntax characters may be escaped). */
const escapeRegex = (c: string): string => (/[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c);

/** CPython's `glob._translate` of one path part: `*`, `?` and `[…]` classes. */
const translatePart = (pat: string, star: string, question: string): string[] => {
  const res: string[] = [];
  const chars = [...pat];
  let i = 0;
  const n = chars.length;
  while (i < n) {
    const c = chars[i++]!;
    if (c === '*') {
      if (res.length === 0 || res[res.length - 1] !== star) res.push(star);
    } else if (c === '?') {
      res.push(question);
    } else if (c === '[') {
      let j = i;
      if (j < n && chars[j] === '!') j++;
      if (j < n && chars[j] === ']') j++;
      while (j < n && chars[j] !== ']') j++;
      if (j >= n) {
        res.push('\\[');
        continue;
      }
      let stuff: string;
      const inner = chars.slice(i, j).join('');
      if (!inner.includes('-')) {
        stuff = inner.replaceAll('\\', '\\\\');
      } else {
        const chunks: string[] = [];
        let k = chars[i] === '!' ? i + 2 : i + 1;
        for (;;) {
          k = chars.indexOf('-', k);
          if (k < 0 || k >= j) break;
          chunks.push(chars.slice(i, k).join(''));
          i = k + 1;
          k = k + 3;
        }
        const chunk = chars.slice(i, j).join('');
        if (chunk) chunks.push(chunk);
        else chunks[chunks.length - 1] += '-';
        for (let m = chunks.length - 1; m > 0; m--) {
          // Remove empty ranges (invalid in a regex).
          const prev = chunks[m - 1]!;
          if ([...prev].at(-1)! > [...chunks[m]!][0]!) {
            chunks[m - 1] = prev.slice(0, -[...prev].at(-1)!.length) + chunks[m]!.slice([...chunks[m]!][0]!.length);
            chunks.splice(m, 1);
          }
        }
        stuff = chunks.map((s) => s.replaceAll('\\', '\\\\').replaceAll('-', '\\-')).join('-');
      }
      i = j + 1;
      if (!stuff) res.push('(?!)');
      else if (stuff === '!') res.push('.');
      else {
        if (stuff[0] === '!') stuff = `^${stuff.slice(1)}`;
        else if (stuff[0] === '^' || stuff[0] === '[') stuff = `\\${stuff}`;
        // A `]` (first in the class, as the loop above allows) and `[` are literal: escape them for JavaScript.
        stuff = stuff.replace(/(?<!\\)([[\]])/g, '\\$1');
        res.push(`[${stuff}]`);
      }
    } else {
      res.push(escapeRegex(c));
    }
  }
  return res;
};

/**
 * fsspec's `glob_translate` (recursive, hidden files included, `/` as separator): a pattern to a
 * regular expression over whole paths. `*` stays within one path part; `**` as a whole part
 * spans any number of parts.
 *
 * **Gotchas**: `**` inside a part (`a**b`) is a {@link ConfigError}, as fsspec raises.
 *
 * @example
 * globToRegExp('/data/**\/train[-._ 0-9]*').test('/data/x/train-0.jsonl'); // true
 *
 * @category constructors
 */
export const globToRegExp = (pattern: string): RegExp => {
  const notSep = '[^/]';
  const results: string[] = [];
  const parts = pattern.split('/');
  const last = parts.length - 1;
  parts.forEach((part, idx) => {
    if (part === '*') {
      results.push(idx < last ? `${notSep}+/` : `${notSep}+`);
      return;
    }
    if (part === '**') {
      results.push(idx < last ? '(?:.+/)?' : '.*');
      return;
    }
    if (part.includes('**')) throw new ConfigError('data_files', `invalid pattern ${JSON.stringify(pattern)}: '**' can only be an entire path component`);
    if (part) results.push(...translatePart(part, `${notSep}*`, notSep));
    if (idx < last) results.push('/');
  });
  return new RegExp(`^(?:${results.join('')})$`, 'su');
};

const hasMagic = (s: string): boolean => /[*?[]/.test(s);

/** `datasets.data_files.FILES_TO_IGNORE`. */
const FILES_TO_IGNORE = ['README.md', 'config.json', 'dataset_info.json', 'dataset_infos.json', 'dummy_data.zip', 'dataset_dict.json'];

const partsOf = (path: string): string[] => path.split('/').filter((p) => p !== '');
const hiddenParts = (path: string): number => partsOf(path).filter((p) => p.startsWith('.') && !/^\.+$/.test(p)).length;
const specialParts = (path: string): number => partsOf(posix.dirname(path)).filter((p) => p.startsWith('__')).length;

interface Entry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'other';
  readonly link: boolean;
}

/** fsspec's `find(root, withdirs=True)` on the local file system: every entry below `root`, not following symlinked folders. */
const walk = async (root: string, maxDepth: number | null): Promise<Entry[]> => {
  const out: Entry[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      const type = e.isDirectory() ? 'directory' : e.isFile() ? 'file' : 'other';
      out.push({ path, type, link: e.isSymbolicLink() });
      if (type === 'directory' && (maxDepth === null || depth + 1 < maxDepth)) await visit(path, depth + 1);
    }
  };
  const info = await stat(root).catch(() => null);
  if (info?.isDirectory()) {
    out.push({ path: root, type: 'directory', link: false });
    await visit(root, 0);
  }
  return out;
};

const isFileThroughLink = async (path: string): Promise<boolean> => {
  const target = await realpath(path).catch(() => null);
  return target !== null && (await stat(target).then((s) => s.isFile(), () => false));
};

/**
 * The files one pattern names under `basePath` (an absolute, resolved folder), as
 * `datasets.data_files.resolve_pattern` returns them: sorted by path (code point order); folders,
 * `README.md` and the other `FILES_TO_IGNORE`, hidden files and folders (`.name`) and `__special__`
 * folders left out unless the pattern names them; symlinks to files kept; with
 * `allowedExtensions`, only files one of whose `.suffixes` is allowed.
 *
 * **Gotchas**: a pattern without wildcards that names nothing is an error in `datasets`; here it
 * returns `[]` and the caller decides (see `resolveDatasetFolder`).
 *
 * @example
 * await resolvePattern('**', '/data/my-dataset');
 *
 * @category constructors
 */
export const resolvePattern = async (pattern: string, basePath: string, allowedExtensions: ReadonlySet<string> | null = null): Promise<string[]> => {
  const full = pattern.startsWith('/') ? pattern : posix.join(basePath, pattern);
  const ignore = new Set(FILES_TO_IGNORE.filter((name) => name !== posix.basename(full)));
  let candidates: Entry[];
  const endsWithSep = full.endsWith('/');
  const path = endsWithSep ? full.slice(0, -1) : full;
  if (!hasMagic(path)) {
    const info = await lstat(path).catch(() => null);
    candidates =
      info === null
        ? []
        : [{ path, type: info.isDirectory() ? 'directory' : info.isFile() ? 'file' : info.isSymbolicLink() ? ((await stat(path).catch(() => null))?.isDirectory() ? 'directory' : 'file') : 'other', link: info.isSymbolicLink() }];
  } else {
    const firstMagic = path.search(/[*?[]/);
    const rootEnd = path.lastIndexOf('/', firstMagic);
    const root = rootEnd <= 0 ? '/' : path.slice(0, rootEnd);
    const depth = path.includes('**') ? null : path.slice(rootEnd + 1).split('/').length;
    const regex = globToRegExp(path + (endsWithSep ? '/' : ''));
    const appendSlash = endsWithSep || path.endsWith('/**');
    candidates = (await walk(root, depth))
      .sort((a, b) => byCodePoint(a.path, b.path))
      .filter((e) => regex.test(appendSlash && e.type === 'directory' ? `${e.path}/` : e.path));
  }
  const out: string[] = [];
  for (const entry of candidates) {
    const isFile = entry.type === 'file' || (entry.link && (await isFileThroughLink(entry.path)));
    if (!isFile || ignore.has(posix.basename(entry.path))) continue;
    if (specialParts(entry.path) !== specialParts(path)) continue;
    if (hiddenParts(entry.path) !== hiddenParts(path)) continue;
    if (allowedExtensions !== null && !posix.basename(entry.path).split('.').slice(1).some((suffix) => allowedExtensions.has(`.${suffix}`))) continue;
    out.push(entry.path);
  }
  return out;
};

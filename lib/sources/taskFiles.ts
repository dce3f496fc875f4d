/**
 * Resolving `train_data` into task files, and streaming their decoded records.
 *
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { defer, type AsyncIterableX } from 'ix/asynciterable';
import { asFileError, ConfigError, type Issue } from '../core/errors.js';
import { byCodePoint } from '../core/pythonStrings.js';
import type { Example, Located, TaskFileOrigin } from '../core/model.js';
import type { ReportSink } from '../core/report.js';
import { decodeExample } from '../schema/record.js';
import { fromJsonl, kindOf } from './jsonl.js';

/**
 * A task file and how `train_data` named it.
 *
 * @category models
 */
export interface TaskFileRef {
  readonly file: string;
  readonly origin: TaskFileOrigin;
}

/**
 * A decoded record with the `train_data` entry its file came from.
 *
 * @category models
 */
export interface SourcedExample extends Located<Example> {
  readonly origin: TaskFileOrigin;
}

/** `.json` and `.jsonl` as the reference; their `.gz` forms too (read as the files they compress). */
const isTaskFileName = (name: string): boolean => /\.jsonl?(\.gz)?$/.test(name);

/** Follows symlinks; a dangling one is not a file. */
const isRegularFile = (path: string): Promise<boolean> =>
  stat(path).then(
    (s) => s.isFile(),
    () => false,
  );

/**
 * Lists the task files of `train_data`, in the reference's load order.
 *
 * **Details**: an entry naming a file counts if it ends in `.json` or `.jsonl` (or either plus `.gz`).
 * A folder contributes such regular files, not recursively, in name order (code point order, as Python's
 * `sorted`; the reference uses raw `os.listdir` order, which depends on the file system).
 * Everything passed over is reported as `fileSkipped`.
 *
 * **Gotchas**: a missing entry is a {@link ConfigError} (the reference raises `FileNotFoundError`
 * when parsing its arguments), and so is a `.json`/`.jsonl` entry that is not a regular file (a
 * FIFO, a device: reading one would wait forever or never end). Folder entries that are not
 * regular files are skipped and reported.
 *
 * @example
 * await listTaskFiles(['examples/data/retrieval', 'examples/data/sts/sentences.jsonl']);
 *
 * @category constructors
 */
export const listTaskFiles = async (
  trainData: ReadonlyArray<string>,
  report?: ReportSink,
): Promise<ReadonlyArray<TaskFileRef>> => {
  const refs: TaskFileRef[] = [];
  for (const [entryIndex, entry] of trainData.entries()) {
    const info = await stat(entry).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new ConfigError('train_data', `cannot find file: ${entry}, please set a true path`);
      throw asFileError(entry, e);
    });
    if (!info.isDirectory()) {
      if (!isTaskFileName(entry)) report?.add({ kind: 'fileSkipped', file: entry, reason: 'not-json' });
      else if (!info.isFile()) {
        throw new ConfigError('train_data', `${entry} is ${kindOf(info)}, not a regular file: a task file is read twice (to index it, then record by record)`);
      } else refs.push({ file: entry, origin: { entry, entryIndex, inFolder: false } });
      continue;
    }
    const names = (await readdir(entry, { withFileTypes: true }).catch((e: unknown) => Promise.reject(asFileError(entry, e)))).sort((a, b) => byCodePoint(a.name, b.name));
    for (const dirent of names) {
      const file = join(entry, dirent.name);
      if (!isTaskFileName(dirent.name)) report?.add({ kind: 'fileSkipped', file, reason: 'not-json' });
      else if (!(dirent.isFile() || (dirent.isSymbolicLink() && (await isRegularFile(file)))))
        report?.add({ kind: 'fileSkipped', file, reason: 'not-a-file' });
      else refs.push({ file, origin: { entry, entryIndex, inFolder: true } });
    }
  }
  return refs;
};

/**
 * Options of {@link fromTaskFiles}.
 *
 * @category models
 */
export interface TaskFilesOptions {
  /** Read and check teacher scores (`knowledge_distillation`). Default: false. */
  readonly knowledgeDistillation?: boolean;
  /** Receives `fileSkipped` events. */
  readonly report?: ReportSink;
}

/**
 * Streams every record of every task file of `train_data`, decoded and located, in load order.
 *
 * **Details**: yields `Left` with all of a record's issues (malformed JSON, missing or mistyped
 * fields), `Right` with the record otherwise. Follow it with `failOnIssues()` or
 * `collectIssues(sink)`. Lazy and re-iterable: nothing is read until iteration starts.
 *
 * @example
 * const records = fromTaskFiles(['examples/data/retrieval']).pipe(failOnIssues());
 *
 * @category constructors
 */
export const fromTaskFiles = (
  trainData: ReadonlyArray<string>,
  options: TaskFilesOptions = {},
): AsyncIterableX<E.Either<ReadonlyNonEmptyArray<Issue>, SourcedExample>> =>
  defer(async function* (signal?: AbortSignal) {
    for (const { file, origin } of await listTaskFiles(trainData, options.report)) {
      let records = 0;
      for await (const read of fromJsonl(file)) {
        signal?.throwIfAborted();
        records += 1;
        if (E.isLeft(read)) {
          yield E.left([read.left] as const);
          continue;
        }
        const { value, ...at } = read.right;
        yield E.map((example: Example): SourcedExample => ({ ...at, value: example, origin }))(
          decodeExample(value, at, options),
        );
      }
      if (records === 0) options.report?.add({ kind: 'fileSkipped', file, reason: 'empty' });
    }
  });

/**
 * The index of a task file: one streaming pass records where each record is and the counts the
 * plan and the random draws need; batches then read only their own records. Indexes are cached on
 * disk, keyed so that a changed file is indexed again, and shared by every process on the machine.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { close as closeFd, createWriteStream, fstat as fstatFd, open as openFd, read as readFd, rmSync, type Stats } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import * as E from 'fp-ts/lib/Either.js';
import { InvariantError, RecordError, type Issue } from '../core/errors.js';
import type { Example, FileSummary, Located, RecordMeta, RecordStore } from '../core/model.js';
import { decodeExample } from '../schema/record.js';
import { codePointLength } from '../plan/batchDraws.js';
import { fileSummary } from '../plan/fileSummary.js';
import { openTaskFile, parseSpan } from './jsonl.js';
import { recordSpans } from './recordSpans.js';

/** Bump when the layout or the meaning of an index changes: old caches are then rebuilt. */
const INDEX_VERSION = 2;
const MAGIC = 'LRDI';

/**
 * Options of {@link indexTaskFile}.
 *
 * @category models
 */
export interface IndexOptions {
  /** Read and check teacher scores (`knowledge_distillation`); part of the cache key. Default: false. */
  readonly knowledgeDistillation?: boolean;
  /**
   * Where indexes (and decompressed copies of `.gz` files) are kept between runs, shared by all
   * processes on the machine. `null`: no cache (indexes live in memory; `.gz` copies in a temporary
   * folder). Default: {@link defaultIndexCacheDir}.
   */
  readonly indexCacheDir?: string | null;
  /**
   * What a bad record does: `'fail'` stops with a {@link RecordError} (the reference's behaviour,
   * made clear); `'skip'` leaves it out of the index and reports it. Default: `'fail'`.
   */
  readonly badRecords?: 'fail' | 'skip';
}

/**
 * `~/.cache/llm-retriever-data`.
 *
 * @category constructors
 */
export const defaultIndexCacheDir = (): string => join(homedir(), '.cache', 'llm-retriever-data');

/**
 * A task file's index: per record its byte span in `dataFile`, its line and place in the file, and
 * its counts; plus the file's summary and fingerprint.
 *
 * @category models
 */
export interface TaskFileIndex {
  readonly file: string;
  /** Where the records' bytes are: the file itself, or a decompressed copy of a `.gz` file. */
  readonly dataFile: string;
  /** `dataFile`'s size and modification time when indexed: reads check them, so a changed file is an error. */
  readonly dataStat: { readonly size: number; readonly mtimeMs: number };
  /** SHA-256 of the file's bytes. */
  readonly fingerprint: string;
  readonly summary: FileSummary;
  /** Records left out (`badRecords: 'skip'`), each with its issues. */
  readonly skipped: ReadonlyArray<ReadonlyArray<Issue>>;
  readonly columns: IndexColumns;
}

/**
 * Columnar per-record data: a few typed arrays instead of millions of objects. Columns that would
 * only repeat the obvious are stored empty: `record` when it is the position (no record skipped),
 * `posStart` when every record has one positive, `trainGroupSize` / `batchSize` when no record sets them.
 *
 * @category models
 */
export interface IndexColumns {
  readonly start: Float64Array;
  readonly length: Uint32Array;
  readonly line: Int32Array;
  readonly record: Int32Array;
  /** `positiveLength.subarray(posStart[i], posStart[i + 1])` are record i's positive lengths. */
  readonly posStart: Int32Array;
  readonly positiveLength: Int32Array;
  readonly negatives: Int32Array;
  /** 0 when absent. */
  readonly trainGroupSize: Int32Array;
  readonly batchSize: Int32Array;
}

const COLUMN_TYPES = {
  start: Float64Array,
  length: Uint32Array,
  line: Int32Array,
  record: Int32Array,
  posStart: Int32Array,
  positiveLength: Int32Array,
  negatives: Int32Array,
  trainGroupSize: Int32Array,
  batchSize: Int32Array,
} as const;
type ColumnName = keyof typeof COLUMN_TYPES;
type Column = InstanceType<(typeof COLUMN_TYPES)[ColumnName]>;
const COLUMN_NAMES = Object.keys(COLUMN_TYPES) as ColumnName[];

/** Growable typed columns for the build pass. */
class ColumnBuilder {
  private readonly data = new Map<ColumnName, { array: Column; length: number }>();
  constructor() {
    for (const name of COLUMN_NAMES) this.data.set(name, { array: new COLUMN_TYPES[name](1024), length: 0 });
  }
  push(name: ColumnName, value: number): void {
    const c = this.data.get(name)!;
    if (c.length === c.array.length) {
      const grown = new COLUMN_TYPES[name](c.array.length * 2);
      grown.set(c.array);
      c.array = grown;
    }
    c.array[c.length++] = value;
  }
  finish(): IndexColumns {
    const column = (n: ColumnName) => this.data.get(n)!.array.slice(0, this.data.get(n)!.length);
    const columns = Object.fromEntries(COLUMN_NAMES.map((n) => [n, column(n)])) as unknown as Record<ColumnName, Column>;
    const empty = (n: ColumnName) => new COLUMN_TYPES[n](0);
    if (columns.record.every((r, i) => r === i)) columns.record = empty('record');
    if (columns.posStart.every((p, i) => p === i)) columns.posStart = empty('posStart');
    if (columns.trainGroupSize.every((x) => x === 0)) columns.trainGroupSize = empty('trainGroupSize');
    if (columns.batchSize.every((x) => x === 0)) columns.batchSize = empty('batchSize');
    return columns as unknown as IndexColumns;
  }
}

interface Header {
  readonly version: number;
  readonly file: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly probe: string;
  readonly knowledgeDistillation: boolean;
  readonly badRecords: 'fail' | 'skip';
  readonly dataFile: string | null;
  readonly dataSize: number;
  readonly fingerprint: string;
  readonly summary: FileSummary;
  readonly skipped: ReadonlyArray<ReadonlyArray<Issue>>;
  readonly lengths: Readonly<Record<ColumnName, number>>;
}

/** A cheap content check: SHA-256 of the first and last 64 KiB (with size and mtime, the cache key). */
const probeFile = async (file: string, size: number): Promise<string> => {
  const handle = await open(file, 'r');
  try {
    const n = Math.min(size, 65536);
    const head = Buffer.alloc(n);
    const tail = Buffer.alloc(n);
    await handle.read(head, 0, n, 0);
    await handle.read(tail, 0, n, Math.max(0, size - n));
    return createHash('sha256').update(head).update(tail).digest('hex');
  } finally {
    await handle.close();
  }
};

const cacheKey = (file: string, options: Required<IndexOptions>): string =>
  createHash('sha256')
    .update(`${resolve(file)}\u0000${options.knowledgeDistillation}\u0000${options.badRecords}\u0000${INDEX_VERSION}`)
    .digest('hex')
    .slice(0, 32);

const resolveOptions = (options: IndexOptions): Required<IndexOptions> => ({
  knowledgeDistillation: options.knowledgeDistillation ?? false,
  indexCacheDir: options.indexCacheDir === undefined ? defaultIndexCacheDir() : options.indexCacheDir,
  badRecords: options.badRecords ?? 'fail',
});

/** Builds an index in one pass over the file; `.gz` files are decompressed into `dataFile` on the way. */
const buildIndex = async (
  file: string,
  options: Required<IndexOptions>,
  dataFile: string | null,
): Promise<{ columns: IndexColumns; summary: FileSummary; fingerprint: string; skipped: Issue[][]; dataSize: number }> => {
  const builder = new ColumnBuilder();
  const summary = fileSummary();
  const skipped: Issue[][] = [];
  const hash = createHash('sha256');
  const copy = dataFile === null ? null : createWriteStream(dataFile);
  let dataSize = 0;
  const bytes = (async function* () {
    for await (const chunk of openTaskFile(file)) {
      hash.update(chunk);
      dataSize += chunk.length;
      if (copy !== null && !copy.write(chunk)) await new Promise<void>((r) => copy.once('drain', () => r()));
      yield chunk;
    }
  })();
  let positives = 0;
  builder.push('posStart', 0);
  const bad = (issues: Issue[]): void => {
    if (options.badRecords === 'fail') throw new RecordError(issues as [Issue, ...Issue[]]);
    skipped.push(issues);
  };
  try {
    for await (const span of recordSpans(bytes)) {
      if (!('bytes' in span)) {
        bad([{ file, line: span.line, message: `malformed JSON array: ${span.message}` }]);
        continue;
      }
      const parsed = parseSpan(file, span);
      if (E.isLeft(parsed)) {
        bad([parsed.left]);
        continue;
      }
      const at = { file, line: span.line, record: span.record };
      const decoded = decodeExample(parsed.right.value, at, options);
      if (E.isLeft(decoded)) {
        bad([...decoded.left]);
        continue;
      }
      const record: Located<Example> = { ...at, value: decoded.right };
      const issue = summary.add(record);
      if (issue !== undefined) {
        bad([issue]);
        continue;
      }
      builder.push('start', span.start);
      builder.push('length', span.end - span.start);
      builder.push('line', span.line);
      builder.push('record', span.record);
      for (const p of record.value.pos) builder.push('positiveLength', codePointLength(p));
      positives += record.value.pos.length;
      builder.push('posStart', positives);
      builder.push('negatives', record.value.neg.length);
      builder.push('trainGroupSize', record.value.trainGroupSize ?? 0);
      builder.push('batchSize', record.value.batchSize ?? 0);
    }
  } finally {
    copy?.end();
    if (copy !== null) await finished(copy);
  }
  return { columns: builder.finish(), summary: summary.summary(), fingerprint: hash.digest('hex'), skipped, dataSize };
};

const encodeIndex = (header: Header, columns: IndexColumns): Buffer => {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(8);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 4);
  const pad = Buffer.alloc((8 - ((8 + json.length) % 8)) % 8);
  const parts = COLUMN_NAMES.map((n) => {
    const a = columns[n];
    const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    return Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
  });
  return Buffer.concat([head, json, pad, ...parts]);
};

const decodeIndex = (buffer: Buffer): { header: Header; columns: IndexColumns } | null => {
  if (buffer.length < 8 || buffer.toString('latin1', 0, 4) !== MAGIC) return null;
  const length = buffer.readUInt32LE(4);
  const header = JSON.parse(buffer.toString('utf8', 8, 8 + length)) as Header;
  let at = 8 + length;
  at += (8 - (at % 8)) % 8;
  const columns: Partial<Record<ColumnName, Column>> = {};
  for (const name of COLUMN_NAMES) {
    const Type = COLUMN_TYPES[name];
    const n = header.lengths[name];
    const bytes = n * Type.BYTES_PER_ELEMENT;
    // Copied out so the arrays are aligned and the big file buffer can be freed.
    const array = new Type(n);
    new Uint8Array(array.buffer).set(buffer.subarray(at, at + bytes));
    columns[name] = array;
    at += bytes + ((8 - (bytes % 8)) % 8);
  }
  return { header, columns: columns as unknown as IndexColumns };
};

const statOf = async (path: string): Promise<{ size: number; mtimeMs: number }> => {
  const s = await stat(path);
  return { size: s.size, mtimeMs: s.mtimeMs };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Holds `lockFile` while `work` runs, so that one process on the machine builds an index while
 * the others wait for it. A lock whose process is gone is taken over.
 */
/** A lock older than this is taken over whatever it says (a build never takes this long; pids get reused). */
const LOCK_MAX_AGE_MS = 2 * 60 * 60 * 1000;
/** An empty lock (its process died between creating and writing it) is taken over after this. */
const LOCK_EMPTY_GRACE_MS = 1000;

/** Whether a lock can be taken over: its process is gone, it was never written, or it is very old. */
const isStale = async (lockFile: string): Promise<boolean> => {
  const info = await stat(lockFile).catch(() => null);
  if (info === null) return false; // gone: just try again
  const age = Date.now() - info.mtimeMs;
  const [pid, host] = (await readFile(lockFile, 'utf8').catch(() => '')).trim().split(/\s+/);
  const holder = Number(pid);
  if (!Number.isSafeInteger(holder) || holder <= 0) return age > LOCK_EMPTY_GRACE_MS;
  // A lock from another machine (a shared cache folder) cannot be checked for life: only its age counts.
  if ((host === undefined || host === hostname()) && holder !== process.pid && !isAlive(holder)) return true;
  return age > LOCK_MAX_AGE_MS;
};

/**
 * Holds `lockFile` while `work` runs, so that one process on the machine builds an index while
 * the others wait for it. A stale lock ({@link isStale}) is taken over.
 */
const withLock = async <A>(lockFile: string, ready: () => Promise<A | null>, work: () => Promise<A>): Promise<A> => {
  for (;;) {
    try {
      await writeFile(lockFile, `${process.pid} ${hostname()}\n`, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await isStale(lockFile)) {
        await rm(lockFile, { force: true });
        continue;
      }
      await sleep(100);
      const done = await ready();
      if (done !== null) return done;
      continue;
    }
    try {
      // Someone may have finished while we waited for the lock.
      return (await ready()) ?? (await work());
    } finally {
      await rm(lockFile, { force: true });
    }
  }
};

/**
 * Indexes one task file, or reads its index from the cache when the file is unchanged (same path,
 * size, modification time, and first and last 64 KiB).
 *
 * **Details**: every record is parsed and decoded once here (so a bad record fails now, before the
 * first batch, with file, line and field); the index keeps, per record, its byte span, line,
 * position in the file, positive lengths (code points), negative count, and `train_group_size` /
 * `batch_size`. A `.jsonl.gz` / `.json.gz` file is decompressed, once, into the cache folder, and
 * read from there by position.
 *
 * **Gotchas**: the cache is written atomically (a temporary file, then a rename) under a lock file,
 * so ranks starting together build each index once. A file that changes while a run reads it is
 * an error at read time, not a silent difference.
 *
 * @example
 * const index = await indexTaskFile('examples/data/retrieval/faq.jsonl', { indexCacheDir: '/tmp/idx' });
 * index.summary.records; // 24
 *
 * @category constructors
 */
export const indexTaskFile = async (file: string, options: IndexOptions = {}): Promise<TaskFileIndex> => (await loadTaskFileIndex(file, options)).index;

/**
 * {@link indexTaskFile}, telling also whether the index came from the cache.
 *
 * @category constructors
 */
export const loadTaskFileIndex = async (file: string, rawOptions: IndexOptions = {}): Promise<{ readonly index: TaskFileIndex; readonly cached: boolean }> => {
  const options = resolveOptions(rawOptions);
  const info = await stat(file);
  const probe = await probeFile(file, info.size);
  const gz = file.endsWith('.gz');
  const cacheDir = options.indexCacheDir;
  if (cacheDir === null) {
    const dataFile = gz ? join(await mkdtempFolder(), 'data') : null;
    const { columns, summary, fingerprint, skipped } = await buildIndex(file, options, dataFile);
    return { index: { file, dataFile: dataFile ?? file, dataStat: await statOf(dataFile ?? file), fingerprint, summary, skipped, columns }, cached: false };
  }
  await mkdir(cacheDir, { recursive: true });
  const key = cacheKey(file, options);
  const indexFile = join(cacheDir, `${key}.index`);
  const dataFile = gz ? join(cacheDir, `${key}.data`) : null;

  type Loaded = { readonly index: TaskFileIndex; readonly cached: boolean };
  const fromCache = async (): Promise<Loaded | null> => {
    const buffer = await readFile(indexFile).catch(() => null);
    const decoded = buffer === null ? null : decodeIndex(buffer);
    if (decoded === null) return null;
    const { header, columns } = decoded;
    const fresh =
      header.version === INDEX_VERSION &&
      header.file === resolve(file) &&
      header.size === info.size &&
      header.mtimeMs === info.mtimeMs &&
      header.probe === probe &&
      (dataFile === null || (await stat(dataFile).then((s) => s.size === header.dataSize, () => false)));
    if (!fresh) return null;
    const dataStat = dataFile === null ? { size: info.size, mtimeMs: info.mtimeMs } : await statOf(dataFile);
    return { index: { file, dataFile: dataFile ?? file, dataStat, fingerprint: header.fingerprint, summary: header.summary, skipped: header.skipped, columns }, cached: true };
  };

  return (
    (await fromCache()) ??
    withLock<Loaded>(join(cacheDir, `${key}.lock`), fromCache, async () => {
    const tmpData = dataFile === null ? null : `${dataFile}.${process.pid}.tmp`;
    const built = await buildIndex(file, options, tmpData).catch(async (e: unknown) => {
      if (tmpData !== null) await rm(tmpData, { force: true });
      throw e;
    });
    const header: Header = {
      version: INDEX_VERSION,
      file: resolve(file),
      size: info.size,
      mtimeMs: info.mtimeMs,
      probe,
      knowledgeDistillation: options.knowledgeDistillation,
      badRecords: options.badRecords,
      dataFile,
      dataSize: built.dataSize,
      fingerprint: built.fingerprint,
      summary: built.summary,
      skipped: built.skipped,
      lengths: Object.fromEntries(COLUMN_NAMES.map((n) => [n, built.columns[n].length])) as Record<ColumnName, number>,
    };
    const tmpIndex = `${indexFile}.${process.pid}.tmp`;
    await writeFile(tmpIndex, encodeIndex(header, built.columns));
    if (tmpData !== null) await rename(tmpData, dataFile!);
    await rename(tmpIndex, indexFile);
    return {
      index: {
        file,
        dataFile: dataFile ?? file,
        dataStat: dataFile === null ? { size: info.size, mtimeMs: info.mtimeMs } : await statOf(dataFile),
        fingerprint: built.fingerprint,
        summary: built.summary,
        skipped: built.skipped,
        columns: built.columns,
      },
      cached: false,
    };
    })
  );
};

/** Decompressed copies made without a cache live in temporary folders removed when the process exits. */
const temporaryFolders: string[] = [];
const mkdtempFolder = async (): Promise<string> => {
  const folder = await mkdtemp(join(tmpdir(), 'llm-retriever-data-'));
  if (temporaryFolders.length === 0) process.once('exit', () => temporaryFolders.forEach((f) => rmSync(f, { recursive: true, force: true })));
  temporaryFolders.push(folder);
  return folder;
};

const recordOf = (columns: IndexColumns, position: number): number => (columns.record.length === 0 ? position : columns.record[position]!);

/**
 * A store over an indexed task file: metadata from the index, records read from disk by position.
 *
 * @category constructors
 */
export class IndexedStore implements RecordStore {
  readonly size: number;
  constructor(
    private readonly index: TaskFileIndex,
    private readonly options: Pick<IndexOptions, 'knowledgeDistillation'> = {},
  ) {
    this.size = index.columns.line.length;
  }
  private check(position: number): void {
    if (!Number.isSafeInteger(position) || position < 0 || position >= this.size) {
      throw new InvariantError(`record position ${position} is outside ${this.index.file} (${this.size} records)`);
    }
  }
  meta(position: number): RecordMeta {
    this.check(position);
    const { columns } = this.index;
    const [from, to] = columns.posStart.length === 0 ? [position, position + 1] : [columns.posStart[position]!, columns.posStart[position + 1]!];
    return {
      file: this.index.file,
      line: columns.line[position]!,
      record: recordOf(columns, position),
      positiveLengths: Array.from(columns.positiveLength.subarray(from, to)),
      negatives: columns.negatives[position]!,
      trainGroupSize: columns.trainGroupSize[position] || undefined,
      batchSize: columns.batchSize[position] || undefined,
    };
  }
  async read(positions: ReadonlyArray<number>): Promise<ReadonlyArray<Located<Example>>> {
    positions.forEach((p) => this.check(p));
    const { columns, file, dataFile } = this.index;
    // fs's callback functions, not a FileHandle: they cost the main thread less per read, and a batch
    // reads each of its records on its own.
    const fd = await new Promise<number>((done, fail) => openFd(dataFile, 'r', (e, fd) => (e ? fail(e) : done(fd))));
    try {
      const now = await new Promise<Stats>((done, fail) => fstatFd(fd, (e, stats) => (e ? fail(e) : done(stats))));
      if (now.size !== this.index.dataStat.size || now.mtimeMs !== this.index.dataStat.mtimeMs) {
        throw new RecordError([
          { file, line: 1, message: `changed since it was indexed (size ${this.index.dataStat.size} → ${now.size}, modified ${new Date(now.mtimeMs).toISOString()}); run again to re-index it` },
        ]);
      }
      return await Promise.all(
        positions.map(async (position): Promise<Located<Example>> => {
          const start = columns.start[position]!;
          const length = columns.length[position]!;
          const bytes = Buffer.allocUnsafe(length);
          const bytesRead = await new Promise<number>((done, fail) => readFd(fd, bytes, 0, length, start, (e, n) => (e ? fail(e) : done(n))));
          const at = { file, line: columns.line[position]!, record: recordOf(columns, position) };
          const parsed = bytesRead === length ? parseSpan(file, { ...at, start, end: start + length, bytes }) : null;
          const decoded = parsed !== null && E.isRight(parsed) ? decodeExample(parsed.right.value, at, this.options) : null;
          if (decoded === null || E.isLeft(decoded)) {
            throw new RecordError([
              { ...at, message: 'changed since it was indexed (the record at its indexed place no longer reads as the same record); run again to re-index' },
            ]);
          }
          return { ...at, value: decoded.right };
        }),
      );
    } finally {
      await new Promise<void>((done) => closeFd(fd, () => done()));
    }
  }
}

/** An {@link IndexedStore}. */
export const indexedStore = (index: TaskFileIndex, options: Pick<IndexOptions, 'knowledgeDistillation'> = {}): RecordStore =>
  new IndexedStore(index, { knowledgeDistillation: options.knowledgeDistillation ?? false });

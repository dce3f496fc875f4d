/**
 * The index of a task file: one streaming pass records where each record is and the counts the
 * plan and the random draws need; batches then read only their own records. Indexes are cached on
 * disk, keyed so that a changed file is indexed again, checked on every read of the cache, and
 * shared by every process of this user on the machine.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { close as closeFd, fstat as fstatFd, open as openFd, read as readFd, rmSync, type BigIntStats } from 'node:fs';
import { lstat, mkdtemp, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { atomicWriteFile, createExclusive, openAtomic, READ_NO_FOLLOW, type AtomicFile } from '../core/atomicFile.js';
import { asFileError, FileError, InvariantError, RecordError, type Issue } from '../core/errors.js';
import { withLock, type LockOptions } from '../core/lockFile.js';
import type { Example, FileSummary, Located, RecordMeta, RecordStore } from '../core/model.js';
import { ensurePrivateDir, foreignOwner } from '../core/privateDir.js';
import type { ProgressSink } from '../core/progress.js';
import type { ReportSink } from '../core/report.js';
import { decodeExample } from '../schema/record.js';
import { codePointLength } from '../core/pythonStrings.js';
import { fileSummary } from '../plan/fileSummary.js';
import { kindOf, openRegularFile, parseText, spanText, taskFileBytes } from './jsonl.js';
import { recordSpans, type SpanProblem } from './recordSpans.js';

/** Bump when the layout or the meaning of an index changes: old caches are then rebuilt. */
const INDEX_VERSION = 3;
const MAGIC = 'LRDI';
/** Every index file ends with the SHA-256 of everything before it. */
const CHECKSUM_BYTES = 32;

/**
 * Options of {@link indexTaskFile}.
 *
 * @category models
 */
export interface IndexOptions {
  /** Read and check teacher scores (`knowledge_distillation`); part of the cache key. Default: false. */
  readonly knowledgeDistillation?: boolean;
  /**
   * Where indexes (and decompressed copies of `.gz` files) are kept between runs, shared by this
   * user's processes on the machine. It must be a folder of this user that nobody else can write
   * (created with mode 0700 when missing); another is refused with a `ConfigError`. `null`: no
   * cache (indexes live in memory; `.gz` copies in a private temporary folder). Default:
   * {@link defaultIndexCacheDir}.
   */
  readonly indexCacheDir?: string | null;
  /**
   * What a bad record does: `'fail'` stops with a {@link RecordError} (the reference's behaviour,
   * made clear); `'skip'` leaves it out of the index and reports it. Default: `'fail'`.
   */
  readonly badRecords?: 'fail' | 'skip';
  /**
   * How a cached index is checked against its file. `'stat'`: the file's size, modification and
   * status-change times, inode and device, and a SHA-256 of its first and last 64 KiB (any write,
   * even one that sets the modification time back, changes the status-change time). `'content'`:
   * also a SHA-256 of the whole file, so one more read of it per run (about 1 GB/s here). Default:
   * `'stat'`.
   */
  readonly changeDetection?: 'stat' | 'content';
  /** Receives `cacheEntryRejected` and `lockWaited` events (and, from `indexTaskFiles`, more). */
  readonly report?: ReportSink;
  /** Where a wait for another process's index build says what it waits for. Default: nowhere (the `lockWaited` event still tells). */
  readonly progress?: ProgressSink;
  /**
   * Told, while a file is read to build its index, how many of its bytes (as stored: compressed for
   * `.gz`) are read so far, every {@link READ_PROGRESS_BYTES}: progress within one big file. Not
   * called for an index read from the cache.
   */
  readonly onRead?: (file: string, bytesRead: number) => void;
  /** The index lock's timings (see `withLock`): heartbeat, silence after which a lock is taken over, waits not shown. */
  readonly lock?: Pick<LockOptions, 'heartbeatMs' | 'staleMs' | 'quietMs'>;
}

/**
 * `~/.cache/llm-retriever-data`.
 *
 * @category constructors
 */
export const defaultIndexCacheDir = (): string => join(homedir(), '.cache', 'llm-retriever-data');

/**
 * What the system says about a file at one moment. Writing to the file changes its size,
 * modification time or status-change time (the last cannot be set back by a user, unlike the
 * modification time); replacing it changes the inode.
 *
 * @category models
 */
export interface FileIdentity {
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  readonly ino: string;
  readonly dev: string;
}

const identityOf = (s: BigIntStats): FileIdentity => ({
  size: Number(s.size),
  mtimeNs: s.mtimeNs.toString(),
  ctimeNs: s.ctimeNs.toString(),
  ino: s.ino.toString(),
  dev: s.dev.toString(),
});

/** How `now` differs from `then`, for people; null when it does not. */
const identityChange = (then: FileIdentity, now: FileIdentity): string | null => {
  if (then.ino !== now.ino || then.dev !== now.dev) return 'it was replaced by another file';
  if (then.size !== now.size) return `its size changed (${then.size} → ${now.size} bytes)`;
  if (then.mtimeNs !== now.mtimeNs) return 'it was modified';
  if (then.ctimeNs !== now.ctimeNs) return 'it was written to, or its permissions changed (its status-change time moved)';
  return null;
};

const isIdentity = (u: unknown): u is FileIdentity => {
  const o = u as Partial<FileIdentity> | null;
  return o !== null && typeof o === 'object' && Number.isSafeInteger(o.size) && [o.mtimeNs, o.ctimeNs, o.ino, o.dev].every((x) => typeof x === 'string');
};

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
  /** `dataFile` when indexed: reads check it, so that a file changed since is an error, not a silent difference. */
  readonly dataIdentity: FileIdentity;
  /** SHA-256 of the file's (decompressed) bytes. */
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
  /** The task file when it was indexed. */
  readonly source: FileIdentity;
  readonly probe: string;
  readonly knowledgeDistillation: boolean;
  readonly badRecords: 'fail' | 'skip';
  /** SHA-256 of the file as stored (compressed, for `.gz`). */
  readonly rawSha256: string;
  /** The decompressed copy of a `.gz` file: its name in the cache folder, and its identity when made. */
  readonly data: { readonly name: string; readonly identity: FileIdentity } | null;
  readonly dataSize: number;
  readonly fingerprint: string;
  readonly summary: FileSummary;
  readonly skipped: ReadonlyArray<ReadonlyArray<Issue>>;
  readonly lengths: Readonly<Record<ColumnName, number>>;
}

/** A cheap content check: SHA-256 of the first and last 64 KiB (with the file's identity, the cache key). */
const probeFile = async (handle: FileHandle, size: number): Promise<string> => {
  const n = Math.min(size, 65536);
  const head = Buffer.alloc(n);
  const tail = Buffer.alloc(n);
  await handle.read(head, 0, n, 0);
  await handle.read(tail, 0, n, Math.max(0, size - n));
  return createHash('sha256').update(head).update(tail).digest('hex');
};

/** SHA-256 of everything an open file holds (read from the start; the handle stays open). */
const sha256Of = async (handle: FileHandle): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false, emitClose: false }) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
};

const cacheKey = (file: string, options: ResolvedOptions): string =>
  createHash('sha256')
    .update(`${resolve(file)}\u0000${options.knowledgeDistillation}\u0000${options.badRecords}\u0000${INDEX_VERSION}`)
    .digest('hex')
    .slice(0, 32);

type ResolvedOptions = Required<Pick<IndexOptions, 'knowledgeDistillation' | 'indexCacheDir' | 'badRecords' | 'changeDetection'>> &
  Pick<IndexOptions, 'report' | 'progress' | 'lock' | 'onRead'>;

/**
 * How often (in bytes read) {@link IndexOptions.onRead} is told: often enough for a progress line,
 * rarely enough to cost nothing.
 *
 * @category models
 */
export const READ_PROGRESS_BYTES = 8 * 1024 * 1024;

const resolveOptions = (options: IndexOptions): ResolvedOptions => ({
  ...options,
  knowledgeDistillation: options.knowledgeDistillation ?? false,
  indexCacheDir: options.indexCacheDir === undefined ? defaultIndexCacheDir() : options.indexCacheDir,
  badRecords: options.badRecords ?? 'fail',
  changeDetection: options.changeDetection ?? 'stat',
});

interface Built {
  readonly columns: IndexColumns;
  readonly summary: FileSummary;
  readonly fingerprint: string;
  readonly rawSha256: string;
  readonly skipped: Issue[][];
  readonly dataSize: number;
}

/** Builds an index in one pass over the file; `.gz` files are decompressed into `copy` on the way. */
const buildIndex = async (file: string, handle: FileHandle, options: ResolvedOptions, copy: AtomicFile | null): Promise<Built> => {
  const builder = new ColumnBuilder();
  const summary = fileSummary();
  const skipped: Issue[][] = [];
  const hash = createHash('sha256');
  const rawHash = file.endsWith('.gz') ? createHash('sha256') : null;
  let dataSize = 0;
  let read = 0;
  let told = 0;
  const onRaw = (raw: Buffer): void => {
    rawHash?.update(raw);
    read += raw.length;
    if (options.onRead !== undefined && read - told >= READ_PROGRESS_BYTES) {
      told = read;
      options.onRead(file, read);
    }
  };
  const bytes = (async function* () {
    for await (const chunk of taskFileBytes(file, { handle, onRaw })) {
      hash.update(chunk);
      dataSize += chunk.length;
      if (copy !== null) {
        try {
          await copy.handle.writeFile(chunk);
        } catch (e) {
          throw asFileError(copy.path, e, 'write');
        }
      }
      yield chunk;
    }
  })();
  let positives = 0;
  builder.push('posStart', 0);
  const bad = (issues: Issue[]): void => {
    if (options.badRecords === 'fail') throw new RecordError(issues as [Issue, ...Issue[]]);
    skipped.push(issues);
  };
  const spans = recordSpans(bytes)[Symbol.asyncIterator]();
  // The next record's text, its bytes let go (a record is never in memory three times over: bytes,
  // text and value), or a structure problem, or null at the end.
  type Place = { readonly start: number; readonly end: number; readonly line: number; readonly record: number };
  type Next = { readonly problem: SpanProblem } | { readonly span: Place; readonly parsed: E.Either<Issue, Located<unknown>> } | null;
  const nextText = async (): Promise<{ readonly problem: SpanProblem } | { readonly span: Place; readonly text: E.Either<Issue, string> } | null> => {
    const step = await spans.next();
    if (step.done === true) return null;
    const span = step.value;
    if (!('bytes' in span)) return { problem: span };
    return { span: { start: span.start, end: span.end, line: span.line, record: span.record }, text: spanText(file, span) };
  };
  const nextRecord = async (): Promise<Next> => {
    const item = await nextText();
    return item === null || 'problem' in item ? item : { span: item.span, parsed: parseText(file, item.span, item.text) };
  };
  for (let item = await nextRecord(); item !== null; item = await nextRecord()) {
    if ('problem' in item) {
      bad([{ file, line: item.problem.line, message: `malformed JSON array: ${item.problem.message}` }]);
      continue;
    }
    const { span, parsed } = item;
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
  const fingerprint = hash.digest('hex');
  return { columns: builder.finish(), summary: summary.summary(), fingerprint, rawSha256: rawHash?.digest('hex') ?? fingerprint, skipped, dataSize };
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
  const body = Buffer.concat([head, json, pad, ...parts]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
};

const padded = (bytes: number) => bytes + ((8 - (bytes % 8)) % 8);

const isHeader = (u: unknown): u is Header => {
  const h = u as Partial<Header> | null;
  return (
    h !== null &&
    typeof h === 'object' &&
    h.version === INDEX_VERSION &&
    typeof h.file === 'string' &&
    isIdentity(h.source) &&
    typeof h.probe === 'string' &&
    typeof h.rawSha256 === 'string' &&
    typeof h.fingerprint === 'string' &&
    Number.isSafeInteger(h.dataSize) &&
    (h.data === null || (typeof h.data === 'object' && typeof h.data?.name === 'string' && /^[0-9a-f]+\.[0-9a-f]+\.data$/.test(h.data.name) && isIdentity(h.data.identity))) &&
    typeof h.summary === 'object' &&
    h.summary !== null &&
    Array.isArray(h.skipped) &&
    typeof h.lengths === 'object' &&
    h.lengths !== null &&
    COLUMN_NAMES.every((n) => Number.isSafeInteger(h.lengths![n]) && h.lengths![n]! >= 0)
  );
};

/** The columns agree with each other and with the data they point into (cheap; catches what a checksum cannot: a bug, a hand-made file). */
const columnsProblem = (header: Header, c: IndexColumns): string | null => {
  const n = c.line.length;
  const okLength = (a: { length: number }, ...allowed: number[]) => allowed.includes(a.length);
  if (!okLength(c.start, n) || !okLength(c.length, n) || !okLength(c.negatives, n) || !okLength(c.record, 0, n) || !okLength(c.posStart, 0, n + 1)) return 'its columns have different lengths';
  if (!okLength(c.trainGroupSize, 0, n) || !okLength(c.batchSize, 0, n)) return 'its columns have different lengths';
  if (c.positiveLength.length !== (c.posStart.length === 0 ? n : c.posStart[n]!)) return 'its positives do not add up';
  if (header.summary.records !== n) return `its summary counts ${header.summary.records} records, its columns ${n}`;
  for (let i = 0; i < n; i++) {
    if (!(c.start[i]! >= 0 && c.start[i]! + c.length[i]! <= header.dataSize)) return `record ${i} points outside the data (${header.dataSize} bytes)`;
    if (c.posStart.length > 0 && !(c.posStart[i + 1]! > c.posStart[i]!)) return `record ${i} has no positive`;
  }
  return null;
};

const decodeIndex = (buffer: Buffer): { header: Header; columns: IndexColumns } | { problem: string } => {
  if (buffer.length < 8 + CHECKSUM_BYTES || buffer.toString('latin1', 0, 4) !== MAGIC) return { problem: 'it is not an index file (too short, or no LRDI mark)' };
  const length = buffer.readUInt32LE(4);
  if (8 + length + CHECKSUM_BYTES > buffer.length) return { problem: `it is truncated (${buffer.length} bytes, its header alone says ${8 + length})` };
  let header: unknown;
  try {
    header = JSON.parse(buffer.toString('utf8', 8, 8 + length));
  } catch {
    header = null;
  }
  const version = (header as { version?: unknown } | null)?.version;
  const body = buffer.subarray(0, buffer.length - CHECKSUM_BYTES);
  const sum = createHash('sha256').update(body).digest();
  if (!sum.equals(buffer.subarray(buffer.length - CHECKSUM_BYTES))) {
    return {
      problem:
        typeof version === 'number' && version !== INDEX_VERSION
          ? `it was written by another version of this library (index version ${version}, this one reads ${INDEX_VERSION})`
          : 'its checksum does not match its content (it was truncated, damaged or edited)',
    };
  }
  if (!isHeader(header)) return { problem: typeof version === 'number' && version !== INDEX_VERSION ? `it has index version ${version}, this library reads ${INDEX_VERSION}` : 'its header is not an index header' };
  let at = padded(8 + length);
  const expected = at + COLUMN_NAMES.reduce((n, name) => n + padded(header.lengths[name] * COLUMN_TYPES[name].BYTES_PER_ELEMENT), 0);
  if (expected !== body.length) return { problem: `its size (${body.length} bytes) does not match its header (${expected})` };
  const columns: Partial<Record<ColumnName, Column>> = {};
  for (const name of COLUMN_NAMES) {
    const Type = COLUMN_TYPES[name];
    const bytes = header.lengths[name] * Type.BYTES_PER_ELEMENT;
    // Copied out so the arrays are aligned and the big file buffer can be freed.
    const array = new Type(header.lengths[name]);
    new Uint8Array(array.buffer).set(buffer.subarray(at, at + bytes));
    columns[name] = array;
    at += padded(bytes);
  }
  const problem = columnsProblem(header, columns as unknown as IndexColumns);
  return problem === null ? { header, columns: columns as unknown as IndexColumns } : { problem };
};

/** Reads a whole cache file that must be this user's regular file (never through a link). */
const readOwnFile = async (path: string): Promise<{ buffer: Buffer } | { missing: true } | { problem: string }> => {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_NO_FOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true };
    return { problem: code === 'ELOOP' ? 'it is a symbolic link (cache entries never are)' : `it cannot be read (${(e as Error).message})` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { problem: `it is ${kindOf(info)}` };
    const owner = foreignOwner(info);
    if (owner !== null) return { problem: owner };
    return { buffer: await handle.readFile() };
  } finally {
    await handle.close();
  }
};

/** What the cache holds for a file. */
type CacheState =
  | { readonly kind: 'fresh'; readonly index: TaskFileIndex }
  | { readonly kind: 'missing' }
  /** Made for an earlier state of the file: rebuilt without a word (the `fileIndexed` event says so). */
  | { readonly kind: 'outdated'; readonly previousData: string | null }
  /** Unusable: rebuilt, and reported. */
  | { readonly kind: 'rejected'; readonly reason: string; readonly previousData: string | null };

/** Permission bits for what the cache keeps of a file: never more open than the file itself. */
const copyMode = (sourceMode: number): number => 0o600 | (sourceMode & 0o066);

/**
 * Indexes one task file, or reads its index from the cache when the file is unchanged.
 *
 * **Details**: every record is parsed and decoded once here (so a bad record fails now, before the
 * first batch, with file, line and field); the index keeps, per record, its byte span, line,
 * position in the file, positive lengths (code points), negative count, and `train_group_size` /
 * `batch_size`. A `.jsonl.gz` / `.json.gz` file is decompressed, once, into the cache folder, and
 * read from there by position.
 *
 * **The cache** (see {@link IndexOptions}): a private folder of this user. An index is used only if
 * its file is unchanged ({@link IndexOptions.changeDetection}), it is a regular file of this user,
 * its SHA-256 checksum matches, and its columns agree; a `.gz` file's decompressed copy only if it is
 * unchanged since it was made and its SHA-256 is the file's fingerprint (one read of the copy per
 * run). Anything else is rebuilt and reported (`cacheEntryRejected`), never a crash. Everything is
 * written under random exclusive temporary names (never following a link) and renamed into place,
 * with the task file's permissions or narrower, under a lock file with a heartbeat, so that ranks
 * starting together build each index once.
 *
 * **Gotchas**: a file that changes while it is indexed is a `FileError` (run again once it is
 * complete); one that changes after, while a run reads it, is an error at read time, not a silent
 * difference. A `chmod` of the file counts as a change.
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
  const handle = await openRegularFile(file);
  try {
    const info = await handle.stat({ bigint: true });
    const source = identityOf(info);
    const probe = await probeFile(handle, source.size);
    const cacheDir = options.indexCacheDir;
    if (cacheDir === null) return { index: await buildUncached(file, handle, options, Number(info.mode)), cached: false };
    await ensurePrivateDir(cacheDir, 'index_cache');
    const key = cacheKey(file, options);
    const indexFile = join(cacheDir, `${key}.index`);
    let rawSha256: Promise<string> | null = null;
    const contentHash = () => (rawSha256 ??= sha256Of(handle));

    const check = async (): Promise<CacheState> => {
      const read = await readOwnFile(indexFile);
      if ('missing' in read) return { kind: 'missing' };
      if ('problem' in read) return { kind: 'rejected', reason: read.problem, previousData: null };
      const decoded = decodeIndex(read.buffer);
      if ('problem' in decoded) return { kind: 'rejected', reason: decoded.problem, previousData: null };
      const { header, columns } = decoded;
      const previousData = header.data?.name ?? null;
      if (header.file !== resolve(file) || header.knowledgeDistillation !== options.knowledgeDistillation || header.badRecords !== options.badRecords) {
        return { kind: 'rejected', reason: 'it was made for another file or other settings', previousData };
      }
      if (identityChange(header.source, source) !== null || header.probe !== probe) return { kind: 'outdated', previousData };
      if (options.changeDetection === 'content' && (await contentHash()) !== header.rawSha256) {
        return { kind: 'rejected', reason: "the file's content changed although its size, times and inode did not (found by changeDetection: 'content')", previousData };
      }
      let dataFile = file;
      let dataIdentity = source;
      if (header.data !== null) {
        dataFile = join(cacheDir, header.data.name);
        const copy = await checkCopy(dataFile, header.data.identity, header.fingerprint);
        if (typeof copy === 'string') return { kind: 'rejected', reason: `its decompressed copy ${dataFile}: ${copy}`, previousData };
        dataIdentity = copy;
      }
      return {
        kind: 'fresh',
        index: { file, dataFile, dataIdentity, fingerprint: header.fingerprint, summary: header.summary, skipped: header.skipped, columns },
      };
    };

    const first = await check();
    if (first.kind === 'fresh') return { index: first.index, cached: true };
    const reject = (reason: string) => options.report?.add({ kind: 'cacheEntryRejected', file, cacheFile: indexFile, reason });
    let reported: string | null = null;
    if (first.kind === 'rejected') reject((reported = first.reason));

    const build = async (state: Exclude<CacheState, { kind: 'fresh' }>): Promise<TaskFileIndex> => {
      if (state.kind === 'rejected' && state.reason !== reported) reject(state.reason);
      const mode = copyMode(Number(info.mode));
      const dataName = file.endsWith('.gz') ? `${key}.${randomBytes(8).toString('hex')}.data` : null;
      const copy = dataName === null ? null : await openAtomic(join(cacheDir, dataName), { mode });
      const built = await buildChecked(file, handle, options, source, copy);
      let dataIdentity = source;
      if (copy !== null) {
        await copy.commit().catch((e: unknown) => Promise.reject(asFileError(copy.path, e, 'write')));
        // After the rename: on Linux a rename moves the status-change time.
        dataIdentity = identityOf(await stat(copy.path, { bigint: true }));
      }
      const header: Header = {
        version: INDEX_VERSION,
        file: resolve(file),
        source,
        probe,
        knowledgeDistillation: options.knowledgeDistillation,
        badRecords: options.badRecords,
        rawSha256: built.rawSha256,
        data: dataName === null ? null : { name: dataName, identity: dataIdentity },
        dataSize: built.dataSize,
        fingerprint: built.fingerprint,
        summary: built.summary,
        skipped: built.skipped,
        lengths: Object.fromEntries(COLUMN_NAMES.map((n) => [n, built.columns[n].length])) as Record<ColumnName, number>,
      };
      // Whatever was planted in the index's place (a folder, a FIFO) goes: a rename cannot replace it.
      if ((await lstat(indexFile).then((s) => !s.isFile() && !s.isSymbolicLink(), () => false)) === true) await rm(indexFile, { recursive: true, force: true });
      await atomicWriteFile(indexFile, encodeIndex(header, built.columns), { mode }).catch((e: unknown) => Promise.reject(asFileError(indexFile, e, 'write')));
      // The copy the replaced index pointed at is no longer anyone's (a run still reading it sees its FileError).
      if (state.kind !== 'missing' && state.previousData !== null && state.previousData !== dataName) await rm(join(cacheDir, state.previousData), { force: true });
      return { file, dataFile: copy?.path ?? file, dataIdentity, fingerprint: built.fingerprint, summary: built.summary, skipped: built.skipped, columns: built.columns };
    };

    let cached = false;
    const index = await withLock(
      join(cacheDir, `${key}.lock`),
      async () => {
        const state = await check();
        if (state.kind !== 'fresh') return null;
        cached = true;
        return state.index;
      },
      async () => {
        // Under the lock: another process may have built it while this one waited.
        const state = await check();
        if (state.kind === 'fresh') {
          cached = true;
          return state.index;
        }
        return build(state);
      },
      {
        ...options.lock,
        what: `indexing ${file}`,
        ...(options.progress === undefined ? {} : { progress: options.progress }),
        onWait: (wait) => {
          options.report?.add({
            kind: 'lockWaited',
            file,
            lock: wait.lock,
            holder: wait.holder === null ? null : { pid: wait.holder.pid, host: wait.holder.host },
            seconds: Math.round(wait.waitedMs / 100) / 10,
            outcome: wait.outcome,
            ...(wait.reason === undefined ? {} : { reason: wait.reason }),
          });
        },
      },
    );
    return { index, cached };
  } finally {
    await handle.close();
  }
};

/**
 * {@link buildIndex}, then a check that the file did not change while it was read (an index of a
 * file being written would describe neither the old nor the new file).
 */
const buildChecked = async (file: string, handle: FileHandle, options: ResolvedOptions, source: FileIdentity, copy: AtomicFile | null): Promise<Built> => {
  try {
    const built = await buildIndex(file, handle, options, copy);
    const now = await stat(file, { bigint: true }).then(identityOf, () => null);
    const change = now === null ? 'it was removed' : identityChange(source, now);
    if (change !== null) throw new FileError(file, `changed while it was being indexed (${change}); run again once it is complete`);
    return built;
  } catch (e) {
    await copy?.abort();
    throw e;
  }
};

/** A decompressed copy's identity if it is this user's, unchanged since it was made, and holds the data with this fingerprint; else what is wrong. */
const checkCopy = async (path: string, identity: FileIdentity, fingerprint: string): Promise<FileIdentity | string> => {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_NO_FOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'it is missing' : code === 'ELOOP' ? 'it is a symbolic link' : `it cannot be read (${(e as Error).message})`;
  }
  try {
    const info = await handle.stat({ bigint: true });
    if (!info.isFile()) return 'it is not a regular file';
    const owner = foreignOwner(info);
    if (owner !== null) return owner;
    const now = identityOf(info);
    const change = identityChange(identity, now);
    if (change !== null) return `it changed since it was made (${change})`;
    if ((await sha256Of(handle)) !== fingerprint) return 'its SHA-256 is not the fingerprint of the data it was made from';
    return now;
  } finally {
    await handle.close();
  }
};

/** Without a cache: the index in memory; a `.gz` file's copy in a private temporary folder removed at exit. */
const buildUncached = async (file: string, handle: FileHandle, options: ResolvedOptions, mode: number): Promise<TaskFileIndex> => {
  const source = identityOf(await handle.stat({ bigint: true }));
  if (!file.endsWith('.gz')) {
    const built = await buildChecked(file, handle, options, source, null);
    return { file, dataFile: file, dataIdentity: source, fingerprint: built.fingerprint, summary: built.summary, skipped: built.skipped, columns: built.columns };
  }
  const dataFile = join(await mkdtempFolder(), 'data');
  const copyHandle = await createExclusive(dataFile, copyMode(mode));
  const copy: AtomicFile = {
    path: dataFile,
    temporaryPath: dataFile,
    handle: copyHandle,
    commit: async () => {
      await copyHandle.close();
    },
    abort: async () => {
      await copyHandle.close().catch(() => undefined);
      await rm(dataFile, { force: true });
    },
  };
  const built = await buildChecked(file, handle, options, source, copy);
  await copy.commit();
  const dataIdentity = identityOf(await stat(dataFile, { bigint: true }));
  return { file, dataFile, dataIdentity, fingerprint: built.fingerprint, summary: built.summary, skipped: built.skipped, columns: built.columns };
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

/** A task file (or its decompressed copy) that is not what its index describes any more. */
const changedSinceIndexed = (dataFile: string, file: string, change: string): FileError =>
  new FileError(dataFile, `changed since it was indexed (${change})${dataFile === file ? '' : `; it is the decompressed copy of ${file}`}; run again to index it again`);

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
    const failed = (e: unknown) => Promise.reject(asFileError(dataFile, e));
    // fs's callback functions, not a FileHandle: they cost the main thread less per read, and a batch
    // reads each of its records on its own.
    const fd = await new Promise<number>((done, fail) => openFd(dataFile, 'r', (e, fd) => (e ? fail(e) : done(fd)))).catch(failed);
    // The file's identity now: changed, or null. Checked before the reads, and again when a record
    // does not read back, since a write can land between the two (the error is then the same).
    const changed = async (): Promise<FileError | null> => {
      const now = await new Promise<BigIntStats>((done, fail) => fstatFd(fd, { bigint: true }, (e, stats) => (e ? fail(e) : done(stats)))).catch(failed);
      const change = identityChange(this.index.dataIdentity, identityOf(now));
      return change === null ? null : changedSinceIndexed(dataFile, file, change);
    };
    try {
      const before = await changed();
      if (before !== null) throw before;
      return await Promise.all(
        positions.map(async (position): Promise<Located<Example>> => {
          const start = columns.start[position]!;
          const length = columns.length[position]!;
          const at = { file, line: columns.line[position]!, record: recordOf(columns, position) };
          // The bytes live only in here: the parse below runs with the text alone.
          const textAt = async () => {
            const bytes = Buffer.allocUnsafe(length);
            const bytesRead = await new Promise<number>((done, fail) => readFd(fd, bytes, 0, length, start, (e, n) => (e ? fail(e) : done(n)))).catch(failed);
            return bytesRead === length ? spanText(file, { ...at, start, end: start + length, bytes }) : null;
          };
          const text = await textAt();
          const parsed = text === null ? null : parseText(file, at, text);
          const decoded = parsed !== null && E.isRight(parsed) ? decodeExample(parsed.right.value, at, this.options) : null;
          if (decoded === null || E.isLeft(decoded)) {
            throw (await changed()) ?? changedSinceIndexed(dataFile, file, `line ${at.line} no longer reads as the record indexed there`);
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

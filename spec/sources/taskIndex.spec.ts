/**
 * taskIndex: a task file's index equals what the in-memory path (fromJsonl + decodeExample +
 * memoryStore) knows of the same records; read(positions) returns exactly those records; the
 * on-disk cache survives restarts, is rebuilt when the file changes (also a same-size edit with its
 * modification time set back), keeps settings apart, is shared safely by concurrent processes, and recovers from a
 * stale lock. Bad records fail (nothing cached) or are skipped and listed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { FileError, RecordError } from '../../lib/core/errors.js';
import type { Example, FileSummary, Located, RecordStore } from '../../lib/core/model.js';
import { memoryStore } from '../../lib/core/store.js';
import { fileSummary } from '../../lib/plan/fileSummary.js';
import { decodeExample } from '../../lib/schema/record.js';
import { fromJsonl } from '../../lib/sources/jsonl.js';
import { indexedStore, loadTaskFileIndex, READ_PROGRESS_BYTES, type IndexOptions, type TaskFileIndex } from '../../lib/sources/taskIndex.js';
import { fileSpec, TYPES } from '../arbitraries/corpus.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { jsonl, record } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TASK_INDEX = join(ROOT, 'lib/sources/taskIndex.ts');

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'llm-retriever-data-index-'));

/** A record in the file format (snake_case keys). */
const rawOf = (e: Example): Record<string, unknown> => ({
  query: e.query,
  pos: e.pos,
  neg: e.neg,
  ...(e.posScores === undefined ? {} : { pos_scores: e.posScores }),
  ...(e.negScores === undefined ? {} : { neg_scores: e.negScores }),
  ...(e.prompt === undefined ? {} : { prompt: e.prompt }),
  ...(e.type === undefined ? {} : { type: e.type }),
  ...(e.category === undefined ? {} : { category: e.category }),
  ...(e.trainGroupSize === undefined ? {} : { train_group_size: e.trainGroupSize }),
  ...(e.batchSize === undefined ? {} : { batch_size: e.batchSize }),
});

/** A task file: random valid records of one type (or none), as JSON Lines or one (maybe pretty) array, maybe gzipped. */
const fileCase = fc.record({
  records: fc
    .constantFrom(...TYPES, undefined)
    .chain((type) => fileSpec(type, type !== undefined, true, 20))
    .chain((spec) =>
      fc
        .array(fc.record({ trainGroupSize: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }), batchSize: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }) }), {
          minLength: spec.records.length,
          maxLength: spec.records.length,
        })
        .map((extras) => spec.records.map((r, i): Example => ({ ...r, ...extras[i]! }))),
    ),
  format: fc.constantFrom('jsonl', 'json', 'pretty'),
  gz: fc.boolean(),
  knowledgeDistillation: fc.boolean(),
});
type FileCase = typeof fileCase extends fc.Arbitrary<infer C> ? C : never;

const textOf = (records: ReadonlyArray<unknown>, format: FileCase['format']): string =>
  format === 'jsonl' ? jsonl(...records) : format === 'json' ? JSON.stringify(records) : `${JSON.stringify(records, null, 2)}\n`;

/** Writes the case's file in a fresh folder; returns its path. */
const writeCase = (c: FileCase, dir = tempDir()): string => {
  const name = `task.${c.format === 'jsonl' ? 'jsonl' : 'json'}${c.gz ? '.gz' : ''}`;
  const text = textOf(c.records.map(rawOf), c.format);
  const file = join(dir, name);
  writeFileSync(file, c.gz ? gzipSync(Buffer.from(text)) : text);
  return file;
};

/** The in-memory path's view of a file: fromJsonl + decodeExample, in a memoryStore, with the file's summary. */
const model = async (file: string, knowledgeDistillation: boolean): Promise<{ store: RecordStore; summary: FileSummary; records: Located<Example>[] }> => {
  const records: Located<Example>[] = [];
  for await (const read of fromJsonl(file)) {
    if (E.isLeft(read)) throw new Error(`model: ${read.left.message}`);
    const { value, ...at } = read.right;
    const decoded = decodeExample(value, at, { knowledgeDistillation });
    if (E.isLeft(decoded)) throw new Error(`model: ${decoded.left[0].message}`);
    records.push({ ...at, value: decoded.right });
  }
  const summary = fileSummary();
  for (const r of records) assert.equal(summary.add(r), undefined);
  return { store: memoryStore(records), summary: summary.summary(), records };
};

/**
 * Plain data: a summary read back from the cache went through JSON, so an absent `type` is a
 * missing key there and `undefined` in a fresh one. Both mean the same.
 */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x)) as unknown;

const sameIndex = (a: TaskFileIndex, b: TaskFileIndex): boolean =>
  a.file === b.file &&
  a.dataFile === b.dataFile &&
  a.fingerprint === b.fingerprint &&
  isDeepStrictEqual(plain(a.summary), plain(b.summary)) &&
  isDeepStrictEqual(plain(a.skipped), plain(b.skipped)) &&
  isDeepStrictEqual(a.columns, b.columns);

/** Index and model agree: size, every record's meta, the summary. */
const agrees = (store: RecordStore, index: TaskFileIndex, m: { store: RecordStore; summary: FileSummary }): boolean =>
  store.size === m.store.size &&
  index.columns.line.length === m.store.size &&
  Array.from({ length: m.store.size }, (_, i) => i).every((i) => isDeepStrictEqual(store.meta(i), m.store.meta(i))) &&
  isDeepStrictEqual(plain(index.summary), plain(m.summary)) &&
  index.skipped.length === 0;

const load = (file: string, options: IndexOptions) => loadTaskFileIndex(file, options);
const all = (n: number) => Array.from({ length: n }, (_, i) => i);
const cacheFiles = (dir: string) => readdirSync(dir).sort();

/** Sets a file's times to a whole second, so that they can be restored exactly later. */
const pinMtime = (file: string, seconds = 1_700_000_000) => utimesSync(file, seconds, seconds);

// ------------------------------------------------------------------------------------------------

describe(`taskIndex: the index is the in-memory path's view of the file (FC_SEED=${FC_SEED})`, () => {
  it('meta of every record, summary and size equal memoryStore over fromJsonl + decodeExample (JSONL and arrays, plain and gzipped, both knowledge_distillation settings)', async () => {
    await fc.assert(
      fc.asyncProperty(fileCase, async (c) => {
        const file = writeCase(c);
        const { index, cached } = await load(file, { indexCacheDir: tempDir(), knowledgeDistillation: c.knowledgeDistillation });
        const m = await model(file, c.knowledgeDistillation);
        return !cached && m.store.size === c.records.length && agrees(indexedStore(index, c), index, m);
      }),
      fcParams({ numRuns: 60 }),
    );
  });

  it('read(positions) returns exactly the records at those positions (any positions, any order, repeats), also from a cached index', async () => {
    await fc.assert(
      fc.asyncProperty(fileCase, fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), async (c, raw) => {
        const file = writeCase(c);
        const cacheDir = tempDir();
        const m = await model(file, c.knowledgeDistillation);
        const positions = raw.map((p) => p % m.records.length);
        const expected = positions.map((p) => m.records[p]!);
        const fresh = await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: c.knowledgeDistillation });
        const again = await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: c.knowledgeDistillation });
        return (
          again.cached &&
          isDeepStrictEqual(await indexedStore(fresh.index, c).read(positions), expected) &&
          isDeepStrictEqual(await indexedStore(again.index, c).read(positions), expected)
        );
      }),
      fcParams({ numRuns: 40 }),
    );
  });

  it('survives a restart: a second load from the same cache folder is cached and equals the first', async () => {
    await fc.assert(
      fc.asyncProperty(fileCase, async (c) => {
        const file = writeCase(c);
        const cacheDir = tempDir();
        const first = await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: c.knowledgeDistillation });
        const second = await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: c.knowledgeDistillation });
        return !first.cached && second.cached && sameIndex(first.index, second.index);
      }),
      fcParams({ numRuns: 40 }),
    );
  });

  it('without a cache (indexCacheDir: null) it works the same, for plain and gzipped files, and is never cached', async () => {
    await fc.assert(
      fc.asyncProperty(fileCase, async (c) => {
        const file = writeCase(c);
        const first = await load(file, { indexCacheDir: null, knowledgeDistillation: c.knowledgeDistillation });
        const second = await load(file, { indexCacheDir: null, knowledgeDistillation: c.knowledgeDistillation });
        const m = await model(file, c.knowledgeDistillation);
        const store = indexedStore(second.index, c);
        return (
          !first.cached &&
          !second.cached &&
          first.index.fingerprint === second.index.fingerprint &&
          agrees(store, second.index, m) &&
          isDeepStrictEqual(await store.read(all(store.size)), m.records)
        );
      }),
      fcParams({ numRuns: 20 }),
    );
  });

  it('the fingerprint is the SHA-256 of the (decompressed) bytes, the same for a file and its gzipped copy', async () => {
    const dir = tempDir();
    const text = jsonl(record(0), record(1));
    writeFileSync(join(dir, 'a.jsonl'), text);
    writeFileSync(join(dir, 'a.jsonl.gz'), gzipSync(text));
    const plainIndex = await load(join(dir, 'a.jsonl'), { indexCacheDir: tempDir() });
    const gzIndex = await load(join(dir, 'a.jsonl.gz'), { indexCacheDir: tempDir() });
    assert.equal(plainIndex.index.fingerprint, gzIndex.index.fingerprint);
    assert.equal(plainIndex.index.dataFile, join(dir, 'a.jsonl'));
    assert.notEqual(gzIndex.index.dataFile, join(dir, 'a.jsonl.gz'), 'a .gz file is read from its decompressed copy');
    assert.equal(readFileSync(gzIndex.index.dataFile, 'utf8'), text);
  });
});

describe('taskIndex: the cache is rebuilt when the file changes', () => {
  const setup = (records = 6) => {
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, jsonl(...all(records).map((i) => record(i))));
    pinMtime(file);
    return { file, cacheDir: tempDir() };
  };

  it('content appended: rebuilt, with the new record', async () => {
    const { file, cacheDir } = setup();
    const first = await load(file, { indexCacheDir: cacheDir });
    appendFileSync(file, jsonl(record(99)));
    const second = await load(file, { indexCacheDir: cacheDir });
    assert.equal(second.cached, false);
    assert.notEqual(second.index.fingerprint, first.index.fingerprint);
    assert.equal(second.index.columns.line.length, 7);
    assert.equal((await indexedStore(second.index).read([6]))[0]!.value.query, 'query 99');
  });

  it('only the modification time changed: rebuilt (same content, same fingerprint)', async () => {
    const { file, cacheDir } = setup();
    const first = await load(file, { indexCacheDir: cacheDir });
    utimesSync(file, 1_700_000_100, 1_700_000_100);
    const second = await load(file, { indexCacheDir: cacheDir });
    assert.equal(second.cached, false);
    assert.equal(second.index.fingerprint, first.index.fingerprint);
    assert.equal((await load(file, { indexCacheDir: cacheDir })).cached, true);
  });

  it('a byte changed in the middle, same size, modification time restored: a small file (under 64 KiB) is rebuilt, because the head/tail probe covers all of it', async () => {
    const { file, cacheDir } = setup();
    const first = await load(file, { indexCacheDir: cacheDir });
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('query 3', 'query 8'));
    pinMtime(file);
    const second = await load(file, { indexCacheDir: cacheDir });
    assert.equal(second.cached, false);
    assert.notEqual(second.index.fingerprint, first.index.fingerprint);
    assert.equal((await indexedStore(second.index).read([3]))[0]!.value.query, 'query 8');
  });

  it('a same-size change in the middle of a file over 128 KiB, modification time restored (beyond the 64 KiB head/tail probe): rebuilt, because the status-change time moved', async () => {
    // The probe alone would miss it (it used to be served stale, with the old fingerprint); the
    // file's ctime cannot be set back by its owner, and it is part of the cache key.
    const { file, cacheDir } = setup(3000);
    const size = readFileSync(file).length;
    assert.ok(size > 2 * 65536, `file is ${size} bytes`);
    const first = await load(file, { indexCacheDir: cacheDir });
    const text = readFileSync(file, 'utf8');
    const middle = text.indexOf('"query 1500"');
    assert.ok(middle > 65536 && middle < size - 65536);
    writeFileSync(file, text.replace('"query 1500"', '"query 1600"'));
    pinMtime(file);
    const second = await load(file, { indexCacheDir: cacheDir });
    assert.equal(second.cached, false);
    assert.notEqual(second.index.fingerprint, first.index.fingerprint);
    assert.equal((await indexedStore(second.index).read([1500]))[0]!.value.query, 'query 1600');
  });

  it('a decompressed copy that went missing is rebuilt', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.jsonl.gz');
    writeFileSync(file, gzipSync(jsonl(record(0), record(1))));
    const cacheDir = tempDir();
    const first = await load(file, { indexCacheDir: cacheDir });
    rmSync(first.index.dataFile);
    const second = await load(file, { indexCacheDir: cacheDir });
    assert.equal(second.cached, false);
    assert.deepEqual((await indexedStore(second.index).read([1]))[0]!.value.query, 'query 1');
  });

  it('a file changed after indexing is an error at read time, not a silent difference (the documented gotcha)', async () => {
    // indexTaskFile's Gotchas: "A file that changes while a run reads it is an error at read time,
    // not a silent difference." A same-size edit (mtime not restored) after the store was made:
    const { file, cacheDir } = setup();
    const store = indexedStore((await load(file, { indexCacheDir: cacheDir })).index);
    writeFileSync(file, readFileSync(file, 'utf8').replace('query 3', 'query 8'));
    await assert.rejects(
      store.read([3]).then((rs) => rs.map((r) => r.value.query)),
      (e: unknown) => e instanceof FileError && e.path === file && /changed since it was indexed/.test(e.message),
      'the record at position 3 now reads "query 8" instead of "query 3"',
    );
  });
});

describe('taskIndex: onRead, progress within one big file', () => {
  it(`is told the bytes read so far every ${READ_PROGRESS_BYTES / 2 ** 20} MiB while a file is indexed (as stored, for .gz too), and not for a cached index`, async () => {
    const dir = tempDir();
    const file = join(dir, 'big.jsonl');
    const filler = 'x'.repeat(4000);
    writeFileSync(file, jsonl(...Array.from({ length: 6000 }, (_, i) => record(i, { query: `query ${i} ${filler}` }))));
    const size = readFileSync(file).length;
    const gz = join(dir, 'big.jsonl.gz');
    writeFileSync(gz, gzipSync(readFileSync(file), { level: 0 }));
    const gzSize = readFileSync(gz).length;
    for (const [path, stored] of [[file, size], [gz, gzSize]] as const) {
      const cacheDir = tempDir();
      const told: number[] = [];
      const onRead = (f: string, bytes: number) => {
        assert.equal(f, path);
        told.push(bytes);
      };
      assert.equal((await load(path, { indexCacheDir: cacheDir, onRead })).cached, false);
      assert.equal(told.length, Math.floor(stored / READ_PROGRESS_BYTES), `${path}: ${told.join(', ')} of ${stored}`);
      told.forEach((bytes, i) => {
        assert.ok(bytes >= (i + 1) * READ_PROGRESS_BYTES && bytes < (i + 1) * READ_PROGRESS_BYTES + 2 ** 20, `${bytes}`);
      });
      told.length = 0;
      assert.equal((await load(path, { indexCacheDir: cacheDir, onRead })).cached, true);
      assert.deepEqual(told, []);
    }
  });
});

describe('taskIndex: settings and bad records', () => {
  it('a different knowledge_distillation setting uses another cache entry; each is then cached', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, jsonl(record(0, { pos_scores: [1], neg_scores: [1, 2, 3] }), record(1, { pos_scores: [2], neg_scores: [3, 2, 1] })));
    const cacheDir = tempDir();
    assert.equal((await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: false })).cached, false);
    const kd = await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: true });
    assert.equal(kd.cached, false);
    assert.equal(kd.index.summary.scored, true);
    assert.equal(cacheFiles(cacheDir).filter((f) => f.endsWith('.index')).length, 2);
    assert.equal((await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: false })).cached, true);
    const kdAgain = await load(file, { indexCacheDir: cacheDir, knowledgeDistillation: true });
    assert.equal(kdAgain.cached, true);
    assert.deepEqual((await indexedStore(kdAgain.index, { knowledgeDistillation: true }).read([1]))[0]!.value.posScores, [2]);
  });

  it("badRecords: 'skip' leaves bad records out and lists their issues, located", async () => {
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, [JSON.stringify(record(0)), '{oops', JSON.stringify({ ...record(2), neg: 'x' }), JSON.stringify(record(3)), ''].join('\n'));
    const { index } = await load(file, { indexCacheDir: tempDir(), badRecords: 'skip' });
    const store = indexedStore(index);
    assert.equal(store.size, 2);
    assert.deepEqual(
      (await store.read([0, 1])).map((r) => [r.line, r.record, r.value.query]),
      [
        [1, 0, 'query 0'],
        [4, 3, 'query 3'],
      ],
    );
    assert.equal(index.skipped.length, 2);
    assert.deepEqual(
      index.skipped.map((issues) => issues.map((i) => [i.file, i.line, i.field])),
      [[[file, 2, undefined]], [[file, 3, 'neg']]],
    );
    assert.match(index.skipped[0]![0]!.message, /malformed JSON/);
  });

  it("badRecords: 'skip': a skipped record does not count in the file's summary (it is as if it were not in the file)", async () => {
    // An untyped file whose records set train_group_size, with one record typed "normal": that record
    // breaks the file's one-type rule and is skipped. The kept records have no type, so the file has
    // no type column; with one, groupSizeOf would ignore train_group_size for every batch.
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, jsonl(record(0, { train_group_size: 4 }), record(1, { train_group_size: 4, type: 'normal' }), record(2, { train_group_size: 4 })));
    const { index } = await load(file, { indexCacheDir: tempDir(), badRecords: 'skip' });
    assert.equal(index.skipped.length, 1);
    assert.equal(index.skipped[0]![0]!.field, 'type');
    const m = fileSummary();
    for (const [i, r] of (await indexedStore(index).read([0, 1])).entries()) assert.equal(m.add({ ...r, record: i }), undefined);
    assert.deepEqual(plain(index.summary), plain(m.summary()));
  });

  it("badRecords: 'fail' throws a RecordError with file, line and field, and caches nothing", async () => {
    for (const gz of [false, true]) {
      const dir = tempDir();
      const file = join(dir, gz ? 'a.jsonl.gz' : 'a.jsonl');
      const text = jsonl(record(0), record(1), { ...record(2), neg: 'x' }, record(3));
      writeFileSync(file, gz ? gzipSync(text) : text);
      const cacheDir = tempDir();
      await assert.rejects(load(file, { indexCacheDir: cacheDir, badRecords: 'fail' }), (e: unknown) => {
        assert.ok(e instanceof RecordError);
        assert.equal(e.file, file);
        assert.equal(e.line, 3);
        assert.equal(e.field, 'neg');
        return true;
      });
      assert.deepEqual(cacheFiles(cacheDir), [], `cache folder after a failed ${gz ? '.gz ' : ''}index`);
    }
  });
});

describe('taskIndex: concurrent indexing and locks', () => {
  /** A JSONL file of `n` records (about 100 bytes each). */
  const bigFile = (n: number): string => {
    const dir = tempDir();
    const file = join(dir, 'big.jsonl');
    writeFileSync(file, jsonl(...all(n).map((i) => record(i))));
    return file;
  };

  const child = (args: ReadonlyArray<string>): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', pathToFileURL(join(ROOT, 'lib', 'cli', 'register.mjs')).href, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('two processes indexing the same file at once both succeed with the same fingerprint; it is built once; one index file, no lock or temporary file left', { timeout: 60_000 }, async () => {
    const file = bigFile(20_000);
    const cacheDir = tempDir();
    const script = join(tempDir(), 'index.mjs');
    writeFileSync(
      script,
      [
        `import { loadTaskFileIndex } from ${JSON.stringify(pathToFileURL(TASK_INDEX).href)};`,
        'const [file, cacheDir] = process.argv.slice(2);',
        'const { index, cached } = await loadTaskFileIndex(file, { indexCacheDir: cacheDir });',
        'process.stdout.write(JSON.stringify({ fingerprint: index.fingerprint, cached, size: index.columns.line.length }));',
      ].join('\n'),
    );
    const runs = await Promise.all([child([script, file, cacheDir]), child([script, file, cacheDir])]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const outs = runs.map((r) => JSON.parse(r.stdout) as { fingerprint: string; cached: boolean; size: number });
    assert.equal(outs[0]!.fingerprint, outs[1]!.fingerprint);
    assert.deepEqual(
      outs.map((o) => o.size),
      [20_000, 20_000],
    );
    assert.equal(outs.filter((o) => !o.cached).length, 1, `built once: ${JSON.stringify(outs)}`);
    const files = cacheFiles(cacheDir);
    assert.equal(files.filter((f) => f.endsWith('.index')).length, 1, files.join(', '));
    assert.deepEqual(
      files.filter((f) => !f.endsWith('.index')),
      [],
    );
    const mine = await load(file, { indexCacheDir: cacheDir });
    assert.equal(mine.cached, true);
    assert.equal(mine.index.fingerprint, outs[0]!.fingerprint);
  });

  it('two loads of the same file at once in one process both succeed; built once', { timeout: 20_000 }, async () => {
    const file = bigFile(2000);
    const cacheDir = tempDir();
    const [a, b] = await Promise.all([load(file, { indexCacheDir: cacheDir }), load(file, { indexCacheDir: cacheDir })]);
    assert.equal(a.index.fingerprint, b.index.fingerprint);
    assert.equal([a, b].filter((x) => !x.cached).length, 1);
    assert.deepEqual(
      cacheFiles(cacheDir).filter((f) => !f.endsWith('.index')),
      [],
    );
  });

  /** The cache file names of `file`'s index (learned by building it once, then removed). */
  const keyOf = async (file: string, cacheDir: string): Promise<string> => {
    await load(file, { indexCacheDir: cacheDir });
    const [indexFile] = cacheFiles(cacheDir).filter((f) => f.endsWith('.index'));
    rmSync(join(cacheDir, indexFile!));
    return indexFile!.replace(/\.index$/, '');
  };

  /** The pid of a process that has exited. */
  const deadPid = async (): Promise<number> => {
    const p = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((r) => p.on('close', r));
    return p.pid!;
  };

  it('a stale lock file naming a dead process is taken over (and removed)', { timeout: 20_000 }, async () => {
    const file = bigFile(50);
    const cacheDir = tempDir();
    const key = await keyOf(file, cacheDir);
    writeFileSync(join(cacheDir, `${key}.lock`), `${await deadPid()}\n`);
    const { cached, index } = await load(file, { indexCacheDir: cacheDir });
    assert.equal(cached, false);
    assert.equal(index.columns.line.length, 50);
    assert.deepEqual(cacheFiles(cacheDir), [`${key}.index`]);
  });

  it('a lock file with no pid in it (its process died between creating and writing it) is taken over too', { timeout: 20_000 }, async () => {
    // writeFile(lock, pid, { flag: 'wx' }) creates the file, then writes: a process killed in
    // between leaves an empty lock, which names no live process. It must not block every later run.
    const file = bigFile(50);
    const cacheDir = tempDir();
    const key = await keyOf(file, cacheDir);
    const lock = join(cacheDir, `${key}.lock`);
    writeFileSync(lock, '');
    let settled = false;
    const loading = load(file, { indexCacheDir: cacheDir }).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 4000));
    const tookOver = settled;
    // Release it by hand either way, so that a failure here does not leave a loop polling forever.
    rmSync(lock, { force: true });
    await loading;
    assert.equal(tookOver, true, 'still waiting after 4 s on an empty lock file (abandoned after 2 s empty; a dead-pid lock is taken over at once)');
  });

  it('a lock held by a live process is waited for, and taken over once that process is gone', { timeout: 20_000 }, async () => {
    const file = bigFile(50);
    const cacheDir = tempDir();
    const key = await keyOf(file, cacheDir);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const exited = new Promise((r) => holder.on('close', r));
    writeFileSync(join(cacheDir, `${key}.lock`), `${holder.pid}\n`);
    let settled = false;
    const loading = load(file, { indexCacheDir: cacheDir }).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(settled, false, 'waits while the holder lives');
    holder.kill();
    await exited;
    const { cached } = await loading;
    assert.equal(cached, false);
    assert.deepEqual(cacheFiles(cacheDir), [`${key}.index`]);
  });
});

/**
 * Fault injection on the index cache: corrupted, truncated and planted cache entries (each rebuilt
 * and reported, never a crash, never served), kill -9 during an index build, concurrent builders,
 * files changed between runs and while a run reads them, permissions of what the cache keeps, and
 * planted links at the names an older version wrote through.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { FileError } from '../../lib/core/errors.js';
import { collectReport, type ReportEvent } from '../../lib/core/report.js';
import { flagEmbeddingBatches } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { indexedStore, loadTaskFileIndex, type IndexOptions, type TaskFileIndex } from '../../lib/sources/taskIndex.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { jsonl, record } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'lib/cli/bin.mjs');
const isRoot = process.getuid?.() === 0;
const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-faults-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON Lines of `n` records made by `f` (joined in a loop: spreading 10^5 arguments overflows the stack). */
const manyLines = (n: number, f: (i: number) => unknown = (i) => record(i)): string => {
  let text = '';
  for (let i = 0; i < n; i++) text += `${JSON.stringify(f(i))}\n`;
  return text;
};

/** A task file of `n` records (plain or gzipped) in a fresh folder. */
const taskFile = (n: number, gz = false, name = gz ? 'a.jsonl.gz' : 'a.jsonl'): string => {
  const file = join(tempDir(), name);
  const text = jsonl(...Array.from({ length: n }, (_, i) => record(i)));
  writeFileSync(file, gz ? gzipSync(text) : text);
  return file;
};

const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x)) as unknown;
/** Two indexes describe the same records. */
const sameRecords = (a: TaskFileIndex, b: TaskFileIndex) =>
  a.fingerprint === b.fingerprint && isDeepStrictEqual(plain(a.summary), plain(b.summary)) && isDeepStrictEqual(a.columns, b.columns);

const load = (file: string, cacheDir: string, extra: IndexOptions = {}) => {
  const report = collectReport();
  return loadTaskFileIndex(file, { indexCacheDir: cacheDir, report, ...extra }).then((r) => ({ ...r, events: report.events }));
};
const only = (dir: string, suffix: string) => {
  const names = readdirSync(dir).filter((n) => n.endsWith(suffix));
  assert.equal(names.length, 1, `one ${suffix} in ${dir}: ${readdirSync(dir).join(', ')}`);
  return join(dir, names[0]!);
};
const rejections = (events: ReadonlyArray<ReportEvent>) => events.flatMap((e) => (e.kind === 'cacheEntryRejected' ? [e.reason] : []));

/** The index file format (lib/sources/taskIndex.ts): "LRDI", u32 header length, header JSON, padding, columns, SHA-256 of all before. */
const withChecksum = (body: Buffer) => Buffer.concat([body, createHash('sha256').update(body).digest()]);
const headerOf = (buffer: Buffer) => JSON.parse(buffer.toString('utf8', 8, 8 + buffer.readUInt32LE(4))) as Record<string, unknown>;
/** The index with its header changed by `f` (same length, so that the columns stay where they are), checksum recomputed. */
const rewriteHeader = (path: string, f: (header: string) => string) => {
  const buffer = readFileSync(path);
  const length = buffer.readUInt32LE(4);
  const header = f(buffer.toString('utf8', 8, 8 + length));
  assert.equal(Buffer.byteLength(header), length);
  const body = Buffer.concat([buffer.subarray(0, 8), Buffer.from(header), buffer.subarray(8 + length, buffer.length - 32)]);
  writeFileSync(path, withChecksum(body));
};

describe('cache faults: a bad entry is rebuilt and reported, never served, never a crash', () => {
  const corruptions: ReadonlyArray<readonly [string, (index: string) => void, RegExp]> = [
    [
      'a byte of the header changed',
      (p) => {
        const b = readFileSync(p);
        b[20] = b[20]! ^ 1;
        writeFileSync(p, b);
      },
      /checksum does not match|not an index header/,
    ],
    [
      'a byte of the columns changed',
      (p) => {
        const b = readFileSync(p);
        b[b.length - 40] = b[b.length - 40]! ^ 0x80;
        writeFileSync(p, b);
      },
      /checksum does not match/,
    ],
    ['truncated to half', (p) => truncateSync(p, Math.floor(statSync(p).size / 2)), /truncated|checksum/],
    ['truncated to 3 bytes', (p) => truncateSync(p, 3), /not an index file/],
    ['emptied', (p) => truncateSync(p, 0), /not an index file/],
    ['replaced by random bytes', (p) => writeFileSync(p, Buffer.from(Array.from({ length: statSync(p).size }, (_, i) => (i * 7919) % 256))), /not an index file/],
    [
      'a header that parses, a valid checksum, columns pointing outside the data (a hand-made or buggy file)',
      (p) => rewriteHeader(p, (h) => h.replace(/"dataSize":(\d+)/, (_m, n: string) => `"dataSize":${'1'.padEnd(n.length, '0')}`)),
      /points outside the data/,
    ],
    [
      'written by an older version (index version 2: no checksum)',
      (p) => {
        const b = readFileSync(p);
        const body = b.subarray(0, b.length - 32);
        const h = body.toString('utf8', 8, 8 + body.readUInt32LE(4)).replace('"version":3', '"version":2');
        writeFileSync(p, Buffer.concat([body.subarray(0, 8), Buffer.from(h), body.subarray(8 + h.length)]));
      },
      /another version of this library \(index version 2/,
    ],
    [
      'a symbolic link planted as the index (to a valid index of another file)',
      (p) => {
        const other = tempDir();
        const otherFile = taskFile(5);
        execFileSync(process.execPath, ['--import', join(ROOT, 'lib/cli/register.mjs'), '-e', `import('${join(ROOT, 'lib/sources/taskIndex.ts')}').then((m) => m.loadTaskFileIndex(${JSON.stringify(otherFile)}, { indexCacheDir: ${JSON.stringify(other)} }))`]);
        rmSync(p);
        symlinkSync(only(other, '.index'), p);
      },
      /symbolic link/,
    ],
    [
      'a FIFO planted as the index (reading it must not wait for a writer)',
      (p) => {
        rmSync(p);
        execFileSync('mkfifo', [p]);
      },
      /FIFO/,
    ],
    [
      'a folder planted as the index',
      (p) => {
        rmSync(p);
        mkdirSync(join(p, 'inside'), { recursive: true });
      },
      /a folder/,
    ],
  ];

  for (const [what, corrupt, reason] of corruptions) {
    it(`${what}: rebuilt, the same records as a fresh build, one cacheEntryRejected event (${reason.source}); then cached again`, { timeout: 30_000 }, async () => {
      const file = taskFile(40);
      const cacheDir = tempDir();
      const first = await load(file, cacheDir);
      corrupt(only(cacheDir, '.index'));
      const second = await load(file, cacheDir);
      assert.equal(second.cached, false);
      assert.ok(sameRecords(first.index, second.index));
      assert.deepEqual((await indexedStore(second.index).read([39]))[0]!.value.query, 'query 39');
      const reasons = rejections(second.events);
      assert.equal(reasons.length, 1, JSON.stringify(second.events));
      assert.match(reasons[0]!, reason);
      const third = await load(file, cacheDir);
      assert.equal(third.cached, true);
      assert.deepEqual(rejections(third.events), []);
    });
  }

  it('an index owned by another user is not read: rebuilt and reported', isRoot ? {} : { skip: 'skipped: needs root to give a file to another user' }, async () => {
    const file = taskFile(10);
    const cacheDir = tempDir();
    await load(file, cacheDir);
    chownSync(only(cacheDir, '.index'), 12345, 12345);
    const second = await load(file, cacheDir);
    assert.equal(second.cached, false);
    assert.match(rejections(second.events)[0]!, /owned by user id 12345/);
    assert.equal(statSync(only(cacheDir, '.index')).uid, 0, 'replaced by one of ours');
  });

  const copyFaults: ReadonlyArray<readonly [string, (copy: string) => void, RegExp]> = [
    [
      'edited, same size, modification time set back (it used to be served as it was)',
      (p) => {
        const { mtime } = statSync(p);
        writeFileSync(p, readFileSync(p, 'utf8').replace('query 3', 'query 8'));
        utimesSync(p, mtime, mtime);
      },
      /changed since it was made \(it was (modified|written to)/,
    ],
    ['removed', (p) => rmSync(p), /is missing/],
    ['truncated', (p) => truncateSync(p, 10), /size changed/],
    [
      'replaced by a link to a file with the same bytes',
      (p) => {
        const twin = join(tempDir(), 'twin');
        writeFileSync(twin, readFileSync(p));
        rmSync(p);
        symlinkSync(twin, p);
      },
      /symbolic link/,
    ],
  ];
  for (const [what, fault, reason] of copyFaults) {
    it(`a .gz file's decompressed copy ${what}: rebuilt, reported (${reason.source})`, async () => {
      const file = taskFile(20, true);
      const cacheDir = tempDir();
      const first = await load(file, cacheDir);
      fault(only(cacheDir, '.data'));
      const second = await load(file, cacheDir);
      assert.equal(second.cached, false);
      assert.ok(sameRecords(first.index, second.index));
      assert.equal((await indexedStore(second.index).read([3]))[0]!.value.query, 'query 3');
      assert.match(rejections(second.events)[0] ?? '', reason);
      assert.equal(readdirSync(cacheDir).filter((n) => n.endsWith('.data')).length, 1, 'the replaced copy is removed');
    });
  }

  it("changeDetection 'content' catches a change the file's identity does not show (an index whose recorded content hash differs); 'stat' serves it", async () => {
    // On a local file system every write moves the status-change time, so this is made by editing
    // the index: it claims other content for the same identity, as an edit on a file system with
    // coarse or frozen times would look.
    const file = taskFile(10);
    const cacheDir = tempDir();
    await load(file, cacheDir);
    rewriteHeader(only(cacheDir, '.index'), (h) => h.replace(/"rawSha256":"([0-9a-f])/, (_m, c: string) => `"rawSha256":"${c === '0' ? '1' : '0'}`));
    assert.equal((await load(file, cacheDir)).cached, true, "'stat' trusts the identity");
    const content = await load(file, cacheDir, { changeDetection: 'content' });
    assert.equal(content.cached, false);
    assert.match(rejections(content.events)[0]!, /content changed although its size, times and inode did not/);
  });

  it('through the CLI: exit 0, the summary line says a cache entry was rebuilt and why, --report has the event', async () => {
    const file = taskFile(16);
    const cacheDir = tempDir();
    const argv = ['plan', '--train_data', file, '--per_device_train_batch_size', '4', '--index_cache', cacheDir, '--query_instruction_for_retrieval', 'x'];
    execFileSync(process.execPath, [BIN, ...argv], { stdio: 'ignore' });
    truncateSync(only(cacheDir, '.index'), 100);
    const report = join(tempDir(), 'report.jsonl');
    const r = await cli([...argv, '--report', report]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warnings: 1 cache entry rebuilt \(.*a\.jsonl: it is truncated/);
    const events = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ReportEvent);
    assert.equal(events.filter((e) => e.kind === 'cacheEntryRejected').length, 1);
  });
});

/** Runs the command in a child process. */
const cli = (argv: ReadonlyArray<string>, options: { uid?: number } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

describe('cache faults: processes killed, processes racing', () => {
  /** A file big enough that indexing it takes a while (about 25 MB). */
  const bigFile = (gz: boolean) => {
    const file = join(tempDir(), gz ? 'big.jsonl.gz' : 'big.jsonl');
    const text = manyLines(120_000, (i) => record(i, { query: `query ${i} ${'lorem ipsum '.repeat(12)}` }));
    writeFileSync(file, gz ? gzipSync(text) : text);
    return file;
  };

  for (const gz of [false, true]) {
    it(`kill -9 during an index build${gz ? ' (a .gz file: its copy half written)' : ''}: the next run takes the dead process's lock over at once and builds a correct index; nothing half-written is ever read`, { timeout: 120_000 }, async () => {
      const file = bigFile(gz);
      const cacheDir = tempDir();
      for (const delay of [150, 600]) {
        rmSync(cacheDir, { recursive: true, force: true });
        const child = spawn(process.execPath, [BIN, 'plan', '--train_data', file, '--index_cache', cacheDir, '--query_instruction_for_retrieval', 'x'], { stdio: 'ignore' });
        const closed = new Promise<NodeJS.Signals | null>((r) => child.on('close', (_code, signal) => r(signal)));
        // Killed once it holds the lock (it is building), after `delay` more.
        while (!existsSync(cacheDir) || !readdirSync(cacheDir).some((n) => n.endsWith('.lock'))) await sleep(10);
        await sleep(delay);
        child.kill('SIGKILL');
        // (On a fast machine the build may be over before the kill: then there is nothing to recover from.)
        if ((await closed) === 'SIGKILL') assert.ok(readdirSync(cacheDir).some((n) => n.endsWith('.lock')), 'the killed process left its lock');
        else continue;
        const t0 = Date.now();
        const again = await load(file, cacheDir);
        assert.ok(Date.now() - t0 < 30_000);
        const waited = again.events.filter((e) => e.kind === 'lockWaited');
        assert.equal(waited.length, 1);
        assert.equal(waited[0]!.kind === 'lockWaited' && waited[0]!.outcome, 'taken-over');
        const fresh = await loadTaskFileIndex(file, { indexCacheDir: null });
        assert.ok(sameRecords(again.index, fresh.index), `after a kill at +${delay} ms`);
        assert.deepEqual(readdirSync(cacheDir).filter((n) => n.endsWith('.lock')), []);
        // Leftover temporary files (random names) may remain; they are never read.
        assert.equal((await load(file, cacheDir)).cached, true);
      }
    });
  }

  it('four CLI processes indexing the same three files at once: all succeed with the same plan, each index is built once, the cache holds only indexes and copies', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    for (const [name, n, gz] of [['a.jsonl', 30_000, false], ['b.jsonl.gz', 20_000, true], ['c.json', 10, false]] as const) {
      const text = name.endsWith('.json') ? JSON.stringify(Array.from({ length: n }, (_, i) => record(i))) : manyLines(n);
      writeFileSync(join(dir, name), gz ? gzipSync(text) : text);
    }
    const cacheDir = tempDir();
    const reports = [0, 1, 2, 3].map((i) => join(tempDir(), `report-${i}.jsonl`));
    const runs = await Promise.all(reports.map((report) => cli(['plan', '--train_data', dir, '--per_device_train_batch_size', '2', '--index_cache', cacheDir, '--query_instruction_for_retrieval', 'x', '--report', report])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(new Set(runs.map((r) => r.stdout)).size, 1);
    const built = reports.flatMap((report) =>
      readFileSync(report, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ReportEvent)
        .flatMap((e) => (e.kind === 'fileIndexed' && !e.cached ? [e.file] : [])),
    );
    assert.deepEqual(built.sort(), ['a.jsonl', 'b.jsonl.gz', 'c.json'].map((n) => join(dir, n)).sort());
    assert.deepEqual(
      readdirSync(cacheDir)
        .map((n) => n.replace(/^[0-9a-f]{32}/, 'KEY').replace(/\.[0-9a-f]{16}\.data$/, '.RANDOM.data'))
        .sort(),
      ['KEY.RANDOM.data', 'KEY.index', 'KEY.index', 'KEY.index'],
    );
  });
});

describe('cache faults: files changed between runs and during them', () => {
  it('a file replaced by another of the same size and modification time (mv over it): rebuilt', async () => {
    const file = taskFile(10);
    const cacheDir = tempDir();
    await load(file, cacheDir);
    const other = join(tempDir(), 'other.jsonl');
    writeFileSync(other, readFileSync(file, 'utf8').replace('query 5', 'query 7'));
    const { mtime } = statSync(file);
    utimesSync(other, mtime, mtime);
    execFileSync('mv', [other, file]);
    const again = await load(file, cacheDir);
    assert.equal(again.cached, false);
    assert.equal((await indexedStore(again.index).read([5]))[0]!.value.query, 'query 7');
  });

  it('a file appended to while it is being indexed: a FileError naming it (an index of a file being written describes neither version), nothing cached', { timeout: 60_000 }, async () => {
    const file = join(tempDir(), 'growing.jsonl');
    writeFileSync(file, manyLines(200_000));
    const cacheDir = tempDir();
    const loading = load(file, cacheDir);
    while (!existsSync(cacheDir) || !readdirSync(cacheDir).some((n) => n.endsWith('.lock'))) await sleep(2);
    appendFileSync(file, jsonl(record(999_999)));
    await assert.rejects(loading, (e: unknown) => e instanceof FileError && e.path === file && /changed while it was being indexed \(its size changed/.test(e.message));
    assert.deepEqual(readdirSync(cacheDir).filter((n) => !n.startsWith('.')), []);
  });

  it('a record that no longer reads back where it was indexed, though the identity check passed (a write between the check and the read): the same FileError, naming the file and the line', async () => {
    const file = join(tempDir(), 'a.jsonl');
    writeFileSync(file, jsonl(...Array.from({ length: 8 }, (_, i) => record(i))));
    const { index } = await loadTaskFileIndex(file, { indexCacheDir: tempDir() });
    writeFileSync(file, jsonl(record(0, { query: 'a longer query 0 that moves every later record' }), ...Array.from({ length: 7 }, (_, i) => record(i + 1))));
    // The store is handed the new identity, as if its check ran just before the write landed.
    const { index: now } = await loadTaskFileIndex(file, { indexCacheDir: tempDir() });
    const store = indexedStore({ ...index, dataIdentity: now.dataIdentity });
    await assert.rejects(store.read([3]), (e: unknown) => e instanceof FileError && e.path === file && /changed since it was indexed \(line 4 no longer reads as the record indexed there\)/.test(e.message));
    assert.equal((await indexedStore(now).read([3]))[0]!.value.query, 'query 3');
  });

  it('a file edited while batches are read from it: a FileError at the next read, naming the file (not a silent difference)', async () => {
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, jsonl(...Array.from({ length: 64 }, (_, i) => record(i))));
    const batches = flagEmbeddingBatches({
      trainData: [dir],
      tokenizer: fixtureTokenizer(),
      seed: 1,
      perDeviceTrainBatchSize: 4,
      queryInstructionForRetrieval: 'x',
      indexCacheDir: tempDir(),
      prefetch: 0,
    });
    const iterator = batches[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).done, false);
    writeFileSync(file, readFileSync(file, 'utf8').replace('query 1"', 'query 9"'));
    await assert.rejects(
      (async () => {
        for (;;) if ((await iterator.next()).done) return;
      })(),
      (e: unknown) => e instanceof FileError && e.path === file && /changed since it was indexed/.test(e.message),
    );
  });

  it('through the CLI: a dump whose data changes under it stops with exit 1, one message naming the file, no stack trace', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, jsonl(...Array.from({ length: 400 }, (_, i) => record(i, { query: `query ${i} ${'word '.repeat(200)}` }))));
    const child = spawn(process.execPath, [BIN, 'dump', '--train_data', dir, '--per_device_train_batch_size', '2', '--steps', '200', '--prefetch', '0', '--index_cache', tempDir(), '--query_instruction_for_retrieval', 'x', '--query_max_len', '512'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise((r) => child.on('close', r));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read the first line, then pause: the command blocks on the full pipe while the file changes.
    child.stdout.pause();
    await new Promise((r) => child.stdout.once('readable', r));
    writeFileSync(file, readFileSync(file, 'utf8').replace('query 1 ', 'query 9 '));
    child.stdout.resume();
    child.stdout.on('data', () => undefined);
    const code = await closed;
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`^llm-retriever-data: file error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: changed since it was indexed`));
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});

describe('cache: permissions and planted links', () => {
  for (const inputMode of [0o600, 0o640, 0o644]) {
    it(`a ${inputMode.toString(8)} .gz input: its decompressed copy and its index are ${inputMode.toString(8)} too (never more open than the input)`, async () => {
      const file = taskFile(5, true);
      chmodSync(file, inputMode);
      const cacheDir = tempDir();
      await load(file, cacheDir);
      assert.equal(statSync(only(cacheDir, '.data')).mode & 0o777, inputMode);
      assert.equal(statSync(only(cacheDir, '.index')).mode & 0o777, inputMode);
    });
  }

  it("links planted at the temporary names an older version used (`<index>.<pid>.tmp`) are never written through", async () => {
    const file = taskFile(12, true);
    const probeDir = tempDir();
    await load(file, probeDir);
    const key = readdirSync(probeDir).find((n) => n.endsWith('.index'))!.replace(/\.index$/, '');
    const cacheDir = tempDir();
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'keep me');
    for (const name of [`${key}.index.${process.pid}.tmp`, `${key}.data.${process.pid}.tmp`, `${key}.lock.${process.pid}.tmp`]) symlinkSync(victim, join(cacheDir, name));
    const built = await load(file, cacheDir);
    assert.equal(built.cached, false);
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
  });

  it('an index of a file in a 0700 folder is written with the mode of the file: the cache never opens what the input keeps closed', async () => {
    const file = taskFile(5);
    chmodSync(file, 0o600);
    const cacheDir = tempDir();
    await load(file, cacheDir);
    assert.equal(statSync(only(cacheDir, '.index')).mode & 0o777, 0o600);
  });
});

describe('cache: taking a lot of steps through it', () => {
  it('the pipeline reads through a rebuilt cache exactly what it reads without a cache', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jsonl.gz'), gzipSync(jsonl(...Array.from({ length: 40 }, (_, i) => record(i)))));
    const options = { trainData: [dir], tokenizer: fixtureTokenizer(), seed: 3, perDeviceTrainBatchSize: 4, queryInstructionForRetrieval: 'x' };
    const cacheDir = tempDir();
    const uncached = await toArray(flagEmbeddingBatches({ ...options, indexCacheDir: null }).pipe(take(8)));
    await toArray(flagEmbeddingBatches({ ...options, indexCacheDir: cacheDir }).pipe(take(1)));
    truncateSync(only(cacheDir, '.index'), 64);
    const rebuilt = await toArray(flagEmbeddingBatches({ ...options, indexCacheDir: cacheDir }).pipe(take(8)));
    assert.deepEqual(
      rebuilt.map((b) => b.padded),
      uncached.map((b) => b.padded),
    );
  });
});

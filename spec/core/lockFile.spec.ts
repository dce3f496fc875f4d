/**
 * withLock: a holder says who it is and touches its lock (heartbeat); a waiter says what it waits
 * for, and takes over a lock whose holder is gone: a dead process of this machine at once, a silent
 * one (another machine, a hung process, a reused pid) after `staleMs`, an empty lock after 2 s.
 * A live holder that keeps its heartbeat is waited for, however old its lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withLock, type LockWait } from '../../lib/core/lockFile.js';
import type { ProgressSink } from '../../lib/core/progress.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-lock-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A progress sink that records what it is asked to show. */
const recorder = () => {
  const shown: string[] = [];
  const notes: string[] = [];
  const sink: ProgressSink = { start: (label) => (shown.push(label), { update: (_n, note) => void (note !== undefined && notes.push(note)), end: () => undefined }) };
  return { sink, shown, notes };
};

const deadPid = async (): Promise<number> => {
  const p = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => p.on('close', r));
  return p.pid!;
};

const holderLine = (pid: number, host: string) => `${JSON.stringify({ pid, host, since: new Date().toISOString(), what: 'indexing x.jsonl' })}\n`;

/** Waits for the lock and reports how the wait ended; `work` returns 'built'. */
const take = async (lock: string, options: { staleMs?: number; quietMs?: number; progress?: ProgressSink } = {}) => {
  const waits: LockWait[] = [];
  const t0 = Date.now();
  const result = await withLock(lock, async () => null, async () => 'built', { what: 'indexing x.jsonl', onWait: (w) => waits.push(w), ...options });
  return { result, waits, ms: Date.now() - t0 };
};

describe('withLock', () => {
  it('the holder writes who it is and touches the lock while it works (heartbeat); the lock is gone afterwards', async () => {
    const lock = join(tempDir(), 'a.lock');
    const seen: { holder: unknown; mtimes: number[] } = { holder: null, mtimes: [] };
    await withLock(
      lock,
      async () => null,
      async () => {
        await sleep(50);
        seen.holder = JSON.parse(readFileSync(lock, 'utf8'));
        for (let i = 0; i < 4; i++) {
          seen.mtimes.push(statSync(lock).mtimeMs);
          await sleep(120);
        }
      },
      { what: 'indexing x.jsonl', heartbeatMs: 50 },
    );
    assert.deepEqual(Object.keys(seen.holder as object).sort(), ['host', 'pid', 'since', 'what']);
    assert.equal((seen.holder as { pid: number }).pid, process.pid);
    assert.equal((seen.holder as { host: string }).host, hostname());
    assert.equal(new Set(seen.mtimes).size, 4, `the lock's time moves: ${seen.mtimes.join(', ')}`);
    assert.equal(existsSync(lock), false);
  });

  it("a lock of a dead process of this machine is taken over at once, and the wait says why", async () => {
    const lock = join(tempDir(), 'a.lock');
    const pid = await deadPid();
    writeFileSync(lock, holderLine(pid, hostname()));
    const { result, waits, ms } = await take(lock);
    assert.equal(result, 'built');
    assert.ok(ms < 1000, `${ms} ms`);
    assert.equal(waits.length, 1);
    assert.equal(waits[0]!.outcome, 'taken-over');
    assert.equal(waits[0]!.holder?.pid, pid);
    assert.match(waits[0]!.reason!, new RegExp(`its process \\(pid ${pid}\\) no longer exists`));
  });

  it('a lock of another machine without a heartbeat is taken over after staleMs of silence (its time is not trusted: clocks differ)', async () => {
    const lock = join(tempDir(), 'a.lock');
    writeFileSync(lock, holderLine(4242, 'another-host.example'));
    const future = Date.now() / 1000 + 3600; // another machine's clock an hour ahead: still judged by silence
    utimesSync(lock, future, future);
    const { waits, ms } = await take(lock, { staleMs: 600 });
    assert.ok(ms >= 600 && ms < 3000, `${ms} ms`);
    assert.equal(waits[0]!.outcome, 'taken-over');
    assert.deepEqual(waits[0]!.holder && [waits[0]!.holder.pid, waits[0]!.holder.host], [4242, 'another-host.example']);
    assert.match(waits[0]!.reason!, /no heartbeat for \d+ s/);
  });

  it('a live pid of this machine whose lock is older than staleMs (a reused pid, or a hung holder) is taken over', async () => {
    const lock = join(tempDir(), 'a.lock');
    writeFileSync(lock, holderLine(process.ppid, hostname()));
    const old = Date.now() / 1000 - 60;
    utimesSync(lock, old, old);
    const { waits, ms } = await take(lock, { staleMs: 5000 });
    assert.ok(ms < 1000, `judged by the lock's age on this machine's clock: ${ms} ms`);
    assert.equal(waits[0]!.outcome, 'taken-over');
    assert.match(waits[0]!.reason!, /no heartbeat for (59|60|61) s/);
  });

  it('an empty lock (its process died between creating and writing it) is taken over after 2 s', async () => {
    const lock = join(tempDir(), 'a.lock');
    writeFileSync(lock, '');
    const { waits, ms } = await take(lock, { staleMs: 60_000 });
    assert.ok(ms >= 2000 && ms < 4000, `${ms} ms`);
    assert.match(waits[0]!.reason!, /stayed empty/);
  });

  it('a symbolic link planted as the lock is never followed: it is judged (it names no holder) and removed, its target untouched', async () => {
    const dir = tempDir();
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'keep me');
    symlinkSync(target, join(dir, 'a.lock'));
    const { result } = await take(join(dir, 'a.lock'), { staleMs: 60_000 });
    assert.equal(result, 'built');
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
  });

  it('a holder on another machine that keeps its heartbeat is waited for, the wait is shown (who, what, last heartbeat), and the waiter goes on when it releases', { timeout: 20_000 }, async () => {
    const lock = join(tempDir(), 'a.lock');
    writeFileSync(lock, holderLine(4242, 'another-host.example'));
    // The other machine's process: touches the lock every 100 ms for 1.5 s, then removes it.
    const beating = setInterval(() => {
      const t = new Date();
      utimesSync(lock, t, t);
    }, 100);
    setTimeout(() => {
      clearInterval(beating);
      writeFileSync(lock + '.done', '');
    }, 1500).unref();
    const { sink, shown, notes } = recorder();
    const waiting = take(lock, { staleMs: 500, quietMs: 200, progress: sink });
    while (!existsSync(lock + '.done')) await sleep(50);
    // Still waiting although 1.5 s > staleMs: the heartbeat kept the lock alive. Now it is released.
    rmSync(lock);
    const { waits, ms } = await waiting;
    assert.ok(ms >= 1400, `${ms} ms`);
    assert.equal(waits[0]!.outcome, 'released');
    assert.equal(shown.length, 1);
    assert.match(shown[0]!, /^waiting for pid 4242 on host another-host\.example \(since .*\), which holds .*a\.lock \(indexing x\.jsonl\)$/);
    assert.ok(notes.some((n) => /^last heartbeat 0 s ago$/.test(n)), notes.join(' | '));
  });
});

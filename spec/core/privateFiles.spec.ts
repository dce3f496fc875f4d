/**
 * Files nobody else can slip anything into: atomic writes under random, exclusively created
 * temporary names that never follow a link, with the permissions asked for; and cache folders
 * that must be this user's and writable by nobody else.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { atomicWriteFile, createExclusive, openAtomic, temporaryPathFor } from '../../lib/core/atomicFile.js';
import { ConfigError } from '../../lib/core/errors.js';
import { ensurePrivateDir } from '../../lib/core/privateDir.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'llm-retriever-data-private-'));
const mode = (path: string) => statSync(path).mode & 0o777;
const isRoot = process.getuid?.() === 0;

describe('atomic files', () => {
  it('temporary names are hidden, beside the target, and random (128 bits): 1,000 names, no two alike, none predictable from the pid', () => {
    const names = Array.from({ length: 1000 }, () => temporaryPathFor('/x/state.json'));
    assert.equal(new Set(names).size, 1000);
    for (const n of names) {
      assert.match(n, /^\/x\/\.state\.json\.[0-9a-f]{32}\.tmp$/);
      assert.ok(!n.includes(`.${process.pid}.`), n);
    }
  });

  it('a file is created exclusively: a file or a symbolic link already at the name is refused (EEXIST), and the link is not followed', async () => {
    const dir = tempDir();
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'keep me');
    symlinkSync(target, join(dir, 'planted'));
    await assert.rejects(createExclusive(join(dir, 'planted')), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    await assert.rejects(createExclusive(join(dir, 'dangling')), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
    assert.equal(readdirSync(dir).includes('nowhere'), false, 'a dangling link is not created through');
  });

  it('a symbolic link at the target is replaced by the new file, never written through', async () => {
    const dir = tempDir();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dir, 'state.json'));
    await atomicWriteFile(join(dir, 'state.json'), '{"new":true}');
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
    assert.equal(lstatSync(join(dir, 'state.json')).isFile(), true);
    assert.equal(readFileSync(join(dir, 'state.json'), 'utf8'), '{"new":true}');
  });

  it('meta: a plain writeFile to the same target writes through the link (what the check above catches)', () => {
    const dir = tempDir();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dir, 'state.json'));
    writeFileSync(join(dir, 'state.json'), '{"new":true}');
    assert.notEqual(readFileSync(victim, 'utf8'), 'keep me');
  });

  it("permissions: the mode asked for (0600 stays 0600), else what writeFile would give; the temporary file is 0600 while it is written", async () => {
    const dir = tempDir();
    await atomicWriteFile(join(dir, 'private'), 'x', { mode: 0o600 });
    await atomicWriteFile(join(dir, 'shared'), 'x', { mode: 0o644 });
    await atomicWriteFile(join(dir, 'default'), 'x');
    assert.equal(mode(join(dir, 'private')), 0o600);
    assert.equal(mode(join(dir, 'shared')), 0o644);
    assert.equal(mode(join(dir, 'default')), 0o666 & ~process.umask());
    const open = await openAtomic(join(dir, 'later'), { mode: 0o644 });
    assert.equal(mode(open.temporaryPath), 0o600);
    await open.abort();
    assert.deepEqual(readdirSync(dir).sort(), ['default', 'private', 'shared']);
  });
});

describe('private cache folders', () => {
  it('a missing folder is created with mode 0700 (its missing parents too)', async () => {
    const dir = join(tempDir(), 'a', 'b');
    await ensurePrivateDir(dir, 'index_cache');
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, '..')), 0o700);
  });

  it('a folder others can write in is refused, naming the option and the mode (not repaired: it may be shared on purpose)', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    await assert.rejects(ensurePrivateDir(dir, 'index_cache'), (e: unknown) => e instanceof ConfigError && e.option === 'index_cache' && /other users can write in it \(mode 0777\)/.test(e.message));
    chmodSync(dir, 0o775);
    await assert.rejects(ensurePrivateDir(dir, 'index_cache'), (e: unknown) => e instanceof ConfigError && /mode 0775/.test(e.message));
    assert.equal(mode(dir), 0o775, 'left as it was');
  });

  it('a file where the folder should be is refused', async () => {
    const file = join(tempDir(), 'f');
    writeFileSync(file, '');
    await assert.rejects(ensurePrivateDir(file, 'index_cache'), (e: unknown) => e instanceof ConfigError && /not a folder/.test(e.message));
  });

  it('a link to a private folder of this user is fine (the check follows it)', async () => {
    const target = tempDir();
    const link = join(tempDir(), 'cache');
    symlinkSync(target, link);
    await ensurePrivateDir(link, 'index_cache');
  });

  it(
    "a folder owned by another user is refused, saying whose it is",
    isRoot ? {} : { skip: 'skipped: needs root to give a folder to another user (chown); as another user, see the CLI fault spec' },
    async () => {
      const dir = join(tempDir(), 'theirs');
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, 12345, 12345);
      await assert.rejects(
        ensurePrivateDir(dir, 'index_cache'),
        (e: unknown) => e instanceof ConfigError && /owned by user id 12345, not by you \(user id 0\)/.test(e.message) && /--index_cache none/.test(e.message),
      );
    },
  );
});

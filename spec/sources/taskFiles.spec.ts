/**
 * `train_data` into task files (`listTaskFiles`) and their decoded records (`fromTaskFiles`):
 * code-point name order, skips reported as data, lazy and re-iterable reading, provenance.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as E from 'fp-ts/lib/Either.js';
import { toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError } from '../../lib/core/errors.js';
import { collectReport } from '../../lib/core/report.js';
import { fromTaskFiles, listTaskFiles } from '../../lib/sources/taskFiles.js';
import { jsonl, record, writeTree } from '../helpers/tmp.js';

const isConfigError = (option: string) => (e: unknown) => e instanceof ConfigError && e.option === option;

describe('listTaskFiles', () => {
  it('lists a folder in code-point name order (Python sorted), not UTF-16 order', async () => {
    // U+FF5E sorts before U+1F600 by code point; by UTF-16 unit the emoji's lead surrogate (0xD83D)
    // sorts first. Likewise 'Z' < 'a' < 'é' and '10' < '9'.
    const names = ['\u{1F600}.jsonl', '\uFF5E.jsonl', 'a.jsonl', 'Z.json', 'é.jsonl', '9.jsonl', '10.jsonl'];
    const root = writeTree(Object.fromEntries(names.map((n) => [n, jsonl(record(0))])));
    const refs = await listTaskFiles([root]);
    assert.deepEqual(
      refs.map((r) => r.file),
      ['10.jsonl', '9.jsonl', 'Z.json', 'a.jsonl', 'é.jsonl', '\uFF5E.jsonl', '\u{1F600}.jsonl'].map((n) => join(root, n)),
    );
    // The JS default sort would have put the emoji before U+FF5E: the case really distinguishes.
    assert.deepEqual(['\u{1F600}.jsonl', '\uFF5E.jsonl'].sort(), ['\u{1F600}.jsonl', '\uFF5E.jsonl']);
  });

  it('non-.json/.jsonl names and sub-folders are passed over and reported as fileSkipped', async () => {
    const root = writeTree({
      'a.jsonl': jsonl(record(0)),
      'notes.txt': 'x',
      'data.jsonl.bak': 'x',
      'README': 'x',
      'sub/b.jsonl': jsonl(record(1)),
    });
    mkdirSync(join(root, 'folder.jsonl'));
    const report = collectReport();
    const refs = await listTaskFiles([root], report);
    assert.deepEqual(
      refs.map((r) => r.file),
      [join(root, 'a.jsonl')],
    );
    const skipped = report.events.map((e) => (e.kind === 'fileSkipped' ? [e.file, e.reason] : [e.kind]));
    assert.deepEqual(
      [...skipped].sort(),
      [
        [join(root, 'README'), 'not-json'],
        [join(root, 'data.jsonl.bak'), 'not-json'],
        [join(root, 'folder.jsonl'), 'not-a-file'],
        [join(root, 'notes.txt'), 'not-json'],
        [join(root, 'sub'), 'not-json'],
      ].sort(),
    );
  });

  it('a symbolic link to a task file counts as a file', async () => {
    const root = writeTree({ 'target/a.jsonl': jsonl(record(0)), 'dir/keep.jsonl': jsonl(record(1)) });
    symlinkSync(join(root, 'target/a.jsonl'), join(root, 'dir/link.jsonl'));
    const refs = await listTaskFiles([join(root, 'dir')]);
    assert.deepEqual(
      refs.map((r) => r.file),
      [join(root, 'dir/keep.jsonl'), join(root, 'dir/link.jsonl')],
    );
  });

  it('a dangling symbolic link in a folder is skipped and reported, or a ConfigError — never a raw fs error', async () => {
    const root = writeTree({ 'dir/keep.jsonl': jsonl(record(0)) });
    symlinkSync(join(root, 'nowhere.jsonl'), join(root, 'dir/dangling.jsonl'));
    const report = collectReport();
    const outcome = await listTaskFiles([join(root, 'dir')], report).then(
      (refs) => ({ refs }),
      (error: unknown) => ({ error }),
    );
    if ('error' in outcome) {
      assert.ok(outcome.error instanceof ConfigError, `a foreign error escaped: ${String(outcome.error)}`);
    } else {
      assert.deepEqual(
        outcome.refs.map((r) => r.file),
        [join(root, 'dir/keep.jsonl')],
      );
      assert.deepEqual(report.events, [{ kind: 'fileSkipped', file: join(root, 'dir/dangling.jsonl'), reason: 'not-a-file' }]);
    }
  });

  it('a missing path is a ConfigError naming train_data (and the path)', async () => {
    const missing = join(writeTree({}), 'does-not-exist');
    await assert.rejects(listTaskFiles([missing]), (e: unknown) => isConfigError('train_data')(e) && (e as Error).message.includes(missing));
  });

  it('a file named directly: .json/.jsonl kept, anything else skipped and reported', async () => {
    const root = writeTree({ 'a.jsonl': jsonl(record(0)), 'b.json': '[]', 'c.txt': jsonl(record(1)) });
    const report = collectReport();
    const entries = ['a.jsonl', 'c.txt', 'b.json'].map((n) => join(root, n));
    const refs = await listTaskFiles(entries, report);
    assert.deepEqual(refs, [
      { file: entries[0], origin: { entry: entries[0], entryIndex: 0, inFolder: false } },
      { file: entries[2], origin: { entry: entries[2], entryIndex: 2, inFolder: false } },
    ]);
    assert.deepEqual(report.events, [{ kind: 'fileSkipped', file: entries[1], reason: 'not-json' }]);
  });

  it('entries keep train_data order; folder files carry their folder as origin', async () => {
    const root = writeTree({ 'z/b.jsonl': jsonl(record(0)), 'z/a.jsonl': jsonl(record(1)), 'a.jsonl': jsonl(record(2)) });
    const refs = await listTaskFiles([join(root, 'z'), join(root, 'a.jsonl')]);
    assert.deepEqual(refs, [
      { file: join(root, 'z', 'a.jsonl'), origin: { entry: join(root, 'z'), entryIndex: 0, inFolder: true } },
      { file: join(root, 'z', 'b.jsonl'), origin: { entry: join(root, 'z'), entryIndex: 0, inFolder: true } },
      { file: join(root, 'a.jsonl'), origin: { entry: join(root, 'a.jsonl'), entryIndex: 1, inFolder: false } },
    ]);
  });
});

describe('fromTaskFiles', () => {
  it('is lazy: built on a missing path it does not throw until iterated, then rejects with ConfigError', async () => {
    const missing = join(writeTree({}), 'missing');
    const records = fromTaskFiles([missing]);
    await assert.rejects(toArray(records), isConfigError('train_data'));
  });

  it('is lazy: nothing is listed or read before iteration (a file created after construction is read)', async () => {
    const file = join(writeTree({}), 'late.jsonl');
    const report = collectReport();
    const records = fromTaskFiles([file], { report });
    writeFileSync(file, jsonl(record(0), record(1)));
    const out = await toArray(records);
    assert.deepEqual(
      out.map((r) => (E.isRight(r) ? r.right.value.query : 'left')),
      ['query 0', 'query 1'],
    );
    assert.deepEqual(report.events, []);
  });

  it('is re-iterable: two iterations of one value give the same records', async () => {
    const root = writeTree({ 'a.jsonl': jsonl(record(0), record(1)), 'b.json': JSON.stringify([record(2)], null, 2) });
    const records = fromTaskFiles([root]);
    const first = await toArray(records);
    const second = await toArray(records);
    assert.equal(first.length, 3);
    assert.deepEqual(second, first);
    // …also after an early exit.
    assert.equal((await toArray(records.pipe(take(1)))).length, 1);
    assert.deepEqual(await toArray(records), first);
  });

  it('records carry file, line, record and origin {entry, entryIndex, inFolder}', async () => {
    const root = writeTree({ 'dir/a.jsonl': '\n' + jsonl(record(0)), 'b.jsonl': jsonl(record(1), record(2)) });
    const dir = join(root, 'dir');
    const b = join(root, 'b.jsonl');
    const out = await toArray(fromTaskFiles([dir, b]));
    assert.ok(out.every(E.isRight));
    assert.deepEqual(
      out.map((r) => (E.isRight(r) ? { ...r.right, value: r.right.value.query } : null)),
      [
        { file: join(dir, 'a.jsonl'), line: 2, record: 0, value: 'query 0', origin: { entry: dir, entryIndex: 0, inFolder: true } },
        { file: b, line: 1, record: 0, value: 'query 1', origin: { entry: b, entryIndex: 1, inFolder: false } },
        { file: b, line: 2, record: 1, value: 'query 2', origin: { entry: b, entryIndex: 1, inFolder: false } },
      ],
    );
  });

  it('empty files are reported as fileSkipped "empty"; files with records are not', async () => {
    const root = writeTree({ 'a.jsonl': '', 'b.jsonl': '\n\n', 'c.jsonl': jsonl(record(0)), 'd.json': '[]' });
    const report = collectReport();
    const out = await toArray(fromTaskFiles([root], { report }));
    assert.equal(out.length, 1);
    assert.deepEqual(report.events, [
      { kind: 'fileSkipped', file: join(root, 'a.jsonl'), reason: 'empty' },
      { kind: 'fileSkipped', file: join(root, 'b.jsonl'), reason: 'empty' },
      { kind: 'fileSkipped', file: join(root, 'd.json'), reason: 'empty' },
    ]);
  });

  it('bad records are Lefts with every issue, and reading goes on; knowledgeDistillation reaches the decoder', async () => {
    const root = writeTree({
      'a.jsonl': jsonl(record(0), { query: 1, pos: [] }) + '{oops\n' + jsonl(record(3, { pos_scores: [1], neg_scores: [1, 2, 3] })),
    });
    const file = join(root, 'a.jsonl');
    const plain = await toArray(fromTaskFiles([root]));
    assert.deepEqual(
      plain.map((r) => (E.isLeft(r) ? r.left.map((i) => [i.line, i.field ?? null]) : 'ok')),
      ['ok', [[2, 'query'], [2, 'pos'], [2, 'neg']], [[3, null]], 'ok'],
    );
    assert.ok(plain.flatMap((r) => (E.isLeft(r) ? r.left : [])).every((i) => i.file === file));
    const kd = await toArray(fromTaskFiles([root], { knowledgeDistillation: true }));
    const last = kd[3]!;
    assert.ok(E.isRight(last));
    assert.deepEqual(last.right.value.posScores, [1]);
    assert.deepEqual(last.right.value.negScores, [1, 2, 3]);
  });
});

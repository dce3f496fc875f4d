/**
 * indexJsonRows: rows by position with their research metadata, from JSON Lines, a JSON array (one
 * chunk, as datasets reads it whole) and gzip; chunks of 10 MiB typed on their own.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FileError } from '../../lib/core/errors.js';
import { indexJsonRows, JSON_CHUNK_BYTES } from '../../lib/sources/jsonRows.js';
import { writeTree } from '../helpers/tmp.js';

const row = (i: number, extra: Readonly<Record<string, unknown>> = {}) => ({ query: `q${i}`, pos: [`p${i}`, `P${i}`], neg: Array.from({ length: i % 4 }, (_, k) => `n${k}`), prompt: 'P', type: i % 2 ? 'normal' : 'symmetric_sts', ...extra });
const rows = Array.from({ length: 9 }, (_, i) => row(i, i === 3 ? { pos_scores: [1, null] } : {}));
const lines = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('indexJsonRows', () => {
  it('JSON Lines, a JSON array and gzip give the same rows, metadata and reads', async () => {
    const dir = writeTree({ 'a.jsonl': lines, 'b.json': JSON.stringify(rows, null, 2) });
    writeFileSync(join(dir, 'c.jsonl.gz'), gzipSync(lines));
    const indexed = await Promise.all(['a.jsonl', 'b.json', 'c.jsonl.gz'].map((f) => indexJsonRows(join(dir, f))));
    for (const file of indexed) {
      assert.equal(file.rows, 9);
      assert.deepEqual(Array.from({ length: 9 }, (_, i) => [file.store.meta(i).negatives, file.store.meta(i).type, file.store.meta(i).positiveLengths.length]), rows.map((r) => [r.neg.length, r.type, 2]));
      const read = await file.store.read([8, 3, 0]);
      assert.deepEqual(read.map((r) => r.value.query), ['q8', 'q3', 'q0']);
      assert.deepEqual(read[1]!.value.posScores, [1, null]);
      const raw: unknown[] = [];
      for await (const r of file.rawRows(2, 5)) raw.push(r);
      assert.deepEqual(raw, rows.slice(2, 5));
    }
    assert.equal(indexed[1]!.chunks.length, 1);
  });

  it('a file over 10 MiB is typed in chunks that start where datasets starts them', async () => {
    const filler = JSON.stringify(row(1, { pad: 'x'.repeat(2000) }));
    const n = Math.ceil((JSON_CHUNK_BYTES * 2.5) / (filler.length + 1));
    const dir = writeTree({ 'big.jsonl': Array.from({ length: n }, () => filler).join('\n') + '\n' });
    const file = await indexJsonRows(join(dir, 'big.jsonl'));
    assert.equal(file.chunks.length, 3);
    assert.equal(file.chunks.reduce((k, c) => k + c.rows, 0), n);
    // The first chunk holds the lines that start within its first 10 MiB (the line crossing the mark included).
    const perLine = filler.length + 1;
    assert.equal(file.chunks[0]!.rows, Math.floor(JSON_CHUNK_BYTES / perLine) + 1);
  });

  it('a file changed after it was indexed: a FileError naming it at the next read (exit 1), never rows of the new text', async () => {
    const dir = writeTree({ 'a.jsonl': lines });
    const file = await indexJsonRows(join(dir, 'a.jsonl'));
    writeFileSync(join(dir, 'a.jsonl'), lines + lines);
    await assert.rejects(file.store.read([0]), (e: unknown) => e instanceof FileError && e.path === join(dir, 'a.jsonl') && /changed since it was indexed/.test(e.message));
  });
});

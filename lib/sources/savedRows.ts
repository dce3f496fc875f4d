/**
 * The shards of a `save_to_disk` folder as indexed data files for the research flavor's
 * `load_from_disk`: one pass over each shard's record batches (one batch in memory at a time)
 * decodes every row and keeps its research metadata; rows are then read by position.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { Example, Located } from '../core/model.js';
import { readIpcBatches } from '../arrow/ipcStream.js';
import { readSavedRows, type SavedDataset } from '../arrow/savedDataset.js';
import { rowsOf } from '../arrow/values.js';
import { decodeResearchRow } from '../schema/researchRecord.js';
import { schemaOfFeatures } from './hfSchema.js';
import { badRow, MetaColumns, RowFileStore, type RowFile } from './rowFile.js';

/**
 * Indexes every shard of an opened `save_to_disk` folder (see `openSavedDataset`), in order.
 *
 * **Details**: a row is named by its shard file and its 1-based row in that shard.
 *
 * @example
 * const shards = await indexSavedShards(await openSavedDataset('saved/'));
 *
 * @category constructors
 */
export const indexSavedShards = async (saved: SavedDataset): Promise<ReadonlyArray<RowFile>> => {
  const out: RowFile[] = [];
  for (const shard of saved.shards) {
    const columns = new MetaColumns();
    let row = 0;
    for (let b = 0; b < shard.index.batches.length; b++) {
      const [batch] = await readIpcBatches(shard.index, [b]);
      for (const value of rowsOf(batch!, Array.from({ length: batch!.numRows }, (_, k) => k))) {
        const at = { file: shard.file, line: row + 1, record: row };
        const decoded = decodeResearchRow(value, at);
        if (E.isLeft(decoded)) throw badRow(decoded.left);
        columns.add(at.line, decoded.right);
        row += 1;
      }
    }
    const read = (positions: ReadonlyArray<number>) => readSavedRows(saved, positions.map((p) => shard.offset + p));
    const store = new RowFileStore(shard.file, columns, async (positions) =>
      (await read(positions)).map((value, i): Located<Example> => {
        const at = { file: shard.file, line: positions[i]! + 1, record: positions[i]! };
        const decoded = decodeResearchRow(value, at);
        if (E.isLeft(decoded)) throw badRow(decoded.left);
        return { ...at, value: decoded.right };
      }),
    );
    out.push({
      file: shard.file,
      rows: shard.index.rows,
      chunks: [{ firstLine: 1, rows: shard.index.rows, schema: schemaOfFeatures(saved.features) }],
      fingerprint: await sha256Of(shard.file),
      store,
      async *rawRows(from: number, to: number) {
        for (let at = from; at < to; at += 1000) yield* await read(Array.from({ length: Math.min(1000, to - at) }, (_, k) => at + k));
      },
    });
  }
  return out;
};

const sha256Of = async (file: string): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

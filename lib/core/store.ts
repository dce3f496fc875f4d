/**
 * Record stores: records by position, metadata at once, texts on demand.
 *
 * @module
 */
import { codePointLength } from './pythonStrings.js';
import { InvariantError } from './errors.js';
import type { Example, Located, RecordMeta, RecordStore } from './model.js';

/**
 * The metadata of a decoded record.
 *
 * @category constructors
 */
export const metaOf = (record: Located<Example>): RecordMeta => ({
  file: record.file,
  line: record.line,
  record: record.record,
  positiveLengths: record.value.pos.map(codePointLength),
  negatives: record.value.neg.length,
  trainGroupSize: record.value.trainGroupSize,
  batchSize: record.value.batchSize,
});

const checkPosition = (size: number, position: number): void => {
  if (!Number.isSafeInteger(position) || position < 0 || position >= size) {
    throw new InvariantError(`record position ${position} is outside a store of ${size}`);
  }
};

/**
 * A store over records in memory.
 *
 * **Details**: a class (not a closure) so that two stores over equal records are deeply equal, as
 * the determinism laws compare them.
 *
 * @example
 * const store = new MemoryStore(records);
 * store.meta(0).negatives; await store.read([2, 0]);
 *
 * @category constructors
 */
export class MemoryStore implements RecordStore {
  readonly size: number;
  private readonly metas: ReadonlyArray<RecordMeta>;
  constructor(private readonly records: ReadonlyArray<Located<Example>>) {
    this.size = records.length;
    this.metas = records.map(metaOf);
  }
  meta(position: number): RecordMeta {
    checkPosition(this.size, position);
    return this.metas[position]!;
  }
  async read(positions: ReadonlyArray<number>): Promise<ReadonlyArray<Located<Example>>> {
    return positions.map((p) => (checkPosition(this.size, p), this.records[p]!));
  }
}

/** A {@link MemoryStore}. */
export const memoryStore = (records: ReadonlyArray<Located<Example>>): RecordStore => new MemoryStore(records);

/**
 * The records of `store` at `positions`, in that order, as a store (subsampling).
 *
 * @category constructors
 */
export class SelectStore implements RecordStore {
  readonly size: number;
  constructor(
    private readonly store: RecordStore,
    private readonly positions: ReadonlyArray<number>,
  ) {
    for (const p of positions) checkPosition(store.size, p);
    this.size = positions.length;
  }
  meta(position: number): RecordMeta {
    checkPosition(this.size, position);
    return this.store.meta(this.positions[position]!);
  }
  read(positions: ReadonlyArray<number>): Promise<ReadonlyArray<Located<Example>>> {
    return this.store.read(positions.map((p) => (checkPosition(this.size, p), this.positions[p]!)));
  }
}

/** A {@link SelectStore}. */
export const selectStore = (store: RecordStore, positions: ReadonlyArray<number>): RecordStore => new SelectStore(store, positions);

/**
 * Stores one after another, as one store (a folder's merged small files).
 *
 * @category constructors
 */
export class ConcatStore implements RecordStore {
  readonly size: number;
  private readonly starts: ReadonlyArray<number>;
  constructor(private readonly stores: ReadonlyArray<RecordStore>) {
    const starts: number[] = [];
    let size = 0;
    for (const s of stores) {
      starts.push(size);
      size += s.size;
    }
    this.starts = starts;
    this.size = size;
  }
  private locate(position: number): [number, number] {
    checkPosition(this.size, position);
    let k = this.stores.length - 1;
    while (this.starts[k]! > position) k--;
    return [k, position - this.starts[k]!];
  }
  meta(position: number): RecordMeta {
    const [k, p] = this.locate(position);
    return this.stores[k]!.meta(p);
  }
  async read(positions: ReadonlyArray<number>): Promise<ReadonlyArray<Located<Example>>> {
    // One read per underlying store, then back into the asked order.
    const byStore = new Map<number, { at: number[]; local: number[] }>();
    positions.forEach((position, at) => {
      const [k, p] = this.locate(position);
      const group = byStore.get(k) ?? { at: [], local: [] };
      group.at.push(at);
      group.local.push(p);
      byStore.set(k, group);
    });
    const out = new Array<Located<Example>>(positions.length);
    await Promise.all(
      [...byStore].map(async ([k, { at, local }]) => {
        const records = await this.stores[k]!.read(local);
        records.forEach((r, i) => (out[at[i]!] = r));
      }),
    );
    return out;
  }
}

/** A {@link ConcatStore} (the store itself when there is one). */
export const concatStores = (stores: ReadonlyArray<RecordStore>): RecordStore => (stores.length === 1 ? stores[0]! : new ConcatStore(stores));

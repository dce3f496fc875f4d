/**
 * What crosses between the main thread and the batch workers: plain, structured-clonable data.
 *
 * @module
 */
import { ConfigError, InvariantError, RecordError, TokenizerError, type Issue } from '../core/errors.js';
import type { PaddedBatch, SampledBatch, Task } from '../core/model.js';
import type { TokenizerRecipe } from '../tokenizers/port.js';

/** The options the per-batch steps read (everything but the tokenizer, which workers rebuild). */
export interface WorkerOptions {
  readonly recipe: TokenizerRecipe;
  readonly steps: Readonly<Record<string, unknown>>;
}

/** A task without its store (workers never read records: they get them in the batch). */
export type WireTask = Omit<Task, 'store'>;

/** A sampled batch as sent to a worker. */
export type WireBatch = Omit<SampledBatch, 'task'> & { readonly task: WireTask };

/**
 * What a worker sends back: the texts, and the ids of all queries then all passages in one flat
 * `Int32Array` (transferred, not copied) with each row's length. Padding happens on the receiving
 * side: nested number arrays cost more to send than to rebuild.
 */
export interface WireResult extends Pick<PaddedBatch, 'queries' | 'passages' | 'teacherScores' | 'noInBatchNeg' | 'messages'> {
  readonly ids: Int32Array;
  readonly rowLengths: ReadonlyArray<number>;
}

/** Flattens rows of ids for sending. */
export const packRows = (rows: ReadonlyArray<ReadonlyArray<number>>): { ids: Int32Array; rowLengths: number[] } => {
  const rowLengths = rows.map((r) => r.length);
  const ids = new Int32Array(rowLengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const row of rows) {
    ids.set(row, at);
    at += row.length;
  }
  return { ids, rowLengths };
};

/** The rows {@link packRows} flattened. */
export const unpackRows = (ids: Int32Array, rowLengths: ReadonlyArray<number>): number[][] => {
  let at = 0;
  return rowLengths.map((n) => {
    const row = Array.from(ids.subarray(at, at + n));
    at += n;
    return row;
  });
};

/** A typed error, as data. */
export type WireError =
  | { readonly tag: 'RecordError'; readonly issues: ReadonlyArray<Issue> }
  | { readonly tag: 'ConfigError'; readonly option: string; readonly message: string }
  | { readonly tag: 'TokenizerError' | 'InvariantError' | 'Error'; readonly message: string };

export type Request = { readonly id: number; readonly batch: WireBatch };
export type Response = { readonly id: number; readonly result: WireResult } | { readonly id: number; readonly error: WireError };

/**
 * A sampled batch for a worker, trimmed to what the steps read: each record keeps its query, prompt,
 * category and type, its chosen positive and its sampled negatives (re-indexed), not its whole
 * `neg` list (which can be hundreds of passages).
 */
export const toWire = (sampled: SampledBatch): WireBatch => {
  // The mask stays here: the main thread keeps it with the batch, and workers never read it.
  const { falseNegativeMask: _mask, ...batch } = sampled;
  const { store: _store, ...task } = batch.task;
  const records = batch.records.map((record, i) => {
    const group = batch.groups[i]!;
    const { pos: _pos, neg, posScores: _ps, negScores: _ns, ...rest } = record.value;
    return { ...record, value: { ...rest, pos: [group.positive] as const, neg: group.negativeIndices.map((n) => neg[n]!) } };
  });
  const groups = batch.groups.map((group) => ({ ...group, positiveIndex: 0, negativeIndices: group.negativeIndices.map((_, k) => k) }));
  return { ...batch, task, records: records as unknown as WireBatch['records'], groups: groups as unknown as WireBatch['groups'] };
};

export const errorToWire = (e: unknown): WireError => {
  if (e instanceof RecordError) return { tag: 'RecordError', issues: e.issues };
  if (e instanceof ConfigError) return { tag: 'ConfigError', option: e.option, message: e.message.slice(e.option.length + 2) };
  if (e instanceof TokenizerError) return { tag: 'TokenizerError', message: e.message };
  if (e instanceof InvariantError) return { tag: 'InvariantError', message: e.message };
  return { tag: 'Error', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) };
};

export const errorFromWire = (e: WireError): Error => {
  switch (e.tag) {
    case 'RecordError':
      return new RecordError(e.issues as [Issue, ...Issue[]]);
    case 'ConfigError':
      return new ConfigError(e.option, e.message);
    case 'TokenizerError':
      return new TokenizerError(e.message);
    case 'InvariantError':
      return new InvariantError(e.message);
    default:
      return new Error(`in a batch worker: ${e.message}`);
  }
};

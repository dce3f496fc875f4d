/**
 * Training steps saved as a Hugging Face dataset folder, one row per step, crash-safe and resumable.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { atomicWriteFile } from '../arrow/atomicFile.js';
import { createShardWriter, fingerprintOfShards, shardFileName, writeDatasetState } from '../arrow/saveToDisk.js';
import { ConfigError, InvariantError } from '../core/errors.js';
import type { PaddedBatch, ResumeState, ResumeStateV1 } from '../core/model.js';
import { decodeResumeState } from '../core/resume.js';
import { stepBatchBuilder, stepFeatures, stepTableMetadata, validateStepTableOptions, type StepTableOptions } from './stepTable.js';

/**
 * Options of {@link exportSteps}.
 *
 * @category sinks
 */
export interface ExportStepsOptions extends StepTableOptions {
  /** The folder: a `DatasetDict` with one split per rank of the world size, `rank_0` … (each a `save_to_disk` folder). */
  readonly out: string;
  /** The ranks this call writes (one, or every rank of `worldSize`). */
  readonly ranks: ReadonlyArray<number>;
  readonly worldSize: number;
  /** Steps per rank (one row each). */
  readonly steps: number;
  /** Rows per shard file (`data-00000-of-0000N.arrow`). Default: 1000. */
  readonly stepsPerShard?: number;
  /** Where the exported steps start (a resume state), or null for the start of the run. Default: null. */
  readonly resumeFrom?: ResumeState | ResumeStateV1 | null;
  /**
   * The padded batches of one rank from a resume state (null: from the start), in order. May be
   * infinite: the export takes the steps it needs and closes it.
   */
  readonly batches: (rank: number, resumeFrom: ResumeState | ResumeStateV1 | null) => AsyncIterable<PaddedBatch>;
  /** Called after each shard: kept from an earlier run (checksum verified) or written now. */
  readonly onShard?: (event: ShardEvent) => void;
}

/**
 * Progress of an export: one shard of one rank.
 *
 * @category models
 */
export interface ShardEvent {
  readonly rank: number;
  readonly shard: number;
  readonly shards: number;
  readonly file: string;
  readonly rows: number;
  readonly status: 'kept' | 'written';
}

/**
 * One finished shard as the manifest records it: enough to check it and to continue after it.
 *
 * @category models
 */
export interface ManifestShard {
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  /** The global step of its first row. */
  readonly first_global_step: number;
  /** The resume state after its last row: where a rerun continues (null: a shard of no rows at the start). */
  readonly resume_after: ResumeState | ResumeStateV1 | null;
}

/**
 * `export-manifest.json` in a rank's folder: what run the folder is for, and its finished shards
 * in order (each checked by SHA-256 before a rerun keeps it).
 *
 * @category models
 */
export interface ExportManifest {
  readonly format: 'llm-retriever-data export';
  readonly version: 1;
  readonly run: {
    readonly rank: number;
    readonly world_size: number;
    readonly steps: number;
    readonly steps_per_shard: number;
    readonly start: ResumeState | ResumeStateV1 | null;
    readonly tensors: 'whole' | 'chunked';
    readonly with_text: boolean;
    readonly false_negative_mask: boolean;
    /** Present for the research flavor only (absent: icl), so that icl manifests written before it still match. */
    readonly flavor?: 'research';
  };
  readonly shards: ReadonlyArray<ManifestShard>;
  readonly complete: boolean;
}

/**
 * What {@link exportSteps} did, per rank.
 *
 * @category models
 */
export interface ExportSummary {
  readonly out: string;
  readonly ranks: ReadonlyArray<{
    readonly rank: number;
    readonly dir: string;
    readonly rows: number;
    /** Shards kept from an earlier run, and written now. */
    readonly kept: number;
    readonly written: number;
    /** The resume state after the last exported step (the same on every rank); null if none was exported from the start. */
    readonly resume: ResumeState | ResumeStateV1 | null;
  }>;
}

/** The manifest's file name in each rank's folder. */
export const EXPORT_MANIFEST = 'export-manifest.json';

/** The split (and folder) name of a rank. */
export const rankSplit = (rank: number): string => `rank_${rank}`;

const sha256OfFile = (path: string): Promise<string | null> =>
  new Promise((resolve) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', () => resolve(null))
      .on('end', () => resolve(hash.digest('hex')));
  });

const readManifest = async (path: string): Promise<ExportManifest | null> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let parsed: ExportManifest;
  try {
    parsed = JSON.parse(text) as ExportManifest;
  } catch (e) {
    throw new ConfigError('out', `${path} is not JSON (${String(e)}): delete the folder or choose another --out`);
  }
  if (parsed.format !== 'llm-retriever-data export' || parsed.version !== 1) throw new ConfigError('out', `${path} is not an export manifest this version writes`);
  return { ...parsed, shards: parsed.shards.map((s) => ({ ...s, resume_after: s.resume_after === null ? null : decodeResumeState(s.resume_after, `${path}: resume_after`) })) };
};

/** @internal */
export const validateExportOptions = (options: ExportStepsOptions) => {
  const stepsPerShard = options.stepsPerShard ?? 1000;
  if (!Number.isSafeInteger(options.steps) || options.steps < 0) throw new ConfigError('steps', `must be a non-negative integer, got ${options.steps}`);
  if (!Number.isSafeInteger(stepsPerShard) || stepsPerShard < 1) throw new ConfigError('steps_per_shard', `must be a positive integer, got ${stepsPerShard}`);
  if (!Number.isSafeInteger(options.worldSize) || options.worldSize < 1) throw new ConfigError('world_size', `must be a positive integer, got ${options.worldSize}`);
  if (options.ranks.length === 0) throw new ConfigError('rank', 'no rank to export');
  for (const rank of options.ranks) {
    if (!Number.isSafeInteger(rank) || rank < 0 || rank >= options.worldSize) throw new ConfigError('rank', `must be in [0, ${options.worldSize}), got ${rank}`);
  }
  const { chunked, withText, falseNegativeMask, flavor } = validateStepTableOptions(options);
  return { stepsPerShard, chunked, withText, falseNegativeMask, flavor };
};

/**
 * Exports `steps` steps of each of `ranks` as a Hugging Face dataset: `out/rank_<r>/` is a
 * `save_to_disk` folder (Arrow IPC stream shards, `dataset_info.json`, `state.json`) with one row
 * per step and the columns of the step table (`stepSchema`: dump's JSON fields); `out/dataset_dict.json`
 * lists every rank of the world size, so `datasets.load_from_disk(out)` is a `DatasetDict` once
 * every rank is written, and `load_from_disk(out/rank_<r>)` one rank's `Dataset` as soon as it is.
 *
 * **Details**: crash-safe and resumable. Shards are cut every `stepsPerShard` steps; each is written
 * under a temporary name, flushed and renamed into place, then recorded in the rank's
 * `export-manifest.json` (itself replaced atomically) with its size, SHA-256 and the resume state
 * after it. A rerun with the same options keeps every recorded shard whose checksum still matches,
 * continues from the resume state after the last one, and writes the rest: the shards come out byte
 * for byte as an uninterrupted export writes them. `dataset_info.json` and `state.json` come last,
 * so a folder with them is complete. Several processes may export different ranks into one folder at
 * once (torchrun: each its own rank).
 *
 * **Gotchas**: a folder holding another export (other ranks' world size, steps, shard size, start,
 * texts, layout or flavor), or a `save_to_disk` folder without a manifest, is a `ConfigError`: choose another
 * folder or delete it. A rerun from other data, configuration or tokenizer fails with the resume
 * state's `ResumeError`.
 *
 * @example
 * await exportSteps({ out: 'steps', ranks: [0, 1], worldSize: 2, steps: 100,
 *   batches: (rank, resumeFrom) => flagEmbeddingBatches({ ...options, rank, worldSize: 2, resumeFrom }) });
 *
 * @category sinks
 */
export const exportSteps = async (options: ExportStepsOptions): Promise<ExportSummary> => {
  const settings = validateExportOptions(options);
  const ranks = [];
  for (const rank of options.ranks) ranks.push(await exportRank(options, rank, settings));
  await mkdir(options.out, { recursive: true });
  // The same bytes from every process that writes into this folder, so concurrent writers agree.
  await atomicWriteFile(join(options.out, 'dataset_dict.json'), JSON.stringify({ splits: Array.from({ length: options.worldSize }, (_, r) => rankSplit(r)) }));
  return { out: options.out, ranks };
};

const exportRank = async (options: ExportStepsOptions, rank: number, settings: ReturnType<typeof validateExportOptions>) => {
  const dir = join(options.out, rankSplit(rank));
  await mkdir(dir, { recursive: true });
  const manifestPath = join(dir, EXPORT_MANIFEST);
  const start = options.resumeFrom ?? null;
  const run: ExportManifest['run'] = {
    rank,
    world_size: options.worldSize,
    steps: options.steps,
    steps_per_shard: settings.stepsPerShard,
    start,
    tensors: settings.chunked ? 'chunked' : 'whole',
    with_text: settings.withText,
    false_negative_mask: settings.falseNegativeMask,
    ...(settings.flavor === 'research' ? { flavor: settings.flavor } : {}),
  };
  const count = Math.max(1, Math.ceil(options.steps / settings.stepsPerShard));
  const names = Array.from({ length: count }, (_, i) => shardFileName(i, count));
  const rowsOf = (i: number) => Math.max(0, Math.min(settings.stepsPerShard, options.steps - i * settings.stepsPerShard));

  const previous = await readManifest(manifestPath);
  if (previous === null) {
    const present = await readdir(dir);
    if (present.some((f) => f === 'state.json' || /^data-\d+-of-\d+\.arrow$/.test(f))) {
      throw new ConfigError('out', `${dir} holds a dataset that is not an export (no ${EXPORT_MANIFEST}): choose another --out or delete it`);
    }
  } else if (!isDeepStrictEqual(previous.run, run)) {
    throw new ConfigError('out', `${dir} holds another export (${JSON.stringify(previous.run)}; this one: ${JSON.stringify(run)}): choose another --out or delete it`);
  }
  // Keep the recorded shards that are still intact, in order, up to the first that is not.
  const kept: ManifestShard[] = [];
  for (const shard of previous?.shards ?? []) {
    if (shard.file !== names[kept.length] || (await sha256OfFile(join(dir, shard.file))) !== shard.sha256) break;
    kept.push(shard);
    options.onShard?.({ rank, shard: kept.length - 1, shards: count, file: shard.file, rows: shard.rows, status: 'kept' });
  }
  // Temporary files of a writer that was killed.
  for (const f of await readdir(dir)) if (/^\.(data-\d+-of-\d+\.arrow|export-manifest\.json|state\.json|dataset_info\.json)\..*\.tmp$/.test(f)) await rm(join(dir, f), { force: true });

  const tableOptions: StepTableOptions = { subBatchSize: options.subBatchSize ?? null, withText: settings.withText, falseNegativeMask: settings.falseNegativeMask, flavor: settings.flavor };
  const features = stepFeatures(tableOptions);
  const toRecordBatch = stepBatchBuilder(tableOptions);
  const metadata = stepTableMetadata(tableOptions);
  const shards = [...kept];
  const save = (complete: boolean) => atomicWriteFile(manifestPath, `${JSON.stringify({ format: 'llm-retriever-data export', version: 1, run, shards, complete } satisfies ExportManifest, null, 2)}\n`);
  if (kept.length < count) {
    // Only a complete folder has state.json (a repair of a finished export takes it away until done).
    await rm(join(dir, 'state.json'), { force: true });
    await save(false);
    const resume = kept.length > 0 ? kept[kept.length - 1]!.resume_after : start;
    const iterator = options.batches(rank, resume)[Symbol.asyncIterator]();
    let expectedStep = resume?.globalStep ?? 0;
    try {
      for (let i = kept.length; i < count; i++) {
        const rows = rowsOf(i);
        const writer = await createShardWriter(join(dir, names[i]!), features, { metadata });
        let last: ResumeState | ResumeStateV1 | null = shards.at(-1)?.resume_after ?? start;
        try {
          for (let row = 0; row < rows; row++) {
            const next = await iterator.next();
            if (next.done === true) throw new ConfigError('steps', `rank ${rank} has only ${expectedStep - (start?.globalStep ?? 0)} steps, not ${options.steps} (the run ended)`);
            const batch = next.value;
            if (batch.rank !== rank || batch.globalStep !== expectedStep) {
              throw new InvariantError(`export of rank ${rank} got rank ${batch.rank}'s step ${batch.globalStep} where step ${expectedStep} was due`);
            }
            expectedStep += 1;
            await writer.writeBatches([toRecordBatch([batch])]);
            last = batch.resume;
          }
        } catch (e) {
          await writer.abort();
          throw e;
        }
        const summary = await writer.close();
        shards.push({ file: names[i]!, rows, bytes: summary.bytes, sha256: summary.sha256, first_global_step: expectedStep - rows, resume_after: last });
        await save(false);
        options.onShard?.({ rank, shard: i, shards: count, file: names[i]!, rows, status: 'written' });
      }
    } finally {
      await iterator.return?.();
    }
  }
  // Deterministic bytes: rewriting them on a rerun of a complete export changes nothing.
  await writeDatasetState(dir, {
    features,
    shardFiles: names,
    fingerprint: fingerprintOfShards(shards),
    split: rankSplit(rank),
    info: { description: `llm-retriever-data: ${options.steps} training steps of rank ${rank} of ${options.worldSize}, one row per step (dump's fields)` },
  });
  await save(true);
  return { rank, dir, rows: options.steps, kept: kept.length, written: count - kept.length, resume: shards.at(-1)?.resume_after ?? start };
};

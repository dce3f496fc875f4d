/**
 * What the false-negative mask costs (a benchmark, not a test). On the throughput benchmark's corpus
 * (examples/data, or ../shared's fixtures, repeated to 2,500 records per file) with bge-en-icl's
 * settings (per-device batch 16, group 8), rank 0 of world sizes 1, 4 and 8, it times:
 *
 * - `sampled`: the pipeline up to the draws and the mask (no texts, no tokens): what the mask adds
 *   where it is computed;
 * - `batches`: the whole pipeline (tokenized, padded batches, transformers.js in this thread);
 * - `resume`: the first batch after resuming at step 2,000 (the draws before it are replayed: with
 *   `global`, every rank's).
 *
 * Prints one JSON line per world size and scope; medians of `--repeats` rounds (default 3).
 *
 *   node --import ./lib/cli/register.mjs examples/bench/mask.ts [--repeats 3] [--steps 50]
 */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import type { ResumeState, TaskFile } from '../../lib/core/model.js';
import { flagEmbeddingStages, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { indexTaskFiles } from '../../lib/sources/indexTaskFiles.js';
import { epochShuffle } from '../../lib/stages/epochShuffle.js';
import { groupByTask } from '../../lib/stages/groupByTask.js';
import { maskFalseNegatives, type FalseNegativeScope } from '../../lib/stages/maskFalseNegatives.js';
import { readRecords } from '../../lib/stages/readRecords.js';
import { sampleGroup } from '../../lib/stages/sampleGroup.js';
import { shardByRank } from '../../lib/stages/shardByRank.js';
import { loadDefaultTokenizer } from '../../lib/tokenizers/transformers.js';
import { makeCorpus } from './corpus.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const repeats = flag('repeats', 3);
const steps = flag('steps', 50);
const RESUME_AT = 2000;

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const sharedFixtures = join(root, '..', 'shared', 'fixtures', 'flagembedding-example-data');
const source = existsSync(sharedFixtures) ? sharedFixtures : join(root, 'examples', 'data');
const out = join(tmpdir(), 'llm-retriever-data-bench', existsSync(sharedFixtures) ? 'fixtures-20k' : 'samples-20k');
await makeCorpus({ source, out, recordsPerFile: 2500, exclude: ['untyped'] });
const trainData = readdirSync(out, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(out, d.name)).sort();

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const timed = async (body: () => Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

const indexCacheDir = join(tmpdir(), 'llm-retriever-data-bench', 'index-cache');
const files: TaskFile[] = await toArray(indexTaskFiles(trainData, { indexCacheDir }));
const additionalSpecialTokens = ['<instruct>', '<query>', '<response>'];
const base = (worldSize: number, scope: FalseNegativeScope, tokenizer: FlagEmbeddingOptions['tokenizer']): FlagEmbeddingOptions => ({
  trainData,
  tokenizer,
  seed: 42,
  perDeviceTrainBatchSize: 16,
  worldSize,
  rank: 0,
  trainGroupSize: 8,
  queryMaxLen: 2048,
  passageMaxLen: 512,
  padToMultipleOf: 8,
  exampleQueryMaxLen: 256,
  examplePassageMaxLen: 256,
  queryInstructionForRetrieval: 'Given a query, retrieve passages that are relevant to the query.',
  queryInstructionFormat: '<instruct>{}\n<query>{}',
  iclSuffixStr: '\n<response>',
  knowledgeDistillation: true,
  indexCacheDir,
  falseNegativeScope: scope,
});

/** The pipeline up to the draws (and the mask). */
const sampled = (o: FlagEmbeddingOptions) =>
  from(files).pipe(
    groupByTask(o),
    epochShuffle(o),
    shardByRank(o),
    readRecords(),
    maskFalseNegatives({ ...o, sampler: () => sampleGroup(o) }),
  );

const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens });
/** The state after RESUME_AT steps (from the draws alone: no texts needed). */
const stateAt = async (worldSize: number): Promise<ResumeState> =>
  (await toArray(sampled(base(worldSize, 'none', tokenizer)).pipe(take(RESUME_AT))))[RESUME_AT - 1]!.resume;

for (const worldSize of [1, 4, 8]) {
  const state = await stateAt(worldSize);
  for (const scope of ['none', 'local', 'global'] as const) {
    const sampledS: number[] = [];
    const batchesS: number[] = [];
    const resumeS: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const fresh = await loadDefaultTokenizer({ additionalSpecialTokens });
      const o = base(worldSize, scope, fresh);
      sampledS.push(await timed(() => toArray(sampled(o).pipe(take(steps)))));
      batchesS.push(await timed(() => toArray(from(files).pipe(flagEmbeddingStages(o), take(steps)))));
      resumeS.push(await timed(() => toArray(sampled({ ...o, resumeFrom: state }).pipe(take(1)))));
    }
    const columns = scope === 'none' ? 0 : scope === 'local' ? 16 * 8 : worldSize * 16 * 8;
    console.log(
      JSON.stringify({
        worldSize,
        scope,
        maskShape: scope === 'none' ? null : `16×${columns}`,
        steps,
        sampled_steps_per_s: Math.round(steps / median(sampledS)),
        batches_per_s: Number((steps / median(batchesS)).toFixed(1)),
        resume_at_2000_s: Number(median(resumeS).toFixed(3)),
      }),
    );
  }
}

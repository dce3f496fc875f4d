/**
 * Streaming benchmark (not a test): a generated corpus of ≥ 2 GB in ≥ 20 task files, bge-en-icl
 * settings, one rank of 8. Prints one JSON line per measurement; each runs in its own process so that
 * its peak RSS and timings are its own.
 *
 *   npm run bench:streaming [-- --out DIR] [-- --records_per_file N]
 *
 * Measures: index build (cold, then from the cache), time to the first batch, peak RSS while
 * streaming (the library in one process; the command `dump` with its default settings, as JSON lines
 * and as the Arrow stream, output to /dev/null), batches/s, the time to resume at step 10,000 with a warm index, and the cost of
 * `--index_check content`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { readResumeState } from '../../lib/core/resume.js';
import { flagEmbeddingBatches, type FlagEmbeddingOptions } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { planReport } from '../../lib/pipelines/planReport.js';
import { indexTaskFiles } from '../../lib/sources/indexTaskFiles.js';
import { loadDefaultTokenizer } from '../../lib/tokenizers/transformers.js';
import { makeCorpus } from './corpus.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const out = arg('out', join(tmpdir(), 'llm-retriever-data-bench', 'corpus-2g'));
const cacheDir = arg('cache', join(tmpdir(), 'llm-retriever-data-bench', 'index-cache'));
const recordsPerFile = Number(arg('records_per_file', '70000'));
const RESUME_STEP = 10_000;
const STREAM_STEPS = Number(arg('stream_steps', '3000'));

/** The corpus keeps the sample corpus's folders (retrieval/, sts/, …): each is a train_data entry. */
const folders = (): string[] => readdirSync(out, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(out, d.name)).sort();

const settings = async (): Promise<FlagEmbeddingOptions> => ({
  trainData: folders(),
  tokenizer: await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] }),
  seed: 42,
  perDeviceTrainBatchSize: 16,
  worldSize: 8,
  rank: 3,
  trainGroupSize: 8,
  queryMaxLen: 2048,
  passageMaxLen: 512,
  padToMultipleOf: 8,
  queryInstructionFormat: '<instruct>{}\n<query>{}',
  iclSuffixStr: '\n<response>',
  knowledgeDistillation: true,
  exampleQueryMaxLen: 256,
  examplePassageMaxLen: 256,
  indexCacheDir: cacheDir,
});

const rssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** The same settings as the command's arguments (text options with backslash-n, as a shell passes them). */
const cliArguments = (steps: number): string[] => [
  'dump',
  '--train_data', ...folders(),
  '--additional_special_tokens', '<instruct>', '<query>', '<response>',
  '--seed', '42', '--per_device_train_batch_size', '16', '--world_size', '8', '--rank', '3',
  '--train_group_size', '8', '--query_max_len', '2048', '--passage_max_len', '512', '--pad_to_multiple_of', '8',
  '--query_instruction_format', '<instruct>{}\\n<query>{}', '--icl_suffix_str', '\\n<response>',
  '--knowledge_distillation', 'true', '--example_query_max_len', '256', '--example_passage_max_len', '256',
  '--index_cache', cacheDir, '--steps', String(steps), '--no_progress',
];

/**
 * Runs the command (bin.mjs, as `npx llm-retriever-data` does) with `nodeFlags`, output to /dev/null;
 * its peak RSS from /proc (Linux: VmHWM, read until it exits) and its wall time.
 */
const runCommand = (argv: ReadonlyArray<string>, nodeFlags: ReadonlyArray<string> = []): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(new URL('../../lib/cli/bin.mjs', import.meta.url)), ...argv], { stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'] });
    let peakKb = 0;
    const status = `/proc/${child.pid}/status`;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'));
        if (m !== null) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // gone
      }
    }, 20);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`exit ${code}: ${stderr}`));
      else resolve({ seconds: seconds(t0), peak_rss_mb: existsSync('/proc') ? Math.round(peakKb / 1024) : null });
    });
  });
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** One measurement, in this process. */
const phase = async (name: string): Promise<Record<string, unknown>> => {
  const t0 = process.hrtime.bigint();
  switch (name) {
    case 'index-cold':
    case 'index-warm': {
      const files = await toArray(indexTaskFiles(folders(), { knowledgeDistillation: true, indexCacheDir: cacheDir }));
      const s = seconds(t0);
      const records = files.reduce((n, f) => n + f.store.size, 0);
      return { seconds: s, files: files.length, records, peak_rss_mb: rssMB() };
    }
    case 'first-batch': {
      const options = await settings();
      const t1 = process.hrtime.bigint();
      await toArray(flagEmbeddingBatches(options).pipe(take(1)));
      return { seconds_from_start: seconds(t0), seconds_pipeline: seconds(t1), peak_rss_mb: rssMB() };
    }
    case 'stream': {
      const options = await settings();
      const t1 = process.hrtime.bigint();
      let tokens = 0;
      let first = 0;
      let n = 0;
      for await (const b of flagEmbeddingBatches(options).pipe(take(STREAM_STEPS))) {
        if (n++ === 0) first = seconds(t1);
        if (b.padded.kind === 'whole') tokens += [...b.padded.queries.attentionMask, ...b.padded.passages.attentionMask].reduce((s, r) => s + r.reduce((a, x) => a + x, 0), 0);
      }
      const s = seconds(t1) - first;
      return { steps: n, batches_per_s: (n - 1) / s, out_tokens_per_s: tokens / seconds(t1), peak_rss_mb: rssMB() };
    }
    case 'make-state': {
      const options = await settings();
      const [batch] = await toArray(flagEmbeddingBatches(options).pipe(take(1)));
      const plan = await planReport(options.trainData, options);
      const state = {
        ...batch!.resume,
        globalStep: RESUME_STEP,
        epoch: Math.floor(RESUME_STEP / plan.stepsPerEpoch),
        step: RESUME_STEP % plan.stepsPerEpoch,
      };
      writeFileSync(join(cacheDir, 'resume.json'), JSON.stringify(state));
      return { steps_per_epoch: plan.stepsPerEpoch, state: { epoch: state.epoch, step: state.step } };
    }
    case 'resume': {
      const options = await settings();
      const resumeFrom = await readResumeState(join(cacheDir, 'resume.json'));
      const t1 = process.hrtime.bigint();
      const [batch] = await toArray(flagEmbeddingBatches({ ...options, resumeFrom }).pipe(take(1)));
      return { resumed_at: batch!.globalStep, seconds_from_start: seconds(t0), seconds_pipeline: seconds(t1), peak_rss_mb: rssMB() };
    }
    default:
      throw new Error(`unknown phase ${name}`);
  }
};

const self = fileURLToPath(import.meta.url);
const run = (name: string, nodeFlags: ReadonlyArray<string> = []): Record<string, unknown> => {
  const line = execFileSync(process.execPath, [...nodeFlags, '--import', new URL('../../lib/cli/register.mjs', import.meta.url).href, self, '--phase', name, '--out', out, '--cache', cacheDir, '--stream_steps', String(STREAM_STEPS)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(line.trim().split('\n').pop()!) as Record<string, unknown>;
};

if (process.argv.includes('--phase')) {
  console.log(JSON.stringify(await phase(arg('phase', ''))));
} else {
  const t0 = process.hrtime.bigint();
  const corpus = await makeCorpus({ source: 'examples/data', out, recordsPerFile, filesPerSource: 2, exclude: ['untyped'] });
  const gb = corpus.bytes / 1e9;
  console.log(JSON.stringify({ corpus: out, files: corpus.files.length, gb: Number(gb.toFixed(3)), generate_s: seconds(t0) }));
  rmSync(cacheDir, { recursive: true, force: true });
  const cold = run('index-cold');
  console.log(JSON.stringify({ phase: 'index-cold', ...cold, mb_per_s: (corpus.bytes / 1e6) / (cold['seconds'] as number) }));
  const warm = run('index-warm');
  console.log(JSON.stringify({ phase: 'index-warm', ...warm, mb_per_s: (corpus.bytes / 1e6) / (warm['seconds'] as number) }));
  console.log(JSON.stringify({ phase: 'first-batch (warm index)', ...run('first-batch') }));
  console.log(JSON.stringify({ phase: 'stream (warm index)', ...run('stream') }));
  // V8 grows its heap lazily when allocation is fast; capping the old and the young generation keeps
  // the process small (live memory is about 130 MB) for some speed.
  const capped = ['--max-old-space-size=160', '--max-semi-space-size=4'];
  console.log(JSON.stringify({ phase: `stream (warm index), ${capped.join(' ')}`, ...run('stream', capped) }));
  console.log(JSON.stringify({ phase: `the command: dump --steps ${STREAM_STEPS} (warm index), default settings`, ...(await runCommand(cliArguments(STREAM_STEPS))) }));
  // The Arrow stream keeps V8's own heap growth (lib/cli/heapGrowth.ts): its peak is the price.
  console.log(JSON.stringify({ phase: `the command: dump --format arrow --steps ${STREAM_STEPS} (warm index), default settings`, ...(await runCommand([...cliArguments(STREAM_STEPS), '--format', 'arrow'])) }));
  console.log(JSON.stringify({ phase: 'the command: plan (warm index), --index_check content', ...(await runCommand(['plan', ...cliArguments(1).slice(1), '--index_check', 'content'])) }));
  console.log(JSON.stringify({ phase: 'the command: plan (warm index), --index_check stat', ...(await runCommand(['plan', ...cliArguments(1).slice(1)])) }));
  console.log(JSON.stringify({ phase: 'make-state', ...run('make-state') }));
  for (let i = 0; i < 3; i++) console.log(JSON.stringify({ phase: `resume at step ${RESUME_STEP} (warm index), run ${i + 1}`, ...run('resume') }));
}

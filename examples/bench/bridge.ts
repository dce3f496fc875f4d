/**
 * Bridge benchmark (not a test): batches delivered as torch tensors in a Python process, by the
 * README's former JSON recipe, by the Arrow stream (python/llm_retriever_data's FlagEmbeddingBatches,
 * iterated as the README shows, and through torch's DataLoader) and by an export read back, side by side with this pipeline in-process (the ceiling of any bridge) and with
 * FlagEmbedding's own data path in-process (when its oracle venv is on the machine). bge-en-icl
 * settings (examples/bench/workload.ts), one run, `--rounds` rounds of every measurement
 * interleaved so that a busy machine slows them alike (the js in-process rate twice a round, before
 * and after the js streams, averaged); medians, and ratios paired by round. The in-process rate is
 * measured twice over: with node's defaults (a library user's process) and with the NODE_OPTIONS the
 * Python package gives its data process on this machine (a smaller V8 worker pool on small
 * machines), so that the stream is also compared with the pipeline under the same V8 settings.
 *
 *   npm run bench:bridge -- [--steps 300] [--rounds 5] [--native true|false]
 *
 * Every measurement is a fresh process, timed from the moment the data is asked for: `steady` is
 * batches/s from the first batch to the last, `e2e` from the start (the data process, its tokenizer
 * and index included) to the last; both stop when the last batch arrives, before the data process
 * (or the pipeline) has finished closing. Prints a table and one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { take } from 'ix/asynciterable/operators';
import { parseArguments } from '../../lib/cli/program.js';
import { optionsFromArguments, tokenizerFromArguments } from '../../lib/cli/commands.js';
import { flagEmbeddingBatches } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { benchmarkCorpus, ROOT, runReference, workloadArguments } from './workload.js';

interface Measure {
  readonly steady_per_s: number | null;
  readonly e2e_per_s: number;
  readonly first_s: number;
  readonly steps: number;
}

const NATIVE = ['--tokenizer_backend', 'native', '--concurrency', '4'];

// A child of this script: the pipeline in-process, batches discarded as they come. Its clock starts
// with the process (performance.now() counts from it): node, the library's modules and the tokenizer
// load count, as they do for the command behind a bridge.
if (process.argv[2] === '--inprocess') {
  const start = 0;
  const args = parseArguments(process.argv.slice(3));
  const options = optionsFromArguments(args, await tokenizerFromArguments(args), {});
  let first = 0;
  let end = 0;
  let n = 0;
  // To the last batch, as the Python side measures (not the pipeline's closing after it).
  for await (const _ of flagEmbeddingBatches(options).pipe(take(args.steps!))) {
    end = performance.now();
    if (n++ === 0) first = end;
  }
  console.log(JSON.stringify({ steps: n, first_s: (first - start) / 1000, steady_per_s: ((n - 1) * 1000) / (end - first), e2e_per_s: (n * 1000) / (end - start) } satisfies Measure));
  process.exit(0);
}

const own = process.argv.slice(2);
const pick = (name: string, fallback: string): string => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 ? own[i + 1]! : fallback;
};
const steps = Number(pick('steps', '300'));
const rounds = Number(pick('rounds', '5'));
const withNative = pick('native', 'true') === 'true';
const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { trainData, note } = await benchmarkCorpus();
const argv = [...workloadArguments(['--steps']), '--steps', String(steps), '--train_data', ...trainData];
const args = parseArguments(argv);

const python = (() => {
  try {
    return execFileSync(join(ROOT, 'python', 'setup-venv.sh'), { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  } catch (e) {
    const why = String((e as { stderr?: Buffer }).stderr ?? e).match(/skipped: .*/)?.[0] ?? String(e);
    console.log(`bench:bridge ${why}`);
    process.exit(0);
  }
})();

// The NODE_OPTIONS the Python package gives its data process on this machine (a V8 worker pool below
// the core count on small machines; _process.data_process_environment): the in-process rate is also
// measured with them, so that the stream is compared with the pipeline under the same V8 settings.
const companionNodeOptions = execFileSync(python, ['-c', "from llm_retriever_data._process import data_process_environment as e; print(e({}).get('NODE_OPTIONS', ''))"], {
  cwd: ROOT,
  env: { ...process.env, PYTHONPATH: join(ROOT, 'python') },
})
  .toString()
  .trim();

const node = (script: string[], extra: string[] = [], nodeOptions?: string) =>
  JSON.parse(
    execFileSync(process.execPath, ['--import', './lib/cli/register.mjs', ...script, ...argv, ...extra], {
      cwd: ROOT,
      maxBuffer: 1 << 24,
      ...(nodeOptions === undefined ? {} : { env: { ...process.env, NODE_OPTIONS: nodeOptions } }),
    })
      .toString()
      .trim()
      .split('\n')
      .pop()!,
  ) as Measure;
const py = (mode: string, rest: string[]) => JSON.parse(execFileSync(python, [join(ROOT, 'examples', 'bench', 'bridge.py'), mode, ...rest], { cwd: ROOT, maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim().split('\n').pop()!) as Measure;

// The index is built once (cached), so that no measurement pays for it.
execFileSync(process.execPath, ['lib/cli/bin.mjs', 'plan', ...argv], { cwd: ROOT, stdio: 'ignore' });

// The export, written once (timed: the export command itself), then read back in every round.
const exportDir = mkdtempSync(join(tmpdir(), 'llm-retriever-data-bridge-'));
const t0 = performance.now();
execFileSync(process.execPath, ['lib/cli/bin.mjs', 'export', ...argv, '--out', exportDir], { cwd: ROOT, stdio: 'ignore' });
const exportWritePerS = steps / ((performance.now() - t0) / 1000);
const rank0 = join(exportDir, 'rank_0');

const options = optionsFromArguments(args, undefined as never, {});
const SAME_POOL = `in-process (js), ${companionNodeOptions === '' ? "node's default V8 pool, as the data process" : `NODE_OPTIONS=${companionNodeOptions} as the data process`}`;
const results: Record<string, Measure[]> = { 'in-process (js)': [], [SAME_POOL]: [] }; // first in the table
const add = (name: string, m: Measure) => (results[name] ??= []).push(m);
/** The mean of two measurements (rates and times averaged). */
const mean = (a: Measure, b: Measure): Measure => ({
  steps: a.steps,
  first_s: (a.first_s + b.first_s) / 2,
  steady_per_s: a.steady_per_s === null || b.steady_per_s === null ? null : (a.steady_per_s + b.steady_per_s) / 2,
  e2e_per_s: (a.e2e_per_s + b.e2e_per_s) / 2,
});
for (let round = 0; round < rounds; round++) {
  // The in-process rate is measured before and after the two Arrow streams and averaged: the
  // machine's speed drifts within a round, and the ratios are taken against this measure.
  const before = node(['examples/bench/bridge.ts', '--inprocess']);
  const samePoolBefore = node(['examples/bench/bridge.ts', '--inprocess'], [], companionNodeOptions);
  add('Arrow stream (js)', py('arrow', argv));
  add('Arrow stream through DataLoader (js)', py('arrow-loader', argv));
  add(SAME_POOL, mean(samePoolBefore, node(['examples/bench/bridge.ts', '--inprocess'], [], companionNodeOptions)));
  add('in-process (js)', mean(before, node(['examples/bench/bridge.ts', '--inprocess'])));
  add('JSON lines (js)', py('json', argv));
  add('export read back', py('export', [rank0]));
  add('export via datasets', py('datasets', [rank0]));
  if (withNative) {
    add('in-process (native)', node(['examples/bench/bridge.ts', '--inprocess'], NATIVE));
    add('Arrow stream (native)', py('arrow', [...argv, ...NATIVE]));
  }
  const reference = runReference(args, options, { steps, repeats: 1 });
  if (reference !== null) {
    const loop = (reference['batches_s_runs'] as number[])[0]!;
    const startUp = (reference['load_s'] as number) + (reference['dataset_s_runs'] as number[])[0]!;
    add('reference (Python, in-process)', { steps, first_s: startUp, steady_per_s: steps / loop, e2e_per_s: steps / (startUp + loop) });
    // The same with its imports (numpy, transformers, the reference's modules), as the bridges' start-up includes node's.
    const imports = reference['imports_s'] as number;
    add('reference, its imports included', { steps, first_s: imports + startUp, steady_per_s: steps / loop, e2e_per_s: steps / (imports + startUp + loop) });
  }
  process.stderr.write(`round ${round + 1} of ${rounds} done\n`);
}
rmSync(exportDir, { recursive: true, force: true });

const summary = Object.fromEntries(
  Object.entries(results).map(([name, ms]) => [
    name,
    { steady_per_s: median(ms.map((m) => m.steady_per_s ?? 0)), e2e_per_s: median(ms.map((m) => m.e2e_per_s)), first_s: median(ms.map((m) => m.first_s)), rounds: ms.map((m) => Number((m.steady_per_s ?? 0).toFixed(1))) },
  ]),
);
// Ratios paired by round (both measured in the same round, so under the same load), then the median.
const ratio = (a: string, b: string, measure: 'steady_per_s' | 'e2e_per_s') => {
  const xs = results[a];
  const ys = results[b];
  if (xs === undefined || ys === undefined) return null;
  return Number(median(xs.map((x, i) => (x[measure] ?? 0) / (ys[i]![measure] ?? 1))).toFixed(2));
};
const goals = {
  arrow_vs_in_process_steady: ratio('Arrow stream (js)', 'in-process (js)', 'steady_per_s'),
  arrow_vs_in_process_e2e: ratio('Arrow stream (js)', 'in-process (js)', 'e2e_per_s'),
  arrow_vs_in_process_same_pool_steady: ratio('Arrow stream (js)', SAME_POOL, 'steady_per_s'),
  arrow_vs_in_process_same_pool_e2e: ratio('Arrow stream (js)', SAME_POOL, 'e2e_per_s'),
  in_process_same_pool_vs_default_steady: ratio(SAME_POOL, 'in-process (js)', 'steady_per_s'),
  arrow_loader_vs_in_process_steady: ratio('Arrow stream through DataLoader (js)', 'in-process (js)', 'steady_per_s'),
  arrow_loader_vs_in_process_e2e: ratio('Arrow stream through DataLoader (js)', 'in-process (js)', 'e2e_per_s'),
  arrow_vs_reference_e2e: ratio('Arrow stream (js)', 'reference (Python, in-process)', 'e2e_per_s'),
  arrow_vs_reference_e2e_imports_included: ratio('Arrow stream (js)', 'reference, its imports included', 'e2e_per_s'),
  arrow_vs_reference_steady: ratio('Arrow stream (js)', 'reference (Python, in-process)', 'steady_per_s'),
  arrow_vs_json_steady: ratio('Arrow stream (js)', 'JSON lines (js)', 'steady_per_s'),
  native_arrow_vs_in_process_steady: ratio('Arrow stream (native)', 'in-process (native)', 'steady_per_s'),
  native_arrow_vs_reference_e2e: ratio('Arrow stream (native)', 'reference (Python, in-process)', 'e2e_per_s'),
};

console.log(`bench:bridge: ${steps} steps, ${rounds} rounds (medians), bge-en-icl settings, corpus ${note}`);
console.log(`export written at ${exportWritePerS.toFixed(1)} steps/s (the export command, start-up included)`);
console.log('| path | batches/s, first to last | batches/s, end to end | first batch after (s) | steady per round |');
console.log('|---|---|---|---|---|');
for (const [name, s] of Object.entries(summary)) console.log(`| ${name} | ${s.steady_per_s.toFixed(1)} | ${s.e2e_per_s.toFixed(1)} | ${s.first_s.toFixed(2)} | ${s.rounds.join(', ')} |`);
console.log('ratios (median over rounds of the ratio within a round):', Object.entries(goals).map(([k, v]) => `${k} ${v}`).join(', '));
console.log(JSON.stringify({ steps, rounds, export_write_per_s: exportWritePerS, data_process_node_options: companionNodeOptions, ...goals, summary, corpus: note }));

/**
 * Throughput benchmark (not a test): the bge-en-icl workload of issue 4, our pipeline against the
 * single-pass tokenizer floor, and against FlagEmbedding's own code when its oracle venv is there.
 * Prints one JSON line.
 *
 *   npm run bench -- [dump arguments] [--steps 50] [--workers N] [--tokenizer_backend js|native|transformers] [--repeats 3]
 *
 * Without --train_data it builds the corpus: ../shared/fixtures (or, without ../shared, this
 * project's examples/data) repeated to 2,500 records per file, two words swapped per text in each copy.
 */
import { from, toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { parseArguments } from '../../lib/cli/program.js';
import { optionsFromArguments, tokenizerFromArguments } from '../../lib/cli/commands.js';
import type { PaddedBatch, TaskFile } from '../../lib/core/model.js';
import { flagEmbeddingStages } from '../../lib/pipelines/flagEmbeddingIcl.js';
import { indexTaskFiles } from '../../lib/sources/indexTaskFiles.js';
import { createRequire } from 'node:module';
import { Tokenizer } from '@huggingface/tokenizers';
import { defaultTokenizerDir, loadTokenizer, readTokenizerFolder, tokenizerSetup } from '../../lib/tokenizers/transformers.js';
import { benchmarkCorpus, runReference, workloadArguments } from './workload.js';

const own = process.argv.slice(2);
const pick = (name: string): string | undefined => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 ? own[i + 1] : undefined;
};
const repeats = Number(pick('repeats') ?? 3);
const withoutOwn = own.filter((_, i) => !['--repeats', '--reference'].includes(own[i]!) && !['--repeats', '--reference'].includes(own[i - 1]!));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

// The corpus, unless --train_data names one.
let trainData: string[];
let corpusNote: string;
if (pick('train_data') === undefined) ({ trainData, note: corpusNote } = await benchmarkCorpus());
else {
  trainData = [];
  corpusNote = 'given';
}
const argv = [...workloadArguments(withoutOwn), ...(trainData.length > 0 ? ['--train_data', ...trainData] : []), ...withoutOwn];
const args = parseArguments(argv);
const steps = args.steps!;

// Load: the tokenizer and the task files' indexes (built once, then from the cache).
const t0 = process.hrtime.bigint();
const tokenizer = await tokenizerFromArguments(args);
const options = optionsFromArguments(args, tokenizer, {});
const files: TaskFile[] = await toArray(indexTaskFiles(options.trainData, options));
const load_s = seconds(t0);

// The floors: every final text encoded exactly once, one call per step. `floor` is the issue's
// definition, the backend itself (@huggingface/tokenizers' or transformers.js's `encode`, or Rust's
// `encodeBatch`) on whole texts; `floor_port` is this library's encoder (word by word, with its word
// cache) on whole texts.
const files0 = await readTokenizerFolder(args.tokenizer ?? defaultTokenizerDir());
const setup = tokenizerSetup(files0, { additionalSpecialTokens: args.additional_special_tokens ?? [] });
const backend = args.tokenizer_backend ?? 'js';
const rawEncoder = async (): Promise<(texts: string[]) => Promise<unknown>> => {
  if (backend === 'native') {
    const native = createRequire(import.meta.url)('@anush008/tokenizers') as typeof import('@anush008/tokenizers');
    const tok = native.Tokenizer.fromString(JSON.stringify(setup.json));
    return (texts) => tok.encodeBatch(texts, { addSpecialTokens: false }).then((es) => es.map((e) => e.getIds()));
  }
  const config = { bos_token: setup.bosToken, eos_token: setup.eosToken, unk_token: setup.unkToken, pad_token: setup.padToken ?? setup.unkToken };
  if (backend === 'transformers') {
    const specifier = '@huggingface/transformers';
    type Tjs = { PreTrainedTokenizer: new (json: object, config: object) => { encode(text: string, options: object): number[] } };
    const tok = new ((await import(specifier)) as Tjs).PreTrainedTokenizer(setup.json, config);
    return async (texts) => texts.map((t) => tok.encode(t, { add_special_tokens: false }));
  }
  const tok = new Tokenizer(setup.json, config) as { encode(text: string, options: object): { ids: number[] } };
  return async (texts) => texts.map((t) => tok.encode(t, { add_special_tokens: false }).ids);
};
const portEncoder = async (): Promise<(texts: string[]) => Promise<unknown>> => {
  const port = await loadTokenizer(args.tokenizer ?? defaultTokenizerDir(), { additionalSpecialTokens: args.additional_special_tokens ?? [], backend, segmentCacheChars: 0 });
  return (texts) => port.encodeBatch(texts);
};
const timeFloor = async (make: () => Promise<(texts: string[]) => Promise<unknown>>, steps_: ReadonlyArray<{ queries: ReadonlyArray<string>; passages: ReadonlyArray<string> }>) => {
  const encode = await make();
  const t = process.hrtime.bigint();
  for (const step of steps_) await encode([...step.queries, ...step.passages]);
  return seconds(t);
};

// The step loop and the floors, alternately: a warm-up round (not counted: the JIT), then `repeats`
// timed rounds. Every round gets fresh tokenizers, so no cache carries over from one to the next.
const runs: number[] = [];
const firsts: number[] = [];
const floorRuns: number[] = [];
const portFloorRuns: number[] = [];
let texts: { queries: ReadonlyArray<string>; passages: ReadonlyArray<string> }[] = [];
let outTokens = 0;
for (let r = 0; r <= repeats; r++) {
  const fresh = { ...options, tokenizer: await tokenizerFromArguments(args) };
  const t1 = process.hrtime.bigint();
  const batches: PaddedBatch[] = [];
  let firstAt = 0;
  for await (const batch of from(files).pipe(flagEmbeddingStages(fresh), take(steps))) {
    if (batches.length === 0) firstAt = seconds(t1);
    batches.push(batch);
  }
  // The step loop in steady state: from the first batch to the last, per batch, times `steps`
  // (the first batch also waits for worker threads to load their tokenizers, once per run).
  if (r > 0) {
    runs.push(((seconds(t1) - firstAt) * steps) / (steps - 1));
    firsts.push(firstAt);
  }
  texts = batches.map((b) => ({ queries: b.queries, passages: b.passages }));
  outTokens = batches.reduce((n, b) => {
    const masks = b.padded.kind === 'whole' ? [b.padded.queries.attentionMask, b.padded.passages.attentionMask] : [...b.padded.queries, ...b.padded.passages].map((t) => t.attentionMask);
    return n + masks.flat(2).reduce((a, x) => a + x, 0);
  }, 0);
  const floorTime = await timeFloor(rawEncoder, texts);
  const portFloorTime = await timeFloor(portEncoder, texts);
  if (r > 0) {
    floorRuns.push(floorTime);
    portFloorRuns.push(portFloorTime);
  }
}
const batches_s = median(runs);
const floor_s = median(floorRuns);
const portFloor_s = median(portFloorRuns);

// The reference, side by side, when its oracle venv is on this machine.
const reference = (pick('reference') ?? 'auto') !== 'false' ? runReference(args, options, { steps, repeats }) : null;

const batchesPerS = steps / batches_s;
console.log(
  JSON.stringify({
    load_s,
    steps,
    batches_s,
    batches_per_s: batchesPerS,
    out_tokens_per_s: outTokens / batches_s,
    tokenizer: args.tokenizer_backend ?? 'js',
    workers: options.workers ?? 0,
    runs_s: runs,
    first_batch_s: median(firsts),
    floor: { batches_s: floor_s, batches_per_s: steps / floor_s, ratio_to_floor: batches_s / floor_s },
    floor_port: { batches_s: portFloor_s, batches_per_s: steps / portFloor_s, ratio_to_floor: batches_s / portFloor_s },
    reference: reference === null ? 'not available (no oracle venv)' : { ...reference, ratio: batchesPerS / (reference['batches_per_s'] as number) },
    corpus: corpusNote,
  }),
);

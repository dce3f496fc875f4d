/**
 * Where the research module crashes (or would garble its text), the research flavor stops before
 * the first batch with a ConfigError naming the option or a RecordError naming file, line and field.
 * With the research oracle on the machine, each case is also run through the module itself, to show
 * that it does fail there.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toArray } from 'ix/asynciterable';
import { take } from 'ix/asynciterable/operators';
import { ConfigError, RecordError } from '../../lib/core/errors.js';
import { researchBatches, type ResearchOptions } from '../../lib/pipelines/research.js';
import { toResearchDumpRecord } from '../../lib/sinks/dumpRecord.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { defaultTokenizerDir } from '../../lib/tokenizers/transformers.js';
import { needsResearchOracle, oraclePython, researchOracleScript } from '../helpers/oracle.js';
import { writeTree } from '../helpers/tmp.js';

const row = (i: number, extra: Readonly<Record<string, unknown>> = {}) => ({
  query: `question ${i}`,
  pos: [`answer ${i}`],
  neg: [`wrong ${i}.a`, `wrong ${i}.b`, `wrong ${i}.c`],
  prompt: 'Retrieve the answer.',
  type: 'normal',
  ...extra,
});
const lines = (rows: ReadonlyArray<unknown>) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const rows = (n: number, extra: (i: number) => Readonly<Record<string, unknown>> = () => ({})) => Array.from({ length: n }, (_, i) => row(i, extra(i)));

interface Case {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
  readonly options?: Partial<ResearchOptions>;
  /** The error: its class, and what its message (and option or first issue) must name. */
  readonly error: { readonly type: typeof ConfigError | typeof RecordError; readonly option?: string; readonly file?: string; readonly line?: number; readonly field?: string; readonly message: RegExp };
  /** What the research module prints when it fails (checked when the oracle is here). */
  readonly oracle: RegExp;
}

const CASES: ReadonlyArray<Case> = [
  {
    name: 'a per-device batch below 6 with in-context examples',
    files: { 'train.jsonl': lines(rows(40)) },
    options: { perDeviceTrainBatchSize: 4 },
    error: { type: ConfigError, option: 'per_device_train_batch_size', message: /random\.sample/ },
    oracle: /Sample larger than population/,
  },
  {
    name: 'a symmetric split whose symmetric_batch_size // world_size is below 6',
    files: { 'train.jsonl': lines(rows(40, () => ({ type: 'symmetric_sts' }))) },
    options: { perDeviceTrainBatchSize: 8, symmetricBatchSize: 10, worldSize: 2 },
    error: { type: ConfigError, option: 'symmetric_batch_size', message: /per-device batch of 5/ },
    oracle: /Sample larger than population/,
  },
  {
    name: 'symmetric_batch_size // world_size of 0',
    files: { 'train.jsonl': lines(rows(40, () => ({ type: 'symmetric_class' }))) },
    options: { perDeviceTrainBatchSize: 8, symmetricBatchSize: 1, worldSize: 2 },
    error: { type: ConfigError, option: 'symmetric_batch_size', message: /is 0/ },
    oracle: /arg 3 must not be zero/,
  },
  {
    name: 'a split with a column the first split lacks',
    files: { 'train.jsonl': lines(rows(12)), 'test.jsonl': lines(rows(12, () => ({ category: 'x' }))) },
    error: { type: RecordError, file: 'test.jsonl', line: 1, field: 'category', message: /does not have/ },
    oracle: /An error occurred while generating the dataset/,
  },
  {
    name: 'a column all null in the first file and text later (a column the module never reads)',
    files: { 'a.jsonl': lines(rows(6, () => ({ source: null }))), 'b.jsonl': lines(rows(6, () => ({ source: 'wiki' }))) },
    error: { type: RecordError, file: 'b.jsonl', line: 1, field: 'source', message: /cannot cast string to null/ },
    oracle: /An error occurred while generating the dataset/,
  },
  {
    name: 'integer scores in the first file and fractions later',
    files: { 'a.jsonl': lines(rows(6, () => ({ pos_scores: [1] }))), 'b.jsonl': lines(rows(6, () => ({ pos_scores: [0.5] }))) },
    error: { type: RecordError, file: 'b.jsonl', field: 'pos_scores', message: /fraction/ },
    oracle: /An error occurred while generating the dataset/,
  },
  {
    name: 'a null type',
    files: { 'train.jsonl': lines(rows(12, (i) => (i === 3 ? { type: null } : {}))) },
    error: { type: RecordError, file: 'train.jsonl', line: 4, field: 'type', message: /symmetric' in type/ },
    oracle: /argument of type 'NoneType' is not iterable|NoneType/,
  },
  {
    name: 'no prompt column',
    files: { 'train.jsonl': lines(rows(12).map(({ prompt: _p, ...r }) => r)) },
    error: { type: RecordError, file: 'train.jsonl', line: 1, field: 'prompt', message: /None/ },
    oracle: /KeyError: 'prompt'/,
  },
  {
    name: 'neg_scores shorter than neg',
    files: { 'train.jsonl': lines(rows(12, (i) => (i === 5 ? { neg_scores: [0.1] } : {}))) },
    error: { type: RecordError, file: 'train.jsonl', line: 6, field: 'neg_scores', message: /sys\.exit/ },
    oracle: /^\[\d/m,
  },
  {
    name: 'pos_scores shorter than pos',
    files: { 'train.jsonl': lines(rows(12, (i) => (i === 2 ? { pos_scores: [] } : {}))) },
    error: { type: RecordError, file: 'train.jsonl', line: 3, field: 'pos_scores', message: /IndexError/ },
    oracle: /IndexError/,
  },
  {
    name: 'an empty pos list',
    files: { 'train.jsonl': lines(rows(12, (i) => (i === 7 ? { pos: [] } : {}))) },
    error: { type: RecordError, file: 'train.jsonl', line: 8, field: 'pos', message: /random\.choice/ },
    oracle: /IndexError|Cannot choose from an empty sequence/,
  },
  {
    name: 'no negatives where the group needs some',
    files: { 'train.jsonl': lines(rows(12, (i) => (i === 9 ? { neg: [] } : {}))) },
    error: { type: RecordError, file: 'train.jsonl', line: 10, field: 'neg', message: /divides by len\(neg\)/ },
    oracle: /ZeroDivisionError/,
  },
  {
    name: 'a clustering record without a category',
    files: { 'train.jsonl': lines(rows(12, (i) => ({ type: 'symmetric_clustering', category: i === 4 ? null : 'c' }))) },
    error: { type: RecordError, file: 'train.jsonl', line: 5, field: 'category', message: /category/ },
    oracle: /TypeError|ValueError/,
  },
  {
    name: 'a split with no rows',
    files: { 'train.jsonl': lines(rows(12)), 'test.jsonl': '' },
    error: { type: ConfigError, option: 'train_data', message: /split "test" has no rows/ },
    oracle: /corresponds to no data/,
  },
  {
    name: 'no split fills a global batch',
    files: { 'train.jsonl': lines(rows(10)) },
    options: { perDeviceTrainBatchSize: 6, worldSize: 2 },
    error: { type: ConfigError, option: 'per_device_train_batch_size', message: /no task fills one global batch/ },
    oracle: /division by zero|ZeroDivisionError|list index out of range|IndexError/,
  },
  {
    name: 'splits in different formats',
    files: { 'train.jsonl': lines(rows(12)), 'test.parquet': 'PAR1' },
    error: { type: ConfigError, option: 'train_data', message: /different formats/ },
    oracle: /Couldn't infer the same data file format/,
  },
  {
    name: 'several configs and none the default',
    files: { 'README.md': '---\nconfigs:\n- config_name: a\n  data_files: a.jsonl\n- config_name: b\n  data_files: a.jsonl\n---\n', 'a.jsonl': lines(rows(12)) },
    error: { type: ConfigError, option: 'train_data', message: /several configs/ },
    oracle: /Config name is missing/,
  },
  {
    name: 'with retrieval_use_examples off, a split mixing types that take examples and types that do not',
    files: { 'train.jsonl': lines(rows(12, (i) => ({ type: i % 3 === 0 ? 'symmetric_sts' : 'normal' }))) },
    options: { retrievalUseExamples: false },
    error: { type: RecordError, file: 'train.jsonl', line: 2, field: 'type', message: /restarts its example list/ },
    oracle: /Sample larger than population/,
  },
];

const base = (dir: string, extra: Partial<ResearchOptions> = {}): ResearchOptions => ({
  flavor: 'research',
  trainData: dir,
  tokenizer: fixtureTokenizer(),
  seed: 1,
  perDeviceTrainBatchSize: 6,
  symmetricBatchSize: 12,
  trainGroupSize: 3,
  queryMaxLen: 600,
  passageMaxLen: 64,
  ...extra,
});

/** Runs the research module on the case; its stderr (and stdout when it printed no steps), or null when it printed steps. */
const oracleFailure = async (dir: string, options: Partial<ResearchOptions>): Promise<string | null> => {
  const config = {
    tokenizer: defaultTokenizerDir(),
    seed: 1,
    batch_size: options.perDeviceTrainBatchSize ?? 6,
    world: options.worldSize ?? 1,
    rank: 0,
    steps: 200,
    data_args: {
      train_data: dir,
      symmetric_batch_size: options.symmetricBatchSize ?? 12,
      train_group_size: 3,
      query_max_len: 600,
      passage_max_len: 64,
      retrieval_use_examples: options.retrievalUseExamples ?? true,
    },
  };
  const child = spawn(oraclePython!, [researchOracleScript!], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.end(JSON.stringify(config));
  const status = await new Promise<number | null>((done) => child.on('close', done));
  const stdout = Buffer.concat(out).toString();
  const printedSteps = status === 0 && stdout.trim().startsWith('[') && stdout.trim() !== '[]';
  return printedSteps ? null : `${Buffer.concat(err).toString()}\n${stdout}`;
};

describe('research flavor: the module\'s crashes are errors before the first batch', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const dir = writeTree(c.files);
      const batches = researchBatches(base(dir, c.options));
      await assert.rejects(toArray(batches.pipe(take(1))), (e: unknown) => {
        assert.ok(e instanceof c.error.type, `${(e as Error).name}: ${(e as Error).message}`);
        assert.match((e as Error).message, c.error.message);
        if (c.error.option !== undefined) assert.equal((e as ConfigError).option, c.error.option);
        if (e instanceof RecordError) {
          if (c.error.file !== undefined) assert.equal(e.file, join(dir, c.error.file));
          if (c.error.line !== undefined) assert.equal(e.line, c.error.line);
          if (c.error.field !== undefined) assert.equal(e.field, c.error.field);
        }
        return true;
      });
    });
  }

  it('each of them does fail in the research module', needsResearchOracle(), async () => {
    // Two at a time: each run spends most of its time importing Python packages.
    const failures: (string | null)[] = [];
    for (let i = 0; i < CASES.length; i += 2) {
      failures.push(...(await Promise.all(CASES.slice(i, i + 2).map((c) => oracleFailure(writeTree(c.files), c.options ?? {})))));
    }
    CASES.forEach((c, i) => {
      const failure = failures[i]!;
      assert.ok(failure !== null, `${c.name}: the research module printed batches`);
      assert.match(failure, c.oracle, c.name);
    });
  });

  it('load_from_disk: a missing folder, a file, a folder without .log, a .log listing rows past the end', async () => {
    const fromDisk = (path: string) => toArray(researchBatches(base('', { loadFromDisk: true, loadDiskPath: path })).pipe(take(1)));
    const dir = writeTree({ 'f.txt': 'x' });
    await assert.rejects(fromDisk(join(dir, 'nope')), (e: unknown) => e instanceof ConfigError && e.option === 'load_disk_path' && /missing/.test(e.message));
    await assert.rejects(fromDisk(join(dir, 'f.txt')), (e: unknown) => e instanceof ConfigError && /a file, not a directory/.test(e.message));
    await assert.rejects(fromDisk(dir), (e: unknown) => e instanceof ConfigError && /does not have \.log/.test(e.message));
    const saved = join(writeTree({}), 'saved');
    await toArray(researchBatches(base(writeTree({ 'train.jsonl': lines(rows(12)) }), { saveToDisk: true, saveDiskPath: saved, exitAfterSave: true })));
    writeFileSync(join(saved, '.log'), JSON.stringify({ train_data: 'x', each_data_inxs: [[0, 1, 99]], batch_size_inxs: [6], data_names: ['train'] }));
    await assert.rejects(fromDisk(saved), (e: unknown) => e instanceof ConfigError && /lists row 99/.test(e.message));
  });

  it('train_data must be one dataset (checked when the pipeline is built)', () => {
    assert.throws(() => researchBatches(base('', { trainData: ['a', 'b'] })), (e: unknown) => e instanceof ConfigError && e.option === 'train_data');
    assert.throws(() => researchBatches(base('', { loadFromDisk: true })), (e: unknown) => e instanceof ConfigError && e.option === 'load_disk_path');
  });

  it('a single data file is read as split train (the oracle refuses it: a deliberate difference), with the batches of a folder holding only it', async () => {
    const folder = writeTree({ 'data.jsonl': lines(rows(24)) });
    mkdirSync(join(folder, 'x'));
    const viaFile = (await toArray(researchBatches(base(join(folder, 'data.jsonl'), { epochs: 2 })))).map(toResearchDumpRecord);
    const viaFolder = (await toArray(researchBatches(base(folder, { epochs: 2 })))).map(toResearchDumpRecord);
    assert.ok(viaFile.length >= 8);
    assert.deepEqual(viaFile, viaFolder);
  });
});

/**
 * The `llm-retriever-data` command: exit codes and one-line messages for bad arguments, `--help`,
 * argument spellings as they reach the output, the shape of `dump`'s lines, and the real binary.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS, optionsOf } from '../../lib/cli/args.js';
import { dumpLines, runCli, type CliRun } from '../helpers/run.js';
import { writeTree } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNTYPED = join(ROOT, 'examples/data/untyped');
const FAQ = join(ROOT, 'examples/data/retrieval/faq.jsonl');

/** The untyped sample has no prompts, so the reference needs an instruction for it. */
const untyped = (...rest: string[]) => ['dump', '--train_data', UNTYPED, '--query_instruction_for_retrieval', 'Find it.', ...rest];

const DUMP_FIELDS = ['epoch', 'example_indices', 'queries_text', 'passages_text', 'teacher_scores', 'no_in_batch_neg', 'q_ids', 'q_mask', 'p_ids', 'p_mask'];

type DumpLine = Record<string, unknown> & {
  epoch: number;
  example_indices: number[];
  queries_text: string[];
  passages_text: string[];
  teacher_scores: number[] | null;
  q_ids: unknown;
  p_ids: unknown;
};

const lines = (run: CliRun): DumpLine[] => {
  assert.equal(run.code, 0, run.stderr);
  return dumpLines(run.stdout) as DumpLine[];
};

/** Exit code 2, nothing on stdout, and exactly one line on stderr mentioning `mention`. */
const assertUsageError = (run: CliRun, mention: RegExp) => {
  assert.equal(run.code, 2, `exit code; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.ok(run.stderr.endsWith('\n'), 'stderr ends with a newline');
  assert.equal(run.stderr.split('\n').length, 2, `one line on stderr, got ${JSON.stringify(run.stderr)}`);
  assert.match(run.stderr, /^llm-retriever-data: error: /);
  assert.match(run.stderr, mention);
};

const isMatrix = (m: unknown): m is number[][] => Array.isArray(m) && m.every((row) => Array.isArray(row) && row.every((x) => Number.isInteger(x)));

describe('cli: bad arguments exit 2 with a one-line message', () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    ['an unknown argument', untyped('--bogus', '1'), /unknown option --bogus for dump/],
    ['a misspelled argument', untyped('--query_max_lne', '1'), /unknown option --query_max_lne for dump \(did you mean --query_max_len\?\)$/m],
    ['a misspelled command', ['dupm', '--train_data', UNTYPED], /unknown command "dupm" \(did you mean dump\?\)/],
    ['an option of another command', untyped('--json'), /unknown option --json for dump \(plan and stats take it\)/],
    ['a negative --steps (it used to print nothing and exit 0)', untyped('--steps', '-1'), /steps: must be a non-negative integer, got -1/],
    ['a negative --workers (it used to be taken as 0)', untyped('--workers', '-1', '--steps', '1'), /workers: must be a non-negative integer/],
    ['an integer beyond 2^53', untyped('--steps', '9007199254740993'), /steps: integer out of range/],
    ['a choice that is not one', untyped('--bad_records', 'ignore'), /bad_records: must be fail or skip, got "ignore"/],
    ['a flag where a value should be', untyped('--icl_suffix_str', '--steps', '1'), /icl_suffix_str: expects a value/],
    ['a non-integer value', untyped('--query_max_len', '3.5'), /query_max_len: expected an integer, got "3\.5"/],
    ['a bool that is not true/false', untyped('--knowledge_distillation', 'maybe'), /knowledge_distillation: expected true or false/],
    ['missing --train_data', ['dump', '--query_max_len', '3'], /train_data: is required/],
    ['rank = world_size', untyped('--world_size', '2', '--rank', '2', '--steps', '1'), /rank/],
    ['rank > world_size', untyped('--world_size', '1', '--rank', '3', '--steps', '1'), /rank/],
    ['a path that does not exist', ['dump', '--train_data', join(ROOT, 'examples/data/no-such-folder'), '--steps', '1'], /train_data: .*no-such-folder/],
    ['an unknown command', ['frobnicate', '--train_data', UNTYPED], /unknown command "frobnicate"/],
    ['a list argument without values', ['dump', '--train_data', '--steps', '1'], /train_data: expects at least one value/],
    ['an argument given twice', untyped('--seed', '1', '--seed', '2'), /seed: given twice/],
    ['a value without a name', ['dump', 'stray', '--train_data', UNTYPED], /unexpected value "stray"/],
    ['a seed that is not a non-negative integer', untyped('--seed', '-3'), /seed/],
  ];
  for (const [what, argv, mention] of cases) {
    it(what, async () => {
      assertUsageError(await runCli(argv), mention);
    });
  }

  it('no command at all: exit 2, one line naming the commands', async () => {
    assertUsageError(await runCli([]), new RegExp(`no command given \\(commands: ${Object.keys(COMMANDS).join(', ')}; see llm-retriever-data --help\\)`));
  });

  it('bad data is not a usage error: exit 1, located', async () => {
    const root = writeTree({ 'a.jsonl': '{"query": "q", "pos": ["p"], "neg": ["n"]}\n{oops\n' });
    const run = await runCli(['dump', '--train_data', root, '--query_instruction_for_retrieval', 'x', '--steps', '1']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /a\.jsonl:2: malformed JSON/);
  });
});

describe('cli: --help and --version', () => {
  const normalized = (text: string) => text.replaceAll(/\s+/g, ' ');

  it('dump --help exits 0, prints on stdout only, and lists every option of ARGUMENTS dump takes with its help', async () => {
    for (const argv of [['dump', '--help'], ['dump', '-h'], ['help', 'dump'], untyped('--help')]) {
      const run = await runCli(argv);
      assert.equal(run.code, 0, argv.join(' '));
      assert.equal(run.stderr, '');
      assert.match(run.stdout, /^Usage: llm-retriever-data dump \[options\]/);
      for (const [name, spec] of optionsOf('dump')) {
        assert.match(run.stdout, new RegExp(`--${name}\\s`), name);
        assert.ok(normalized(run.stdout).includes(normalized(spec.help)), `help of ${name}`);
      }
    }
  });

  it('plan --help lists --json; dump --help does not', async () => {
    assert.match((await runCli(['plan', '--help'])).stdout, /--json\b/);
    assert.doesNotMatch((await runCli(['dump', '--help'])).stdout, /--json\b/);
  });

  it('--help, -h and help: exit 0, the commands and how to get their help', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const run = await runCli(argv);
      assert.equal(run.code, 0);
      assert.equal(run.stderr, '');
      for (const command of Object.keys(COMMANDS)) assert.match(run.stdout, new RegExp(`^  ${command} \\[options\\]`, 'm'));
      assert.match(run.stdout, /llm-retriever-data <command> --help/);
    }
  });

  it("--version prints package.json's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    assert.deepEqual(run, { code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('every command --help advertises is accepted (not "unknown command")', async () => {
    const run = await runCli(['--help']);
    const advertised = [...run.stdout.matchAll(/^  (\w+) \[options\]/gm)].map((m) => m[1]!);
    assert.deepEqual(advertised, Object.keys(COMMANDS));
    for (const command of advertised) {
      const result = await runCli([command, '--train_data', UNTYPED, '--query_instruction_for_retrieval', 'x', '--steps', '1']);
      assert.doesNotMatch(result.stderr, /unknown command/, `"${command}" is advertised by --help but rejected`);
    }
  });
});

describe('cli: arguments as they reach the output', () => {
  it('a bool given without a value means true (--knowledge_distillation carries teacher scores)', async () => {
    const [on] = lines(await runCli(['dump', '--train_data', FAQ, '--knowledge_distillation', '--steps', '1']));
    const [off] = lines(await runCli(['dump', '--train_data', FAQ, '--steps', '1']));
    assert.ok(Array.isArray(on!.teacher_scores) && on!.teacher_scores.length === on!.passages_text.length, 'scores with the flag');
    assert.equal(off!.teacher_scores, null);
  });

  it('"\\n" (backslash, n) in a text option is a newline in the query text', async () => {
    const [step] = lines(await runCli(['dump', '--train_data', UNTYPED, '--query_instruction_for_retrieval', 'A\\nB', '--steps', '1']));
    assert.ok(step!.queries_text.length > 0);
    for (const query of step!.queries_text) {
      assert.ok(query.includes('A\nB'), JSON.stringify(query));
      assert.ok(!query.includes('A\\nB'), JSON.stringify(query));
    }
  });
});

describe('cli: dump', () => {
  it('--steps 3 prints exactly 3 JSON lines with exactly the oracle fields', async () => {
    const run = await runCli(untyped('--steps', '3'));
    assert.equal(run.code, 0, run.stderr);
    const raw = run.stdout.split('\n');
    assert.equal(raw.length, 4, 'three lines and a final newline');
    assert.equal(raw[3], '');
    for (const line of lines(run)) {
      assert.deepEqual(Object.keys(line).sort(), [...DUMP_FIELDS].sort());
      assert.ok(Number.isInteger(line.epoch));
      assert.ok(line.example_indices.every((i) => Number.isInteger(i)));
      assert.ok(isMatrix(line['q_ids']) && isMatrix(line['q_mask']) && isMatrix(line['p_ids']) && isMatrix(line['p_mask']));
      assert.equal(typeof line['no_in_batch_neg'], 'boolean');
    }
  });

  it('without --steps, exactly one epoch: every task contributes floor(size / batch) steps, all of epoch 0', async () => {
    // The sample's two tasks: notes.jsonl (no batch_size: the default 8) and batched.json (batch_size 2).
    const notes = readFileSync(join(UNTYPED, 'notes.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
    const batched = (JSON.parse(readFileSync(join(UNTYPED, 'batched.json'), 'utf8')) as unknown[]).length;
    const expected = Math.floor(notes / 8) + Math.floor(batched / 2);
    const steps = lines(await runCli(untyped()));
    assert.equal(steps.length, expected);
    assert.ok(steps.every((s) => s.epoch === 0));
    // One epoch never repeats a record.
    const seen = steps.flatMap((s) => s.example_indices);
    assert.equal(new Set(seen).size, seen.length);
  });

  it('--sub_batch_size 2 makes q_ids (and the other tensors) lists of matrices of at most 2 rows', async () => {
    const [step] = lines(await runCli(untyped('--steps', '1', '--sub_batch_size', '2')));
    for (const [key, rows] of [
      ['q_ids', step!.queries_text.length],
      ['q_mask', step!.queries_text.length],
      ['p_ids', step!.passages_text.length],
      ['p_mask', step!.passages_text.length],
    ] as const) {
      const chunks = step![key];
      assert.ok(Array.isArray(chunks) && chunks.every(isMatrix), `${key} is a list of matrices`);
      const matrices = chunks as number[][][];
      assert.ok(matrices.every((m) => m.length >= 1 && m.length <= 2), `${key}: chunks of at most 2 rows`);
      assert.equal(
        matrices.reduce((n, m) => n + m.length, 0),
        rows,
        `${key}: all rows`,
      );
      assert.equal(matrices.length, Math.ceil(rows / 2));
    }
  });
});

/** Runs the real command in a child process. */
const spawnBin = (argv: ReadonlyArray<string>): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'lib/cli/bin.mjs'), ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });

describe('cli: the real binary (node lib/cli/bin.mjs)', () => {
  it('dump --steps 1 exits 0 and prints one JSON line', async () => {
    const run = await spawnBin(untyped('--steps', '1'));
    assert.equal(run.code, 0, run.stderr);
    const printed = run.stdout.split('\n').filter((l) => l !== '');
    assert.equal(printed.length, 1);
    assert.deepEqual(Object.keys(JSON.parse(printed[0]!) as object).sort(), [...DUMP_FIELDS].sort());
  });

  it('a bad argument exits 2 with one line on stderr', async () => {
    const run = await spawnBin(untyped('--steps', 'three'));
    assertUsageError(run, /steps: expected an integer/);
  });
});

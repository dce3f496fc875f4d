/**
 * The command under generated bad input (fast-check, the real command in child processes): bad
 * records of every kind, bytes that are not UTF-8, lone surrogate escapes, integers out of range,
 * broken gzip, files it may not read, FIFOs, folders and files where the other is expected, caches
 * that are not private, bad arguments. For each, exactly: exit 1 (data, files, state) or 2
 * (arguments), nothing on stdout, no stack trace on stderr, and the file (with line and field
 * where there is one) or the option named. And the same for `plan` and `dump`: both fail before
 * the first batch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { FC_SEED, fcParams } from '../helpers/fc.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'lib/cli/bin.mjs');
const isRoot = process.getuid?.() === 0;
/** Who runs the command when the scenario needs an ordinary user (as root, file permissions do not apply). */
const NOBODY = 65534;

/** A fresh folder anyone can enter (a child running as another user must reach its files). */
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-retriever-data-cli-faults-'));
  chmodSync(dir, 0o755);
  return dir;
};

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Outcome {
  readonly code: 1 | 2;
  /** What stderr must say: the file with line and field, or the option. */
  readonly mentions: ReadonlyArray<RegExp>;
}

interface Scenario {
  /** Extra arguments after the command; the command is chosen by the property. */
  readonly argv: ReadonlyArray<string>;
  readonly expect: Outcome;
  /** Run as this user (root only). */
  readonly uid?: number;
  /** A fault only this command meets (plan takes dump's state options and does not use them). */
  readonly only?: 'dump';
}

const run = (argv: ReadonlyArray<string>, uid?: number): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...argv], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RANK: '', WORLD_SIZE: '' },
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });

/** The outcome the issue asks for, checked exactly (throws an AssertionError saying what differs). */
const checkOutcome = (r: { code: number | null; stdout: string; stderr: string }, expect: Outcome, context: string): void => {
  assert.equal(r.code, expect.code, context);
  assert.equal(r.stdout, '', `nothing printed before failing: ${context}`);
  assert.match(r.stderr, /^llm-retriever-data: /, context);
  assert.doesNotMatch(r.stderr, /^\s+at \S|node:internal|^\s+\^+\s*$/m, `no stack trace: ${context}`);
  for (const mention of expect.mentions) assert.match(r.stderr, mention, context);
  if (expect.code === 2) assert.equal(r.stderr.split('\n').length, 2, `one line: ${context}`);
};

/** Runs the scenario with `chosen` (or the command it needs) and checks its outcome; true, so that it can be a property. */
const behaves = async (chosen: 'plan' | 'dump', scenario: Scenario): Promise<boolean> => {
  const command = scenario.only ?? chosen;
  const r = await run([command, ...scenario.argv], scenario.uid);
  checkOutcome(r, scenario.expect, `${command} ${scenario.argv.join(' ')}\n--- stderr:\n${r.stderr}`);
  return true;
};

// ------------------------------------------------------------------------------------------------
// Task files with one planted fault.

const goodRecord = (i: number, extra: Record<string, unknown> = {}) => ({ query: `query ${i}`, pos: [`positive ${i}`], neg: [`negative ${i}.0`, `negative ${i}.1`], ...extra });
const linesOf = (records: ReadonlyArray<unknown>) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

/** Common arguments: a private cache of the run's own, an instruction (the files have no prompts), small batches. */
const common = (cache: string) => ['--index_cache', cache, '--query_instruction_for_retrieval', 'Find it.', '--per_device_train_batch_size', '2', '--steps', '2'];

/** n records, the one at `at` (0-based) broken by `breakage`; where the issue names it. */
const fieldFaults: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['query', { query: 5 }],
  ['pos', { pos: [] }],
  ['pos', { pos: 'one text' }],
  ['pos.1', { pos: ['ok', null] }],
  ['neg', { neg: 'x' }],
  ['neg.0', { neg: [7] }],
  ['train_group_size', { train_group_size: 0 }],
  ['train_group_size', { train_group_size: 2 ** 31 }],
  ['train_group_size', { train_group_size: 20_000_000 }],
  ['batch_size', { batch_size: 1.5 }],
  ['batch_size', { batch_size: 1e300 }],
  ['prompt', { prompt: 3 }],
  ['category', { category: [] }],
];

const badField = fc.record({ n: fc.integer({ min: 4, max: 30 }), at: fc.nat(), fault: fc.constantFrom(...fieldFaults) }).map(({ n, at, fault: [field, breakage] }): ((dir: string) => Scenario) => (dir) => {
  const k = at % n;
  const file = join(dir, 'task.jsonl');
  writeFileSync(file, linesOf(Array.from({ length: n }, (_, i) => (i === k ? { ...goodRecord(i), ...breakage } : goodRecord(i)))));
  return { argv: ['--train_data', file, ...common(join(dir, 'cache'))], expect: { code: 1, mentions: [new RegExp(`${escape(file)}:${k + 1}: ${escape(field)}: `)] } };
});

/** Byte sequences that are not UTF-8: a stray byte, a cut sequence, an overlong form, an encoded surrogate, past U+10FFFF. */
const notUtf8 = fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]);
const badBytes = fc.record({ n: fc.integer({ min: 2, max: 20 }), at: fc.nat(), bytes: notUtf8, array: fc.boolean() }).map(({ n, at, bytes, array }): ((dir: string) => Scenario) => (dir) => {
  const k = at % n;
  const file = join(dir, array ? 'task.json' : 'task.jsonl');
  const texts = Array.from({ length: n }, (_, i) => JSON.stringify(goodRecord(i)));
  const parts = texts.map((t, i) => (i === k ? Buffer.concat([Buffer.from(t.slice(0, 12)), Buffer.from(bytes), Buffer.from(t.slice(12))]) : Buffer.from(t)));
  // As JSON Lines, or as one array with one record per line (the issue names the line of the bad byte either way).
  const joined = array ? Buffer.concat([Buffer.from('[\n'), ...parts.flatMap((p, i) => [p, Buffer.from(i + 1 < n ? ',\n' : '\n')]), Buffer.from(']\n')]) : Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
  writeFileSync(file, joined);
  return { argv: ['--train_data', file, ...common(join(dir, 'cache'))], expect: { code: 1, mentions: [new RegExp(`${escape(file)}:${k + 1 + (array ? 1 : 0)}: the record is not valid UTF-8`)] } };
});

const loneSurrogate = fc
  .record({ n: fc.integer({ min: 2, max: 20 }), at: fc.nat(), unit: fc.integer({ min: 0xd800, max: 0xdfff }), where: fc.constantFrom('query', 'pos.0', 'neg.1') })
  .map(({ n, at, unit, where }): ((dir: string) => Scenario) => (dir) => {
    const k = at % n;
    const file = join(dir, 'task.jsonl');
    const escaped = `\\u${unit.toString(16)}`;
    const lines = Array.from({ length: n }, (_, i) => {
      const text = JSON.stringify(goodRecord(i));
      if (i !== k) return text;
      const target = where === 'query' ? `"query ${i}"` : where === 'pos.0' ? `"positive ${i}"` : `"negative ${i}.1"`;
      return text.replace(target, `${target.slice(0, -1)}${escaped}"`);
    });
    writeFileSync(file, lines.join('\n') + '\n');
    return { argv: ['--train_data', file, ...common(join(dir, 'cache'))], expect: { code: 1, mentions: [new RegExp(`${escape(file)}:${k + 1}: ${escape(where)}: has a lone surrogate`)] } };
  });

const brokenGzip = fc.record({ n: fc.integer({ min: 50, max: 400 }), cut: fc.double({ min: 0.05, max: 0.95, noNaN: true }), garbage: fc.boolean() }).map(({ n, cut, garbage }): ((dir: string) => Scenario) => (dir) => {
  const file = join(dir, 'task.jsonl.gz');
  const gz = gzipSync(linesOf(Array.from({ length: n }, (_, i) => goodRecord(i))));
  writeFileSync(file, garbage ? Buffer.from('this is not gzip\n') : gz.subarray(0, Math.max(11, Math.floor(gz.length * cut))));
  return { argv: ['--train_data', file, ...common(join(dir, 'cache'))], expect: { code: 1, mentions: [new RegExp(`${escape(file)}:\\d+: the gzip data (ends too early|is corrupt)`)] } };
});

/** Faults the reference only hits at some batch (a missing prompt, a record without negatives): plan and dump fail at once. */
const lateFaults = fc.record({ n: fc.integer({ min: 4, max: 24 }), at: fc.nat(), kind: fc.constantFrom('prompt', 'neg', 'malformed', 'type') }).map(({ n, at, kind }): ((dir: string) => Scenario) => (dir) => {
  const k = at % n;
  const withPrompts = join(dir, 'a.jsonl');
  const file = join(dir, 'b.jsonl');
  writeFileSync(withPrompts, linesOf(Array.from({ length: 6 }, (_, i) => goodRecord(i, { prompt: 'Find it.', type: 'normal' }))));
  const records = Array.from({ length: n }, (_, i): unknown => {
    const base = goodRecord(i, { prompt: 'Find it.', type: 'normal' });
    if (i !== k) return base;
    if (kind === 'prompt') return { ...base, prompt: undefined };
    if (kind === 'neg') return { ...base, neg: [] };
    if (kind === 'type') return { ...base, type: 'only_1neg' };
    return '{"query": "q", "pos": ["p"],';
  });
  writeFileSync(file, linesOf(records));
  const field = kind === 'prompt' ? 'prompt: is missing while other task files have prompts' : kind === 'neg' ? 'neg: is empty' : kind === 'type' ? 'type: ' : 'malformed JSON';
  return {
    argv: ['--train_data', withPrompts, file, '--index_cache', join(dir, 'cache'), '--per_device_train_batch_size', '2', '--steps', '2'],
    expect: { code: 1, mentions: [new RegExp(`${escape(file)}:${k + 1}: ${escape(field)}`)] },
  };
});

// ------------------------------------------------------------------------------------------------
// Files and folders that are not what they should be, and arguments.

const sample = join(ROOT, 'examples/data/retrieval');

const FILE_FAULTS = [
  'fifo',
  'missing',
  'state_out folder',
  'state_out missing folder',
  'report folder',
  'cache is a file',
  'cache open to others',
  'cache of another user',
  'resume garbage',
  'resume folder',
  'config folder',
  'unreadable file',
  'unreadable folder',
] as const;

const fileFault = (kind: (typeof FILE_FAULTS)[number]) => (dir: string): Scenario => {
  const base = ['--train_data', sample, ...common(join(dir, 'cache'))];
  const option = (name: string, value: string, code: 1 | 2, mention: RegExp): Scenario => ({
    argv: [...(name === 'index_cache' ? ['--train_data', sample, ...common(value)] : [...base, `--${name}`, value])],
    expect: { code, mentions: [mention] },
    ...(name === 'state_out' || name === 'resume_from' ? { only: 'dump' as const } : {}),
  });
  switch (kind) {
    case 'fifo': {
      const fifo = join(dir, 'pipe.jsonl');
      execFileSync('mkfifo', [fifo]);
      return { argv: ['--train_data', fifo, ...common(join(dir, 'cache'))], expect: { code: 2, mentions: [new RegExp(`train_data: ${escape(fifo)} is a FIFO`)] } };
    }
    case 'missing':
      return { argv: ['--train_data', join(dir, 'nothing.jsonl'), ...common(join(dir, 'cache'))], expect: { code: 2, mentions: [/train_data: cannot find file: .*nothing\.jsonl/] } };
    case 'state_out folder':
      return option('state_out', dir, 2, new RegExp(`state_out: ${escape(dir)} is a folder`));
    case 'state_out missing folder':
      return option('state_out', join(dir, 'no', 'state.json'), 2, /state_out: cannot write .*no\/state\.json: its folder .* does not exist/);
    case 'report folder':
      return option('report', dir, 2, new RegExp(`report: cannot write ${escape(dir)}`));
    case 'cache is a file': {
      writeFileSync(join(dir, 'f'), '');
      return option('index_cache', join(dir, 'f'), 2, /index_cache: cannot use .*\/f as the index cache: it is not a folder/);
    }
    case 'cache open to others': {
      mkdirSync(join(dir, 'open'));
      chmodSync(join(dir, 'open'), 0o777);
      return option('index_cache', join(dir, 'open'), 2, /index_cache: cannot use .*\/open as the index cache: other users can write in it \(mode 0777\)/);
    }
    case 'cache of another user': {
      // As root: a folder given to someone else. As anyone else: a folder of root's.
      const theirs = isRoot ? join(dir, 'theirs') : '/usr';
      if (isRoot) {
        mkdirSync(theirs, { mode: 0o700 });
        chownSync(theirs, 12345, 12345);
      }
      return option('index_cache', theirs, 2, /index_cache: cannot use .* as the index cache: it is owned by user id \d+, not by you/);
    }
    case 'resume garbage': {
      writeFileSync(join(dir, 'state.json'), '{"version": 2, "globalStep": -1}');
      return option('resume_from', join(dir, 'state.json'), 1, /cannot resume: .*state\.json/);
    }
    case 'resume folder':
      return option('resume_from', dir, 1, new RegExp(`cannot resume: cannot read ${escape(dir)}`));
    case 'config folder':
      return option('config', dir, 2, new RegExp(`config: cannot read ${escape(dir)}`));
    case 'unreadable file': {
      const file = join(dir, 'secret.jsonl');
      writeFileSync(file, linesOf([goodRecord(0), goodRecord(1), goodRecord(2)]));
      chmodSync(file, 0o000);
      const cache = join(dir, 'nobody-cache');
      mkdirSync(cache, { mode: 0o700 });
      if (isRoot) chownSync(cache, NOBODY, NOBODY);
      return {
        argv: ['--train_data', file, ...common(cache)],
        expect: { code: 1, mentions: [new RegExp(`file error: ${escape(file)}: cannot read it \\(EACCES: permission denied\\)`)] },
        ...(isRoot ? { uid: NOBODY } : {}),
      };
    }
    case 'unreadable folder': {
      const folder = join(dir, 'closed');
      mkdirSync(folder);
      writeFileSync(join(folder, 'a.jsonl'), linesOf([goodRecord(0), goodRecord(1)]));
      chmodSync(folder, 0o000);
      const cache = join(dir, 'nobody-cache');
      mkdirSync(cache, { mode: 0o700 });
      if (isRoot) chownSync(cache, NOBODY, NOBODY);
      return {
        argv: ['--train_data', folder, ...common(cache)],
        expect: { code: 1, mentions: [new RegExp(`file error: ${escape(folder)}: cannot read it \\(EACCES`)] },
        ...(isRoot ? { uid: NOBODY } : {}),
      };
    }
  }
};

const numbers = fc
  .record({
    option: fc.constantFrom('steps', 'per_device_train_batch_size', 'train_group_size', 'workers', 'prefetch', 'concurrency', 'query_max_len', 'seed', 'world_size'),
    value: fc.oneof(
      fc.constantFrom('-1', 'abc', '1.5', '9007199254740993', '1e3', ''),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }).map(String),
      fc.integer({ min: -1000, max: -1 }).map(String),
    ),
  })
  .map(({ option, value }): ((dir: string) => Scenario) => () => ({
    argv: ['--train_data', sample, `--${option}=${value}`, '--index_cache', 'none'],
    expect: { code: 2, mentions: [new RegExp(`error: ${option}: `)] },
  }));

const caps = fc
  .oneof(
    fc.integer({ min: 33, max: 100_000 }).map((n) => ['workers', n] as const),
    fc.integer({ min: 65, max: 100_000 }).map((n) => ['prefetch', n] as const),
    fc.integer({ min: 65, max: 100_000 }).map((n) => ['concurrency', n] as const),
    // Two queries per step here: more than 2^17 passages each is more than 2^18 per step.
    fc.integer({ min: 2 ** 17 + 1, max: 2 ** 40 }).map((n) => ['train_group_size', n] as const),
    fc.integer({ min: 2 ** 16 + 1, max: 2 ** 50 }).map((n) => ['pad_to_multiple_of', n] as const),
  )
  .map(([option, n]): ((dir: string) => Scenario) => (dir) => ({
    argv: ['--train_data', sample, `--${option}`, String(n), ...common(join(dir, 'cache'))],
    expect: { code: 2, mentions: [new RegExp(`error: ${option}: .*${n}`)] },
    // plan takes the performance options of dump and does not use them.
    ...(option === 'train_group_size' ? {} : { only: 'dump' as const }),
  }));

const command = fc.constantFrom('plan', 'dump') as fc.Arbitrary<'plan' | 'dump'>;

describe(`cli under generated faults: exit 1 or 2, the file, line and field (or option) named, no stack trace (FC_SEED=${FC_SEED})`, () => {
  const families: ReadonlyArray<readonly [string, fc.Arbitrary<(dir: string) => Scenario>, number]> = [
    ['a broken field in a random record', badField, 5],
    ['bytes that are not UTF-8 in a random record (JSON Lines or an array)', badBytes, 4],
    ['a lone surrogate escape in a random text', loneSurrogate, 3],
    ['broken or truncated gzip', brokenGzip, 3],
    ['faults the reference meets only at some batch (missing prompt, empty neg), malformed JSON, a second type', lateFaults, 5],
    ['numbers that are not counts', numbers, 3],
    ['absurd sizes and worker counts', caps, 5],
  ];
  for (const [what, arbitrary, numRuns] of families) {
    it(what, { timeout: 240_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(arbitrary, command, async (make, cmd) => behaves(cmd, make(tempDir()))),
        fcParams({ numRuns, interruptAfterTimeLimit: 200_000, includeErrorInReport: true }),
      );
    });
  }

  for (const kind of FILE_FAULTS) {
    it(`not what it should be: ${kind}`, { timeout: 60_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(command, async (cmd) => behaves(cmd, fileFault(kind)(tempDir()))),
        fcParams({ numRuns: 1 }),
      );
    });
  }

  it('meta: the check catches a stack trace, a wrong exit code, output before the failure, a message that names no file, and a second line for an argument error', () => {
    const file = '/data/x.jsonl';
    const data: Outcome = { code: 1, mentions: [new RegExp(`${escape(file)}:3: neg: `)] };
    const argument: Outcome = { code: 2, mentions: [/error: workers: /] };
    const passes = (r: { code: number; stdout?: string; stderr: string }, expect: Outcome) => {
      try {
        checkOutcome({ stdout: '', ...r }, expect, 'meta');
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(passes({ code: 1, stderr: `llm-retriever-data: bad data:\n${file}:3: neg: expected a list\n` }, data), true, 'the right outcome passes');
    assert.equal(passes({ code: 1, stderr: `llm-retriever-data: bad data\nTypeError: x\n    at f (/a/b.js:1:2)\n    at g (/a/b.js:3:4)\n${file}:3: neg: x\n` }, data), false, 'a stack trace');
    assert.equal(passes({ code: 1, stderr: `llm-retriever-data: oops\n    at async Promise.all (index 0)\n    at file:///a/b.js:3:4\n${file}:3: neg: x\n` }, data), false, 'an async stack trace');
    assert.equal(passes({ code: 2, stderr: `llm-retriever-data: bad data:\n${file}:3: neg: x\n` }, data), false, 'exit 2 for data');
    assert.equal(passes({ code: 1, stdout: '{"epoch":0}\n', stderr: `llm-retriever-data: bad data:\n${file}:3: neg: x\n` }, data), false, 'a batch printed first');
    assert.equal(passes({ code: 1, stderr: 'llm-retriever-data: bad data: something is wrong\n' }, data), false, 'no file named');
    assert.equal(passes({ code: 1, stderr: `llm-retriever-data: bad data:\n${file}: neg: x\n` }, data), false, 'no line');
    assert.equal(passes({ code: 2, stderr: 'llm-retriever-data: error: workers: is 100\n' }, argument), true, 'the right argument error passes');
    assert.equal(passes({ code: 2, stderr: 'llm-retriever-data: error: workers: is 100\nand more\n' }, argument), false, 'two lines');
  });
});

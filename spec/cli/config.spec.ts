/**
 * `--config FILE`: JSON or YAML with the flags' names, typed values, the command line's rules, flags
 * winning over the file, and every problem an argument error naming the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { optionsOf } from '../../lib/cli/args.js';
import { readConfigFile } from '../../lib/cli/config.js';
import { parseArguments } from '../../lib/cli/program.js';
import { ConfigError } from '../../lib/core/errors.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';
import { runCli } from '../helpers/run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNTYPED = join(ROOT, 'examples/data/untyped');
const dir = mkdtempSync(join(tmpdir(), 'llm-retriever-data-config-'));
let counter = 0;
/** Writes `text` to a fresh file named `name` (its extension decides the format) and returns its path. */
const file = (name: string, text: string): string => {
  const path = join(dir, `${counter++}-${name}`);
  writeFileSync(path, text);
  return path;
};

const isConfigError = (option: string, message: RegExp) => (e: unknown) => e instanceof ConfigError && e.option === option && message.test(e.message);

const FLAGS = [
  '--train_data', 'a.jsonl', 'dir',
  '--query_max_len', '2048',
  '--shuffle_ratio', '0.25',
  '--knowledge_distillation', 'true',
  '--retrieval_use_examples', 'false',
  '--query_instruction_format', '<instruct>{}\\n<query>{}',
  '--icl_suffix_str', '\\n<response>',
  '--additional_special_tokens', '<instruct>', '<query>', '<response>',
  '--seed', '123456789012345678901234567890',
  '--bad_records', 'skip',
  '--sub_batch_size', '-1',
];

const YAML = `# bge-en-icl settings
train_data: [a.jsonl, dir]
query_max_len: 2048
shuffle_ratio: 0.25
knowledge_distillation: true
retrieval_use_examples: false
query_instruction_format: '<instruct>{}\\n<query>{}'
icl_suffix_str: "\\n<response>"
additional_special_tokens:
  - <instruct>
  - <query>
  - <response>
seed: 123456789012345678901234567890
bad_records: skip
sub_batch_size: -1
`;

const JSON_TEXT = JSON.stringify({
  train_data: ['a.jsonl', 'dir'],
  query_max_len: 2048,
  shuffle_ratio: 0.25,
  knowledge_distillation: true,
  retrieval_use_examples: false,
  query_instruction_format: '<instruct>{}\\n<query>{}',
  icl_suffix_str: '\n<response>',
  additional_special_tokens: ['<instruct>', '<query>', '<response>'],
  bad_records: 'skip',
  sub_batch_size: -1,
}).replace(/}$/, ', "seed": 123456789012345678901234567890}'); // a JSON number beyond 2^53, written as such

describe('readConfigFile', () => {
  it('YAML and JSON with the flags\' names give exactly what the flags give (lists, numbers, booleans, text, a 30-digit seed)', async () => {
    const fromFlags = parseArguments(FLAGS);
    assert.deepEqual(await readConfigFile(file('run.yaml', YAML), 'dump'), fromFlags);
    assert.deepEqual(await readConfigFile(file('run.yml', YAML), 'dump'), fromFlags);
    assert.deepEqual(await readConfigFile(file('run.json', JSON_TEXT), 'dump'), fromFlags);
  });

  it('without .json/.yaml/.yml the content decides: a leading "{" is JSON, anything else YAML', async () => {
    const fromFlags = parseArguments(FLAGS);
    assert.deepEqual(await readConfigFile(file('run.conf', JSON_TEXT), 'dump'), fromFlags);
    assert.deepEqual(await readConfigFile(file('run', YAML), 'dump'), fromFlags);
  });

  it('text: backslash-n is a newline, as on the command line (FlagEmbedding unescapes in __post_init__, for files too); a real newline stays one', async () => {
    const args = await readConfigFile(
      file('t.yaml', 'query_instruction_format: <instruct>{}\\n<query>{}\nicl_suffix_str: "\\n<response>"\npassage_instruction_format: |-\n  A\n  B\n'),
      'dump',
    );
    assert.equal(args.query_instruction_format, '<instruct>{}\n<query>{}');
    assert.equal(args.icl_suffix_str, '\n<response>');
    assert.equal(args.passage_instruction_format, 'A\nB');
    assert.equal((await readConfigFile(file('t.json', '{"icl_suffix_str": "\\\\nResponse:"}'), 'dump')).icl_suffix_str, '\nResponse:');
  });

  it('a single string is a one-value list; null means not given; an empty file gives nothing', async () => {
    assert.deepEqual(await readConfigFile(file('l.yaml', 'train_data: data/\nquery_max_len: null\n'), 'dump'), { train_data: ['data/'] });
    assert.deepEqual(await readConfigFile(file('e.yaml', ''), 'dump'), {});
    assert.deepEqual(await readConfigFile(file('c.yaml', '# only a comment\n'), 'dump'), {});
  });

  it('seeds: an integer of any size, or its decimal text', async () => {
    assert.equal((await readConfigFile(file('s.yaml', 'seed: "18446744073709551621"'), 'dump')).seed, '18446744073709551621');
    assert.equal((await readConfigFile(file('s.json', '{"seed": 18446744073709551621}'), 'dump')).seed, '18446744073709551621');
    assert.equal((await readConfigFile(file('s0.json', '{"seed": 0}'), 'dump')).seed, '0');
  });

  it('the file cannot be read: named, with the reason', async () => {
    const missing = join(dir, 'no-such.yaml');
    await assert.rejects(readConfigFile(missing, 'dump'), isConfigError('config', new RegExp(`cannot read ${missing}: ENOENT`)));
    await assert.rejects(readConfigFile(dir, 'dump'), isConfigError('config', /cannot read .*: EISDIR/));
  });

  it('malformed JSON or YAML: named, with where', async () => {
    await assert.rejects(readConfigFile(file('bad.json', '{"seed": 1,}'), 'dump'), isConfigError('config', /bad\.json: malformed JSON: /));
    await assert.rejects(readConfigFile(file('bad.yaml', 'seed: 1\n  query_max_len: [\n'), 'dump'), isConfigError('config', /bad\.yaml:\d+:\d+: malformed YAML: /));
    await assert.rejects(readConfigFile(file('dup.yaml', 'seed: 1\nseed: 2\n'), 'dump'), isConfigError('config', /dup\.yaml:2:1: malformed YAML: .*unique/));
  });

  it('not a mapping of names to values', async () => {
    await assert.rejects(readConfigFile(file('list.yaml', '- --seed\n- "1"\n'), 'dump'), isConfigError('config', /list\.yaml: expected a mapping of option names to values, got a list/));
    await assert.rejects(readConfigFile(file('num.json', '42'), 'dump'), isConfigError('config', /got the number 42/));
  });

  it('unknown keys, with "did you mean"; keys of another command; a config naming a config', async () => {
    await assert.rejects(readConfigFile(file('u.yaml', 'qurey_max_len: 3\n'), 'dump'), isConfigError('config', /u\.yaml: unknown key "qurey_max_len" \(did you mean query_max_len\?\)$/));
    await assert.rejects(readConfigFile(file('d.yaml', 'query-max-len: 3\n'), 'dump'), isConfigError('config', /unknown key "query-max-len" \(did you mean query_max_len\?\)$/));
    await assert.rejects(readConfigFile(file('n.yaml', 'no_retrieval_use_examples: true\n'), 'dump'), isConfigError('config', /unknown key "no_retrieval_use_examples" \(did you mean retrieval_use_examples\?\)/));
    await assert.rejects(readConfigFile(file('j.yaml', 'json: true\n'), 'dump'), isConfigError('config', /j\.yaml: json is not an option of dump \(plan and stats take it\)/));
    assert.deepEqual(await readConfigFile(file('j2.yaml', 'json: true\n'), 'plan'), { json: true });
    await assert.rejects(readConfigFile(file('cc.yaml', 'config: other.yaml\n'), 'dump'), isConfigError('config', /cannot name another config file/));
  });

  it('values of the wrong type: named by option and file', async () => {
    const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
      ['query_max_len: "64"', 'query_max_len', /expected an integer, got the string "64" \(in .*\)$/],
      ['query_max_len: 1.5', 'query_max_len', /expected an integer, got the number 1\.5/],
      ['query_max_len: -1', 'query_max_len', /must be a non-negative integer, got -1/],
      ['steps: 99999999999999999999', 'steps', /integer out of range/],
      ['knowledge_distillation: "true"', 'knowledge_distillation', /expected true or false, got the string "true"/],
      ['knowledge_distillation: yes', 'knowledge_distillation', /expected true or false, got the string "yes"/],
      ['icl_suffix_str: 5', 'icl_suffix_str', /expected a string, got the number 5/],
      ['train_data: [1, 2]', 'train_data', /expected a list of strings, got a list/],
      ['train_data: []', 'train_data', /expects at least one value/],
      ['seed: -1', 'seed', /expected a non-negative integer/],
      ['shuffle_ratio: .nan', 'shuffle_ratio', /expected a number/],
      ['bad_records: skp', 'bad_records', /must be fail or skip, got "skp" \(did you mean skip\?\)/],
      ['tokenizer: {a: 1}', 'tokenizer', /expected a string, got a mapping/],
    ];
    for (const [yaml, option, message] of cases) await assert.rejects(readConfigFile(file('v.yaml', `${yaml}\n`), 'dump'), isConfigError(option, message), yaml);
  });
});

describe(`readConfigFile properties (FC_SEED=${FC_SEED})`, () => {
  const names = optionsOf('dump').map(([name]) => name);

  it('any mapping of option names (and others) to any JSON values: the options, or a ConfigError; nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string()), fc.jsonValue(), { maxKeys: 4 }), async (mapping) => {
        const path = file('p.json', JSON.stringify(mapping));
        try {
          const args = await readConfigFile(path, 'dump');
          return Object.keys(args).every((k) => names.includes(k as (typeof names)[number]));
        } catch (e) {
          return e instanceof ConfigError;
        }
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it('an integer option and a seed written in YAML read as the command line reads their decimal text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.bigInt({ min: 0n, max: 10n ** 40n }), async (n, seed) => {
        const args = await readConfigFile(file('p.yaml', `world_size: ${n}\nseed: ${seed}\n`), 'dump');
        return isDeepStrictEqual(args, parseArguments(['--world_size', String(n), '--seed', String(seed)]));
      }),
      fcParams({ numRuns: 100 }),
    );
  });
});

describe('cli: --config', () => {
  const dumpFlags = ['--train_data', UNTYPED, '--query_instruction_for_retrieval', 'Find it.\\n', '--per_device_train_batch_size', '2', '--seed', '7', '--steps', '3'];

  it('dump --config FILE prints what the same flags print, byte for byte', async () => {
    const config = file('dump.yaml', `train_data: ${UNTYPED}\nquery_instruction_for_retrieval: 'Find it.\\n'\nper_device_train_batch_size: 2\nseed: 7\nsteps: 3\n`);
    const viaFile = await runCli(['dump', '--config', config]);
    const viaFlags = await runCli(['dump', ...dumpFlags]);
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.equal(viaFile.stdout.split('\n').length, 4);
    assert.ok(viaFile.stdout === viaFlags.stdout, 'the same lines');
  });

  it('flags on the command line override the file, lists included (replaced, not joined)', async () => {
    const config = file('over.json', JSON.stringify({ train_data: ['/no/such/folder'], query_instruction_for_retrieval: 'Find it.\\n', per_device_train_batch_size: 2, seed: 7, steps: 9 }));
    const run = await runCli(['dump', '--config', config, '--train_data', UNTYPED, '--steps', '3']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout === (await runCli(['dump', ...dumpFlags])).stdout);
  });

  it('the file wins over RANK/WORLD_SIZE, flags over both', async () => {
    const env = { RANK: '1', WORLD_SIZE: '2' };
    const config = file('ranks.yaml', `train_data: ${UNTYPED}\nquery_instruction_for_retrieval: x\nper_device_train_batch_size: 2\nsteps: 2\nworld_size: 2\nrank: 0\n`);
    const fromFile = await runCli(['dump', '--config', config], env);
    const rank0 = await runCli(['dump', '--train_data', UNTYPED, '--query_instruction_for_retrieval', 'x', '--per_device_train_batch_size', '2', '--steps', '2', '--world_size', '2', '--rank', '0']);
    const rank1 = await runCli(['dump', '--config', config, '--rank', '1'], env);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.ok(fromFile.stdout === rank0.stdout, 'rank 0 from the file, not 1 from RANK');
    assert.ok(rank1.stdout !== rank0.stdout, 'rank 1 from the flag');
  });

  it('plan takes the same file', async () => {
    const config = file('plan.yaml', `train_data: ${UNTYPED}\nquery_instruction_for_retrieval: x\njson: true\n`);
    const run = await runCli(['plan', '--config', config]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { tasks: unknown[] }).tasks.length, 2);
  });

  for (const [what, text, mention] of [
    ['an unknown key', 'train_dta: x\n', /unknown key "train_dta" \(did you mean train_data\?\)/],
    ['malformed YAML', 'train_data: [x\n', /malformed YAML/],
    ['a value of the wrong type', 'steps: three\n', /steps: expected an integer, got the string "three"/],
  ] as const) {
    it(`${what}: exit 2, one line naming the file, nothing printed`, async () => {
      const config = file('bad.yaml', text);
      const run = await runCli(['dump', '--config', config]);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.split('\n').length, 2, run.stderr);
      assert.ok(run.stderr.startsWith('llm-retriever-data: error: '), run.stderr);
      assert.ok(run.stderr.includes(config), run.stderr);
      assert.match(run.stderr, mention);
    });
  }

  it('a missing config file: exit 2, naming it', async () => {
    const missing = join(dir, 'missing.yaml');
    const run = await runCli(['dump', '--config', missing, '--train_data', UNTYPED]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `llm-retriever-data: error: config: cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'\n`);
  });
});

/**
 * The command line as commander parses it from the tables: FlagEmbedding's (HfArgumentParser's)
 * argument semantics, typed values, per-command options, help, version and "did you mean".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ARGUMENTS, COMMANDS, optionsOf, type CommandName, type OptionSpec } from '../../lib/cli/args.js';
import { packageVersion, parseArguments, parseCommandLine, UsageError } from '../../lib/cli/program.js';
import { ConfigError } from '../../lib/core/errors.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';
import { runCli } from '../helpers/run.js';

const isConfigError = (option: string, message?: RegExp) => (e: unknown) =>
  e instanceof ConfigError && e.option === option && (message === undefined || message.test(e.message));
const isUsageError = (message: RegExp) => (e: unknown) => e instanceof UsageError && message.test(e.message);

/** The text a command line prints (help or version). */
const printed = (argv: string[]): string => {
  const line = parseCommandLine(argv);
  assert.equal(line.kind, 'print', JSON.stringify(argv));
  return line.kind === 'print' ? line.text : '';
};

describe('parseArguments: FlagEmbedding argument semantics', () => {
  it('--name value and --name=value mean the same', () => {
    assert.deepEqual(parseArguments(['--query_max_len', '64']), { query_max_len: 64 });
    assert.deepEqual(parseArguments(['--query_max_len=64']), { query_max_len: 64 });
    assert.deepEqual(parseArguments(['--shuffle_ratio=0.25', '--tokenizer=some/dir']), { shuffle_ratio: 0.25, tokenizer: 'some/dir' });
  });

  it('--name=value keeps everything after the first "=" (and an empty value is a value, as is one starting with "-")', () => {
    assert.deepEqual(parseArguments(['--query_instruction_format={}={}']), { query_instruction_format: '{}={}' });
    assert.deepEqual(parseArguments(['--icl_suffix_str=']), { icl_suffix_str: '' });
    assert.deepEqual(parseArguments(['--icl_suffix_str=-x']), { icl_suffix_str: '-x' });
  });

  it('a list takes every value up to the next flag', () => {
    assert.deepEqual(parseArguments(['--train_data', 'a.jsonl', 'dir', 'b.json', '--query_max_len', '8']), {
      train_data: ['a.jsonl', 'dir', 'b.json'],
      query_max_len: 8,
    });
    assert.deepEqual(parseArguments(['--additional_special_tokens', '<instruct>', '<query>', '<response>']), {
      additional_special_tokens: ['<instruct>', '<query>', '<response>'],
    });
    assert.deepEqual(parseArguments(['--train_data=one']), { train_data: ['one'] });
  });

  it('names with dashes are the names with underscores (HfArgumentParser accepts both)', () => {
    assert.deepEqual(parseArguments(['--train-data', 'a', '--query-max-len=3', '--no-retrieval-use-examples']), {
      train_data: ['a'],
      query_max_len: 3,
      retrieval_use_examples: false,
    });
  });

  it('seeds are kept as text: a 30-digit seed comes back unchanged', () => {
    const seed = '123456789012345678901234567890';
    const parsed = parseArguments(['--seed', seed]);
    assert.equal(parsed.seed, seed);
    assert.equal(typeof parsed.seed, 'string');
    assert.equal(parseArguments(['--seed=0']).seed, '0');
  });

  it('bad seeds: negative, non-decimal, empty', () => {
    for (const bad of ['-1', '1e3', '0x10', '', ' 1', '1.0']) assert.throws(() => parseArguments([`--seed=${bad}`]), isConfigError('seed'), bad);
  });

  it("a bool without a value means true; given values follow HfArgumentParser's string_to_bool", () => {
    assert.deepEqual(parseArguments(['--knowledge_distillation']), { knowledge_distillation: true });
    assert.deepEqual(parseArguments(['--knowledge_distillation', '--query_max_len', '3']), { knowledge_distillation: true, query_max_len: 3 });
    for (const yes of ['true', 'True', 'yes', 'y', 't', '1', 'YES']) assert.equal(parseArguments(['--knowledge_distillation', yes]).knowledge_distillation, true, yes);
    for (const no of ['false', 'FALSE', 'no', 'n', 'f', '0']) assert.equal(parseArguments(['--retrieval_use_examples', no]).retrieval_use_examples, false, no);
    assert.equal(parseArguments(['--knowledge_distillation=false']).knowledge_distillation, false);
    assert.throws(() => parseArguments(['--knowledge_distillation', 'maybe']), isConfigError('knowledge_distillation', /expected true or false/));
    assert.throws(() => parseArguments(['--knowledge_distillation=']), isConfigError('knowledge_distillation'));
  });

  it('--no_NAME sets a boolean that defaults to true to false; only those have one', () => {
    assert.deepEqual(parseArguments(['--no_retrieval_use_examples']), { retrieval_use_examples: false });
    assert.deepEqual(parseArguments(['--no_progress']), { progress: false });
    assert.throws(() => parseArguments(['--no_knowledge_distillation']), isUsageError(/unknown option --no_knowledge_distillation/));
    assert.throws(() => parseArguments(['--retrieval_use_examples', '--no_retrieval_use_examples']), isConfigError('retrieval_use_examples', /given twice/));
  });

  it('integers: counts and sizes are non-negative safe integers; a plus sign is fine', () => {
    assert.equal(parseArguments(['--rank', '+3']).rank, 3);
    assert.equal(parseArguments(['--steps', '0']).steps, 0);
    assert.equal(parseArguments(['--steps', '-0']).steps, 0);
    for (const bad of ['1.5', 'x', '', '1e3', '99999999999999999999', '0x10', '1_000']) {
      assert.throws(() => parseArguments([`--query_max_len=${bad}`]), isConfigError('query_max_len'), bad);
    }
  });

  it('negative counts are argument errors, whichever way they are written (--steps -1 used to print nothing and exit 0)', () => {
    // sub_batch_size and num_shards may be negative: ≤ 0 means "none" / "by size" in the reference.
    for (const name of optionsOf('dump').flatMap(([n, spec]) => (spec.kind === 'int' && n !== 'sub_batch_size' && n !== 'num_shards' ? [n] : []))) {
      assert.throws(() => parseArguments([`--${name}`, '-1']), isConfigError(name, /must be a non-negative integer, got -1/), name);
      assert.throws(() => parseArguments([`--${name}=-5`]), isConfigError(name, /non-negative/), name);
    }
  });

  it("sub_batch_size may be negative: the reference's collator treats ≤ 0 as no chunking (its default is -1)", () => {
    assert.equal(parseArguments(['--sub_batch_size', '-1']).sub_batch_size, -1);
  });

  it('floats: finite numbers only', () => {
    assert.equal(parseArguments(['--shuffle_ratio', '1e-1']).shuffle_ratio, 0.1);
    for (const bad of ['', 'NaN', 'Infinity', 'x', ' ']) assert.throws(() => parseArguments([`--shuffle_ratio=${bad}`]), isConfigError('shuffle_ratio'), bad);
  });

  it('choices: one of the words, with "did you mean" for a near miss', () => {
    assert.equal(parseArguments(['--bad_records', 'skip']).bad_records, 'skip');
    assert.equal(parseArguments(['--tokenizer_backend=native']).tokenizer_backend, 'native');
    assert.equal(parseArguments(['--tokenizer_backend', 'transformers']).tokenizer_backend, 'transformers');
    assert.throws(() => parseArguments(['--bad_records', 'skp']), isConfigError('bad_records', /must be fail or skip, got "skp" \(did you mean skip\?\)/));
    assert.throws(() => parseArguments(['--tokenizer_backend', 'python']), isConfigError('tokenizer_backend', /must be js or native or transformers, got "python"$/));
  });

  it('backslash-n in text options is a newline; paths and lists are left alone', () => {
    const parsed = parseArguments(['--query_instruction_for_retrieval', 'A\\nB', '--tokenizer', 'a\\nb', '--train_data', 'c\\nd']);
    assert.equal(parsed.query_instruction_for_retrieval, 'A\nB');
    assert.equal(parsed.tokenizer, 'a\\nb');
    assert.deepEqual(parsed.train_data, ['c\\nd']);
  });

  it('errors: unknown names, bare values, missing values, extra values, repeats', () => {
    assert.throws(() => parseArguments(['--nope', '1']), isUsageError(/^unknown option --nope for dump$/));
    assert.throws(() => parseArguments(['train_data']), isUsageError(/^unexpected value "train_data"/));
    assert.throws(() => parseArguments(['--train_data']), isConfigError('train_data', /expects at least one value/));
    assert.throws(() => parseArguments(['--train_data', '--seed', '1']), isConfigError('train_data', /expects at least one value/));
    assert.throws(() => parseArguments(['--query_max_len']), isConfigError('query_max_len', /expects a value/));
    assert.throws(() => parseArguments(['--icl_suffix_str', '--seed', '1']), isConfigError('icl_suffix_str', /expects a value/), 'the next flag is never taken as a value');
    assert.throws(() => parseArguments(['--query_max_len', '1', '2']), isUsageError(/^unexpected value "2"/));
    assert.throws(() => parseArguments(['--train_data=a', 'b']), isUsageError(/^unexpected value "b"/));
    assert.throws(() => parseArguments(['--seed', '1', '--seed', '1']), isConfigError('seed', /given twice/));
    assert.throws(() => parseArguments(['--seed=1', '--seed', '2']), isConfigError('seed', /given twice/));
    assert.throws(() => parseArguments(['--train_data', 'a', '--train-data', 'b']), isConfigError('train_data', /given twice/));
  });

  it('no arguments parse to nothing', () => {
    assert.deepEqual(parseArguments([]), {});
  });
});

describe('parseCommandLine: commands, per-command options, did you mean', () => {
  it('a misspelled flag gets the closest option of the command', () => {
    assert.throws(() => parseCommandLine(['dump', '--qurey_max_len', '1']), isUsageError(/^unknown option --qurey_max_len for dump \(did you mean --query_max_len\?\)$/));
    assert.throws(() => parseCommandLine(['plan', '--trian_data', 'x']), isUsageError(/\(did you mean --train_data\?\)$/));
    assert.throws(() => parseCommandLine(['dump', '--jsonn']), isUsageError(/^unknown option --jsonn for dump$/), 'no suggestion of an option dump does not take');
  });

  it('an option of another command says which commands take it', () => {
    assert.throws(() => parseCommandLine(['dump', '--json']), isUsageError(/^unknown option --json for dump \(plan and stats take it\)$/));
  });

  it('an option before the command says where it goes', () => {
    assert.throws(() => parseCommandLine(['--seed', '1', 'dump']), isUsageError(/--seed goes after the command/));
  });

  it('a misspelled command gets the closest command; no command is an error', () => {
    assert.throws(() => parseCommandLine(['dupm']), isUsageError(/^unknown command "dupm" \(did you mean dump\?\)/));
    assert.throws(() => parseCommandLine(['plna', '--train_data', 'x']), isUsageError(/did you mean plan\?/));
    const commands = Object.keys(COMMANDS).join(', ');
    assert.throws(() => parseCommandLine(['frobnicate']), isUsageError(new RegExp(`^unknown command "frobnicate" \\(commands: ${commands}, help\\)$`)));
    assert.throws(() => parseCommandLine([]), isUsageError(/^no command given/));
    assert.throws(() => parseCommandLine(['help', 'dupm']), isUsageError(/^unknown command "dupm" \(did you mean dump\?\)/));
    assert.throws(() => parseCommandLine(['help', 'bogus']), isUsageError(new RegExp(`^unknown command "bogus" \\(commands: ${commands}\\)$`)));
  });

  it('returns the command and its arguments', () => {
    assert.deepEqual(parseCommandLine(['plan', '--train_data', 'a', '--json']), { kind: 'run', command: 'plan', args: { train_data: ['a'], json: true } });
  });
});

describe('parseCommandLine: help and version', () => {
  const normalized = (text: string) => text.replaceAll(/\s+/g, ' ');

  for (const command of Object.keys(COMMANDS) as CommandName[]) {
    it(`${command} --help, ${command} -h and help ${command} list every option ${command} takes, with its help, and no other`, () => {
      const text = printed([command, '--help']);
      assert.equal(printed([command, '-h']), text);
      assert.equal(printed(['help', command]), text);
      assert.match(text, new RegExp(`^Usage: llm-retriever-data ${command} \\[options\\]`));
      for (const [name, spec] of Object.entries(ARGUMENTS as Record<string, OptionSpec>)) {
        if (spec.commands.includes(command)) {
          assert.match(text, new RegExp(`--${name}\\b`), name);
          assert.ok(normalized(text).includes(normalized(spec.help)), `help of ${name}`);
        } else assert.doesNotMatch(text, new RegExp(`--${name}\\b`), `${command} does not take ${name}`);
      }
      assert.doesNotMatch(text, /preset/, 'no commander internals');
    });
  }

  it('--help, -h and help list the commands with their summaries', () => {
    const text = printed(['--help']);
    assert.equal(printed(['-h']), text);
    assert.equal(printed(['help']), text);
    for (const [command, doc] of Object.entries(COMMANDS)) {
      assert.match(text, new RegExp(`^  ${command} \\[options\\]`, 'm'), command);
      assert.ok(normalized(text).includes(normalized(doc.summary)), `summary of ${command}`);
    }
    assert.match(text, /RANK and WORLD_SIZE/);
    assert.match(text, /Exit codes: 0 ok; 1 bad data, files or resume state; 2 bad arguments/);
  });

  it('--help wins over other arguments, even bad ones after it', () => {
    assert.equal(parseCommandLine(['dump', '--train_data', 'x', '--help']).kind, 'print');
  });

  it("--version and -V print package.json's version", () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(packageVersion(), version);
    assert.equal(printed(['--version']), `${version}\n`);
    assert.equal(printed(['-V']), `${version}\n`);
  });
});

describe(`parseCommandLine on any command line (FC_SEED=${FC_SEED})`, () => {
  const names = Object.keys(ARGUMENTS);
  const token = fc.oneof(
    fc.constantFrom('dump', 'plan', 'help', 'dupm', '--', '-', '-h', '--help', '-V', '--version', '-1', '-0.5', '1e3', '=', '--=', '---', '--no_'),
    fc.constantFrom(...names).map((n) => `--${n}`),
    fc.constantFrom(...names).map((n) => `--${n.replaceAll('_', '-')}`),
    fc.constantFrom(...names).map((n) => `--no_${n}`),
    fc.tuple(fc.constantFrom(...names), fc.string()).map(([n, v]) => `--${n}=${v}`),
    fc.constantFrom(...names).map((n) => `--${n.slice(0, -1)}`),
    fc.string(),
    fc.integer().map(String),
  );

  it('parses, or throws a UsageError or a ConfigError: never anything else (no stack trace for a user)', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), (argv) => {
        try {
          parseCommandLine(argv);
          return true;
        } catch (e) {
          return e instanceof UsageError || e instanceof ConfigError;
        }
      }),
      fcParams({ numRuns: 2000 }),
    );
  });

  it('when it does not parse, the command exits 2 with exactly one line on stderr and nothing on stdout', async () => {
    const failing = fc.array(token, { maxLength: 8 }).filter((argv) => {
      try {
        parseCommandLine(argv);
        return false;
      } catch {
        return true;
      }
    });
    await fc.assert(
      fc.asyncProperty(failing, async (argv) => {
        const run = await runCli(argv);
        return run.code === 2 && run.stdout === '' && /^llm-retriever-data: error: [^\n]+\n$/.test(run.stderr);
      }),
      fcParams({ numRuns: 300 }),
    );
  });
});

describe(`parseArguments properties (FC_SEED=${FC_SEED})`, () => {
  it('any decimal seed, however long, survives as the same text', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 60n }), fc.boolean(), (n, withEquals) => {
        const seed = n.toString();
        const argv = withEquals ? [`--seed=${seed}`] : ['--seed', seed];
        return parseArguments(argv).seed === seed;
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('any non-negative safe integer round-trips through an int argument, in both spellings', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.boolean(), (n, withEquals) => {
        const argv = withEquals ? [`--world_size=${n}`] : ['--world_size', String(n)];
        return parseArguments(argv).world_size === n;
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('a list takes exactly the values before the next flag, whatever they are (unless they look like flags)', () => {
    const value = fc.string({ minLength: 1 }).filter((s) => !s.startsWith('-'));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), fc.array(value, { minLength: 1, maxLength: 3 }), (data, tokens) => {
        const parsed = parseArguments(['--train_data', ...data, '--additional_special_tokens', ...tokens, '--steps', '1']);
        return JSON.stringify(parsed) === JSON.stringify({ train_data: data, additional_special_tokens: tokens, steps: 1 });
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('any text, given with "=", comes back with only backslash-n turned into newlines', () => {
    fc.assert(
      fc.property(fc.string(), (text) => parseArguments([`--icl_suffix_str=${text}`]).icl_suffix_str === text.replaceAll('\\n', '\n')),
      fcParams({ numRuns: 300 }),
    );
  });
});

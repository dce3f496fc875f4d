/**
 * `parseArguments`: FlagEmbedding-named `--name value` arguments into typed values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ARGUMENTS, parseArguments, usage } from '../../lib/cli/args.js';
import { ConfigError } from '../../lib/core/errors.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';

const isConfigError = (option: string) => (e: unknown) => e instanceof ConfigError && e.option === option;

describe('parseArguments', () => {
  it('--name value and --name=value mean the same', () => {
    assert.deepEqual(parseArguments(['--query_max_len', '64']), { query_max_len: 64 });
    assert.deepEqual(parseArguments(['--query_max_len=64']), { query_max_len: 64 });
    assert.deepEqual(parseArguments(['--shuffle_ratio=0.25', '--tokenizer=some/dir']), { shuffle_ratio: 0.25, tokenizer: 'some/dir' });
  });

  it('--name=value keeps everything after the first "=" (and an empty value is a value)', () => {
    assert.deepEqual(parseArguments(['--query_instruction_format={}={}']), { query_instruction_format: '{}={}' });
    assert.deepEqual(parseArguments(['--icl_suffix_str=']), { icl_suffix_str: '' });
  });

  it('a list takes every value up to the next --name', () => {
    assert.deepEqual(parseArguments(['--train_data', 'a.jsonl', 'dir', 'b.json', '--query_max_len', '8']), {
      train_data: ['a.jsonl', 'dir', 'b.json'],
      query_max_len: 8,
    });
    assert.deepEqual(parseArguments(['--additional_special_tokens', '<instruct>', '<query>', '<response>']), {
      additional_special_tokens: ['<instruct>', '<query>', '<response>'],
    });
    assert.deepEqual(parseArguments(['--train_data=one']), { train_data: ['one'] });
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

  it('a bool without a value means true; given values follow HfArgumentParser', () => {
    assert.deepEqual(parseArguments(['--knowledge_distillation']), { knowledge_distillation: true });
    assert.deepEqual(parseArguments(['--knowledge_distillation', '--query_max_len', '3']), { knowledge_distillation: true, query_max_len: 3 });
    for (const yes of ['true', 'True', 'yes', 'y', 't', '1']) assert.equal(parseArguments(['--knowledge_distillation', yes]).knowledge_distillation, true, yes);
    for (const no of ['false', 'FALSE', 'no', 'n', 'f', '0']) assert.equal(parseArguments(['--retrieval_use_examples', no]).retrieval_use_examples, false, no);
    assert.throws(() => parseArguments(['--knowledge_distillation', 'maybe']), isConfigError('knowledge_distillation'));
  });

  it('integers: signs allowed, fractions, words and unsafe magnitudes refused', () => {
    assert.equal(parseArguments(['--rank', '+3']).rank, 3);
    assert.equal(parseArguments(['--pad_to_multiple_of=-8']).pad_to_multiple_of, -8);
    for (const bad of ['1.5', 'x', '', '1e3', '99999999999999999999']) {
      assert.throws(() => parseArguments([`--query_max_len=${bad}`]), isConfigError('query_max_len'), bad);
    }
  });

  it('floats: finite numbers only', () => {
    assert.equal(parseArguments(['--shuffle_ratio', '1e-1']).shuffle_ratio, 0.1);
    for (const bad of ['', 'NaN', 'Infinity', 'x', ' ']) assert.throws(() => parseArguments([`--shuffle_ratio=${bad}`]), isConfigError('shuffle_ratio'), bad);
  });

  it('backslash-n in text options is a newline; paths and lists are left alone', () => {
    const parsed = parseArguments(['--query_instruction_for_retrieval', 'A\\nB', '--tokenizer', 'a\\nb', '--train_data', 'c\\nd']);
    assert.equal(parsed.query_instruction_for_retrieval, 'A\nB');
    assert.equal(parsed.tokenizer, 'a\\nb');
    assert.deepEqual(parsed.train_data, ['c\\nd']);
  });

  it('errors: unknown names, bare values, missing values, extra values, repeats', () => {
    assert.throws(() => parseArguments(['--nope', '1']), isConfigError('nope'));
    assert.throws(() => parseArguments(['train_data']), isConfigError('arguments'));
    assert.throws(() => parseArguments(['--train_data']), isConfigError('train_data'));
    assert.throws(() => parseArguments(['--train_data', '--seed', '1']), isConfigError('train_data'));
    assert.throws(() => parseArguments(['--query_max_len']), isConfigError('query_max_len'));
    assert.throws(() => parseArguments(['--query_max_len', '1', '2']), isConfigError('query_max_len'));
    assert.throws(() => parseArguments(['--seed', '1', '--seed', '1']), isConfigError('seed'));
    assert.throws(() => parseArguments(['--seed=1', '--seed', '2']), isConfigError('seed'));
  });

  it('no arguments parse to nothing', () => {
    assert.deepEqual(parseArguments([]), {});
  });

  it('usage lists every argument', () => {
    const text = usage();
    for (const name of Object.keys(ARGUMENTS)) assert.match(text, new RegExp(`--${name}\\b`), name);
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

  it('any safe integer round-trips through an int argument, in both spellings', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.boolean(), (n, withEquals) => {
        const argv = withEquals ? [`--world_size=${n}`] : ['--world_size', String(n)];
        return parseArguments(argv).world_size === n;
      }),
      fcParams({ numRuns: 200 }),
    );
  });
});

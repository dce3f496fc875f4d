/**
 * compilePythonFormat: Python's `str.format` for `{}` / `{0}` fields and `{{` / `}}`, against a
 * segment model; everything else Python's mini-language allows is rejected, as documented.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../lib/core/errors.js';
import { compilePythonFormat } from '../../lib/core/pythonFormat.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

type Render = (template: string, args: ReadonlyArray<string>) => string;
const real: Render = (template, args) => compilePythonFormat('fmt', template).render(args);

/** Text without braces (they are the only special characters), including newlines and non-ASCII. */
const plain = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', ':', '<', '>', 'é', '中', '😀', '\\', '%', '$'), maxLength: 6 });
const args = fc.array(fc.string({ unit: fc.constantFrom('x', 'y', '{', '}', ' ', '😀'), maxLength: 4 }), { minLength: 10, maxLength: 10 });

type Segment = { readonly text: string } | { readonly brace: '{' | '}' } | { readonly field: number };
const segments = (manual: boolean) =>
  fc.array(
    fc.oneof(
      plain.map((text): Segment => ({ text })),
      fc.constantFrom<'{' | '}'>('{', '}').map((brace): Segment => ({ brace })),
      fc.nat({ max: 9 }).map((field): Segment => ({ field })),
    ),
    { maxLength: 8 },
  ).map((ss) => ({ ss, manual }));

/** Model: the template a Python user would write for these segments, and what `format` gives. */
const model = ({ ss, manual }: { ss: ReadonlyArray<Segment>; manual: boolean }, values: ReadonlyArray<string>) => {
  let template = '';
  let expected = '';
  let auto = 0;
  for (const s of ss) {
    if ('text' in s) {
      template += s.text;
      expected += s.text;
    } else if ('brace' in s) {
      template += s.brace + s.brace;
      expected += s.brace;
    } else if (manual) {
      template += `{${s.field}}`;
      expected += values[s.field]!;
    } else {
      template += '{}';
      expected += values[auto++]!;
    }
  }
  return { template, expected };
};

const rendersLikePython = (render: Render) =>
  fc.property(fc.oneof(segments(false), segments(true)), args, (seg, values) => {
    const { template, expected } = model(seg, values);
    return render(template, values) === expected;
  });

const isConfigError = (option: string) => (e: unknown) => e instanceof ConfigError && e.option === option;

describe(`compilePythonFormat (FC_SEED=${FC_SEED})`, () => {
  it('the templates FlagEmbedding uses', () => {
    assert.equal(real('<instruct>{}\n<query>{}', ['Find it.', 'cats']), '<instruct>Find it.\n<query>cats');
    assert.equal(real('Instruct: {}\nQuery: {}', ['Find it.', 'cats']), 'Instruct: Find it.\nQuery: cats');
    assert.equal(real('{}{}', ['a', 'b']), 'ab');
  });

  it('{} fields take the arguments in order; {0} fields by index, repeated or reordered', () => {
    assert.equal(real('{}', ['a']), 'a');
    assert.equal(real('{0}', ['a']), 'a');
    assert.equal(real('{1}-{0}-{1}', ['a', 'b']), 'b-a-b');
    assert.equal(real('{00}', ['a']), 'a', "Python reads int('00')");
  });

  it('{{ and }} are literal braces, also next to fields', () => {
    assert.equal(real('{{}}', []), '{}');
    assert.equal(real('{{{}}}', ['x']), '{x}');
    assert.equal(real('}}{{', []), '}{');
    assert.equal(real('{{0}}', ['x']), '{0}');
  });

  it('for random templates of text, escaped braces and fields (all {} or all {n}), render equals Python format', () => {
    fc.assert(rendersLikePython(real), fcParams({ numRuns: 300 }));
  });

  it('extra arguments are ignored, as in Python', () => {
    fc.assert(
      fc.property(args, fc.nat({ max: 9 }), (values, n) => real('[{}]', values.slice(0, n + 1)) === `[${values[0]}]`),
      fcParams({ numRuns: 50 }),
    );
    assert.equal(real('plain', ['ignored']), 'plain');
  });

  it('arity is the number of arguments read: the highest index + 1', () => {
    assert.equal(compilePythonFormat('fmt', 'plain').arity, 0);
    assert.equal(compilePythonFormat('fmt', '{}{}').arity, 2);
    assert.equal(compilePythonFormat('fmt', '{3}').arity, 4);
    assert.equal(compilePythonFormat('fmt', '{{}}').arity, 0);
  });

  it('too few arguments is a ConfigError naming the option', () => {
    assert.throws(() => compilePythonFormat('query_instruction_format', '{}{}').render(['one']), isConfigError('query_instruction_format'));
    assert.throws(() => compilePythonFormat('fmt', '{2}').render(['a', 'b']), isConfigError('fmt'));
  });

  it('mixing automatic and manual numbering is a ConfigError, either way round', () => {
    assert.throws(() => compilePythonFormat('fmt', '{}{0}'), isConfigError('fmt'));
    assert.throws(() => compilePythonFormat('fmt', '{0}{}'), isConfigError('fmt'));
    assert.throws(() => compilePythonFormat('fmt', '{1} and {} '), /manual field numbering to automatic/);
  });

  it('named fields, attribute and index access, conversions and format specs are rejected', () => {
    for (const template of ['{name}', '{0.attr}', '{0[1]}', '{!r}', '{0!s}', '{:>8}', '{0:>8}', '{ }', '{-1}', '{a{b}']) {
      assert.throws(() => compilePythonFormat('passage_instruction_format', template), isConfigError('passage_instruction_format'), template);
    }
  });

  it("a single '{' or '}' is rejected, as Python does", () => {
    for (const template of ['{', 'a}b', '{}}', '{{}', 'x{', '}']) {
      assert.throws(() => compilePythonFormat('fmt', template), isConfigError('fmt'), template);
    }
  });

  it('meta: the model property catches a renderer that keeps doubled braces, and one that numbers {} from 1', () => {
    const keepsDoubled: Render = (template, values) =>
      compilePythonFormat('fmt', template.replaceAll('{{', '\u0001').replaceAll('}}', '\u0002'))
        .render(values)
        .replaceAll('\u0001', '{{')
        .replaceAll('\u0002', '}}');
    const fromOne: Render = (template, values) => real(template, ['', ...values]);
    assert.equal(fc.check(rendersLikePython(keepsDoubled), { seed: FC_SEED, numRuns: 300 }).failed, true);
    assert.equal(fc.check(rendersLikePython(fromOne), { seed: FC_SEED, numRuns: 300 }).failed, true);
  });
});

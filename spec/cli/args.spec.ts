/**
 * The tables the command line is made from: every option well formed, every command reachable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARGUMENTS, COMMANDS, optionsOf, parseValue, PIPELINE, specOf, valueName, type OptionSpec } from '../../lib/cli/args.js';
import { ConfigError } from '../../lib/core/errors.js';

const entries = Object.entries(ARGUMENTS as Record<string, OptionSpec>);

describe('ARGUMENTS and COMMANDS', () => {
  it('every option: a snake_case name, a help line, at least one command, each a command of COMMANDS', () => {
    for (const [name, spec] of entries) {
      assert.match(name, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, name);
      assert.ok(spec.help.length > 10 && !spec.help.includes('\n'), name);
      assert.ok(spec.commands.length > 0, name);
      for (const command of spec.commands) assert.ok(Object.hasOwn(COMMANDS, command), `${name}: ${command}`);
    }
  });

  it('choices are non-empty words; a negatable boolean leaves its --no_ name free', () => {
    for (const [name, spec] of entries) {
      if (spec.kind === 'choice') assert.ok(spec.choices.length >= 2 && spec.choices.every((c) => /^\S+$/.test(c)), name);
      if (spec.kind === 'bool' && spec.negatable === true) assert.equal(specOf(`no_${name}`), undefined, name);
    }
  });

  it('every command takes options and --config; the pipeline commands take train_data', () => {
    for (const command of Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]) {
      assert.ok(optionsOf(command).some(([n]) => n === 'config'), command);
    }
    for (const command of PIPELINE) assert.ok(optionsOf(command).some(([n]) => n === 'train_data'), command);
  });

  it("specOf knows the table's names and nothing inherited", () => {
    assert.equal(specOf('seed')?.kind, 'seed');
    assert.equal(specOf('toString'), undefined);
    assert.equal(specOf('__proto__'), undefined);
  });

  it('valueName: what --help shows for each kind', () => {
    assert.equal(valueName(ARGUMENTS.train_data), 'PATH');
    assert.equal(valueName(ARGUMENTS.query_max_len), 'N');
    assert.equal(valueName(ARGUMENTS.bad_records), 'fail|skip');
    assert.equal(valueName(ARGUMENTS.knowledge_distillation), '[true|false]');
  });

  it('parseValue errors name the option', () => {
    assert.throws(() => parseValue('steps', ARGUMENTS.steps, 'x'), (e) => e instanceof ConfigError && e.option === 'steps');
  });
});

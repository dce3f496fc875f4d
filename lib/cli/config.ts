/**
 * `--config FILE`: options from a JSON or YAML file, as transformers' HfArgumentParser reads them
 * (`parse_json_file` / `parse_yaml_file`): one mapping whose keys are the options' names (snake_case,
 * as the flags without `--`), values typed as JSON/YAML types.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { checkChoice, checkInteger, optionsOf, specOf, unescapeNewlines, type CommandName, type OptionSpec, type ParsedArguments } from './args.js';
import { didYouMean } from './suggest.js';

const describe = (value: unknown): string => {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return value === null ? 'null' : 'a mapping';
};

const isInteger = (value: unknown): value is number | bigint => typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));

/**
 * One value of a config file, read by the option's kind. Integers come as bigints (the file is
 * parsed with `intAsBigInt`) so that seeds of any size stay exact.
 */
const decodeValue = (name: string, spec: OptionSpec, value: unknown): unknown => {
  const wrong = (expected: string) => new ConfigError(name, `expected ${expected}, got ${describe(value)}`);
  switch (spec.kind) {
    case 'int':
      if (!isInteger(value)) throw wrong('an integer');
      return checkInteger(name, spec, value, String(value));
    case 'float':
      if (typeof value === 'bigint') return Number(value);
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrong('a number');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw wrong('true or false');
      return value;
    case 'seed':
      if (isInteger(value) && value >= 0) return BigInt(value).toString();
      if (typeof value === 'string' && /^\d+$/.test(value)) return value;
      throw wrong('a non-negative integer');
    case 'text':
      // The same rule as on the command line: FlagEmbedding's argument classes turn backslash-n
      // into a newline in __post_init__, which runs for JSON/YAML files as for flags.
      if (typeof value !== 'string') throw wrong('a string');
      return unescapeNewlines(value);
    case 'path':
      if (typeof value !== 'string') throw wrong('a string');
      return value;
    case 'choice':
      if (typeof value !== 'string') throw wrong(spec.choices.join(' or '));
      return checkChoice(name, spec.choices, value);
    case 'list':
      if (typeof value === 'string') return [value];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrong('a list of strings');
      if (value.length === 0) throw new ConfigError(name, 'expects at least one value');
      return value;
  }
};

/**
 * The options in a config file, checked as the command line checks them, for one command.
 *
 * **Details**: JSON for `.json`, YAML for `.yaml`/`.yml`, otherwise JSON when the text starts with
 * `{` and YAML if not. Values are typed: lists (a single string is a one-value list), numbers,
 * booleans (`true`/`false`), strings; `null` means "not given". Text options follow the command
 * line's rule (`\n`, backslash then n, is a newline; a real newline is one anyway). Paths are
 * relative to the working directory, as HfArgumentParser leaves them. An empty file gives no
 * options.
 *
 * **Gotchas**: every problem is a {@link ConfigError} naming the file: a file that cannot be read,
 * malformed JSON/YAML (with line and column), not a mapping, a key that is not an option of the
 * command (with "did you mean"), a value of the wrong type.
 *
 * @example
 * await readConfigFile('run.yaml', 'dump'); // { train_data: ['data/'], query_max_len: 2048, knowledge_distillation: true }
 */
export const readConfigFile = async (path: string, command: CommandName): Promise<ParsedArguments> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('config', `cannot read ${path}: ${(e as Error).message}`);
  }
  const format = /\.json$/i.test(path) ? 'JSON' : /\.ya?ml$/i.test(path) ? 'YAML' : text.trimStart().startsWith('{') ? 'JSON' : 'YAML';
  if (format === 'JSON') {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new ConfigError('config', `${path}: malformed JSON: ${(e as Error).message}`);
    }
  }
  let data: unknown;
  try {
    // JSON is YAML 1.2 too: one parser, with integers as bigints, so that a seed of any size stays exact.
    data = parseYaml(text, { intAsBigInt: true, logLevel: 'error', prettyErrors: true });
  } catch (e) {
    if (!(e instanceof YAMLParseError)) throw e;
    const at = e.linePos?.[0];
    throw new ConfigError('config', `${path}${at === undefined ? '' : `:${at.line}:${at.col}`}: malformed ${format}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '')}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError('config', `${path}: expected a mapping of option names to values, got ${describe(data)}`);
  const args: Record<string, unknown> = {};
  const names = optionsOf(command).map(([name]) => name).filter((name) => name !== 'config');
  for (const [key, value] of Object.entries(data)) {
    const spec = specOf(key);
    if (key === 'config') throw new ConfigError('config', `${path}: a config file cannot name another config file`);
    if (spec === undefined) throw new ConfigError('config', `${path}: unknown key ${JSON.stringify(key)}${didYouMean(key, names)}`);
    if (!spec.commands.includes(command)) throw new ConfigError('config', `${path}: ${key} is not an option of ${command} (${spec.commands.join(' and ')} take${spec.commands.length === 1 ? 's' : ''} it)`);
    if (value === null) continue;
    try {
      args[key] = decodeValue(key, spec, value);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(e.option, `${e.message.slice(e.option.length + 2)} (in ${path})`);
      throw e;
    }
  }
  return args as ParsedArguments;
};

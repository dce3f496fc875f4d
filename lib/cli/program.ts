/**
 * The command line, parsed by commander from the tables of args.ts, with FlagEmbedding's
 * (HfArgumentParser's) argument semantics: `--name value` and `--name=value`; a list takes every
 * value up to the next flag; a bare boolean flag means true and a given value is read by
 * `string_to_bool`; `--no_NAME` for booleans that default to true; `--name-with-dashes` as
 * `--name_with_dashes`. Departures, each a clear error rather than a silent choice: an option given
 * twice (argparse keeps the last), and a prefix of a name (argparse accepts a unique prefix).
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Help, Option } from 'commander';
import { ConfigError } from '../core/errors.js';
import { COMMANDS, optionsOf, parseBool, parseValue, specOf, valueName, type ArgumentName, type CommandName, type OptionSpec, type ParsedArguments } from './args.js';
import { didYouMean } from './suggest.js';

const NAME = 'llm-retriever-data';

/**
 * A command line that does not parse: an unknown option or command, a stray value, no command.
 * (A bad value of a known option is a {@link ConfigError} naming the option.)
 *
 * @category errors
 */
export class UsageError extends Error {
  readonly _tag = 'UsageError' as const;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * What a command line asks for: run a command with these arguments, or print a text (the help or
 * the version) and exit 0.
 */
export type CommandLine =
  | { readonly kind: 'run'; readonly command: CommandName; readonly args: ParsedArguments }
  | { readonly kind: 'print'; readonly text: string };

/**
 * This package's version, from the package.json of the package this module belongs to (found by
 * walking up from this file, so that it works from a checkout and from an installed package, built
 * or not).
 */
export const packageVersion = (): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === NAME && typeof pkg.version === 'string') return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error(`${NAME}: no package.json of ${NAME} above ${fileURLToPath(import.meta.url)}`);
  }
};

/** What commander passes to an option's parser when a flag that needs a value has none. */
const MISSING = Object.freeze({ missing: true });

const FLAG = /^--([^=]+)(=.*)?$/s;

/** `no_NAME` → `NAME`, for the negatable booleans. */
const negated = (name: string): string | undefined => {
  if (!name.startsWith('no_')) return undefined;
  const spec = specOf(name.slice(3));
  return spec?.kind === 'bool' && spec.negatable === true ? name.slice(3) : undefined;
};

const isKnownFlagName = (name: string): boolean => specOf(name) !== undefined || negated(name) !== undefined;

/** `--name-with-dashes[=v]` → `--name_with_dashes[=v]` when that is an option (HfArgumentParser accepts both). */
const underscored = (token: string): string => {
  const m = FLAG.exec(token);
  if (m === null || !m[1]!.includes('-')) return token;
  const name = m[1]!.replaceAll('-', '_');
  return isKnownFlagName(name) ? `--${name}${m[2] ?? ''}` : token;
};

/**
 * Refuses an option given twice (also as `--NAME` and `--no_NAME`). Exact, because no value can
 * look like a flag: commander takes a token starting with `-` as a value only after `=` (or as a
 * negative number), and such tokens never match `--NAME` or `--NAME=…`.
 */
const refuseRepeats = (tokens: ReadonlyArray<string>): void => {
  const seen = new Map<string, string>();
  for (const token of tokens) {
    const m = FLAG.exec(token);
    if (m === null) continue;
    const name = negated(m[1]!) ?? m[1]!;
    if (specOf(name) === undefined) continue;
    const first = seen.get(name);
    if (first !== undefined) throw new ConfigError(name, first === `--${m[1]}` ? 'given twice' : `given twice (${first} and --${m[1]})`);
    seen.set(name, `--${m[1]}`);
  }
};

const missingValue = (name: string, spec: OptionSpec): ConfigError =>
  new ConfigError(name, `${spec.kind === 'list' ? 'expects at least one value' : 'expects a value'} (a value that starts with "-" is written --${name}=-…)`);

/** The commander options of one table entry (two for a negatable boolean). */
const commanderOptions = (name: ArgumentName, spec: OptionSpec): Option[] => {
  if (spec.kind === 'bool') {
    const option = new Option(`--${name} [bool]`, spec.help).argParser((raw: string) => parseBool(name, raw));
    // HfArgumentParser adds --no_NAME for booleans whose default is true.
    return spec.negatable === true ? [option, new Option(`--no_${name}`).hideHelp()] : [option];
  }
  // Every value is declared optional so that commander never takes the next flag as the value
  // (argparse's rule); a missing one reaches the parser as MISSING and is an error there.
  if (spec.kind === 'list') {
    return [
      new Option(`--${name} [values...]`, spec.help).preset(MISSING).argParser((raw: string, previous: string[] | undefined) => {
        if ((raw as unknown) === MISSING) throw missingValue(name, spec);
        return [...(previous ?? []), raw];
      }),
    ];
  }
  return [
    new Option(`--${name} [value]`, spec.help).preset(MISSING).argParser((raw: string) => {
      if ((raw as unknown) === MISSING) throw missingValue(name, spec);
      return parseValue(name, spec, raw);
    }),
  ];
};

const NOTES = [
  '',
  'Options are written "--name value" or "--name=value" (also --name-with-dashes); a list takes every',
  'value up to the next flag; a boolean given bare means true. In text options the two characters \\n',
  'mean a newline, on the command line and in --config files.',
  'Rank and world size default to the RANK and WORLD_SIZE variables torchrun sets, then to 0 and 1.',
  'Precedence: flags, then the --config file, then RANK/WORLD_SIZE, then the defaults.',
  'Exit codes: 0 ok; 1 bad data, files or resume state; 2 bad arguments.',
].join('\n');

/** The commander program: one subcommand per entry of COMMANDS, each with its options from ARGUMENTS. */
const buildProgram = (helpWidth: number, printed: { text: string }, chosen: { command?: CommandName; cmd?: Command }): Command => {
  const terms = new Map<Option, string>();
  const program = new Command(NAME)
    .description("FlagEmbedding's LLM dense-retriever training batches (ICL, instructions, same-task batches), token for token.")
    .configureOutput({
      writeOut: (s) => void (printed.text += s),
      writeErr: () => undefined, // errors come back as CommanderErrors and are reported by the caller, in one line
      outputError: () => undefined,
      getOutHelpWidth: () => helpWidth,
      getErrHelpWidth: () => helpWidth,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .configureHelp({
      optionTerm(this: Help, option: Option) {
        return terms.get(option) ?? Help.prototype.optionTerm.call(this, option);
      },
      // Not commander's "(preset: …)": the preset is the internal marker of a missing value.
      optionDescription: (option: Option) => option.description,
    })
    .exitOverride()
    .showSuggestionAfterError(false)
    .helpOption('-h, --help', 'print this help')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand('help [command]', 'print the help of a command')
    .addHelpText('after', `\nRun "${NAME} <command> --help" for the options of a command.${NOTES}`);
  for (const [command, doc] of Object.entries(COMMANDS) as [CommandName, (typeof COMMANDS)[CommandName]][]) {
    const cmd = program
      .command(command)
      .summary(doc.summary)
      .description(doc.description)
      .helpOption('-h, --help', 'print this help')
      .addHelpText('after', NOTES)
      .action((_options: unknown, self: Command) => {
        chosen.command = command;
        chosen.cmd = self;
      });
    for (const [name, spec] of optionsOf(command)) {
      for (const option of commanderOptions(name, spec)) {
        const v = valueName(spec);
        terms.set(option, spec.kind === 'list' ? `--${name} ${v} [${v} ...]` : `--${name} ${v}`);
        if (spec.kind === 'bool' && spec.negatable === true && !option.hidden) option.description += ` (--no_${name}: false)`;
        if (spec.group !== undefined) option.helpGroup(spec.group);
        cmd.addOption(option);
      }
    }
  }
  return program;
};

/** The flags a command (or, without one, the program) knows: for "did you mean". */
const knownFlags = (command: CommandName | undefined): string[] => [
  ...(command === undefined ? ['--version'] : optionsOf(command).map(([name]) => `--${name}`)),
  '--help',
];

const isCommand = (word: string | undefined): word is CommandName => word !== undefined && Object.hasOwn(COMMANDS, word);

/** A CommanderError as one of ours, in one line. */
const fromCommander = (e: CommanderError, tokens: ReadonlyArray<string>, program: Command): UsageError => {
  const command = isCommand(tokens[0]) ? tokens[0] : undefined;
  switch (e.code) {
    case 'commander.unknownOption': {
      const flag = /unknown option '(.*)'/s.exec(e.message)?.[1] ?? '?';
      const name = FLAG.exec(flag)?.[1];
      if (command === undefined && name !== undefined && specOf(name) !== undefined) {
        return new UsageError(`${flag} goes after the command (${NAME} <command> ${flag} …)`);
      }
      const where = command === undefined ? '' : ` for ${command}`;
      const takenBy = name === undefined ? undefined : specOf(name)?.commands;
      if (takenBy !== undefined) return new UsageError(`unknown option ${flag}${where} (${takenBy.join(' and ')} take${takenBy.length === 1 ? 's' : ''} it)`);
      return new UsageError(`unknown option ${flag}${where}${didYouMean(flag, knownFlags(command))}`);
    }
    case 'commander.unknownCommand': {
      const word = /unknown command '(.*)'/s.exec(e.message)?.[1] ?? String(tokens[0]);
      return new UsageError(`unknown command ${JSON.stringify(word)}${didYouMean(word, Object.keys(COMMANDS))} (commands: ${Object.keys(COMMANDS).join(', ')}, help)`);
    }
    case 'commander.excessArguments': {
      const stray = program.commands.find((c) => c.name() === command)?.args[0] ?? '';
      return new UsageError(`unexpected value ${JSON.stringify(stray)} (options are --name value)`);
    }
    case 'commander.help': // commander would print the help on stderr: a command is missing
      return new UsageError(`no command given (see ${NAME} --help)`);
    default:
      return new UsageError(e.message.replace(/^error: /, '').replaceAll(/\s*\n\s*/g, ' '));
  }
};

/**
 * Parses a command line (without the node and script names). Throws a {@link UsageError} or a
 * {@link ConfigError} (naming the option) for anything that does not parse; never exits the process.
 *
 * @example
 * parseCommandLine(['dump', '--train_data', 'a.jsonl', 'dir', '--query_max_len', '64']);
 * // { kind: 'run', command: 'dump', args: { train_data: ['a.jsonl', 'dir'], query_max_len: 64 } }
 * parseCommandLine(['dump', '--help']); // { kind: 'print', text: 'Usage: llm-retriever-data dump [options]…' }
 */
export const parseCommandLine = (argv: ReadonlyArray<string>, options: { readonly helpWidth?: number } = {}): CommandLine => {
  if (argv.length === 0) throw new UsageError(`no command given (commands: ${Object.keys(COMMANDS).join(', ')}; see ${NAME} --help)`);
  const tokens = argv.map(underscored);
  if (tokens[0] === 'help' && tokens[1] !== undefined && !tokens[1].startsWith('-') && !isCommand(tokens[1])) {
    throw new UsageError(`unknown command ${JSON.stringify(tokens[1])}${didYouMean(tokens[1], Object.keys(COMMANDS))} (commands: ${Object.keys(COMMANDS).join(', ')})`);
  }
  refuseRepeats(tokens);
  const printed = { text: '' };
  const chosen: { command?: CommandName; cmd?: Command } = {};
  const program = buildProgram(options.helpWidth ?? 100, printed, chosen);
  try {
    program.parse(tokens, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    const shown = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
    if (shown && e.exitCode === 0 && printed.text !== '') return { kind: 'print', text: printed.text };
    throw fromCommander(e, tokens, program);
  }
  if (chosen.command === undefined || chosen.cmd === undefined) throw new UsageError(`no command given (see ${NAME} --help)`);
  const values = chosen.cmd.opts<Record<string, unknown>>();
  const args: Record<string, unknown> = {};
  for (const [name, spec] of optionsOf(chosen.command)) {
    if (values[name] !== undefined) args[name] = values[name];
    if (spec.kind === 'bool' && spec.negatable === true && values[`no_${name}`] !== undefined) args[name] = false;
  }
  return { kind: 'run', command: chosen.command, args: args as ParsedArguments };
};

/**
 * The arguments of one command (default `dump`), without the command word: for programs that take
 * the CLI's options (the benchmarks). Help and version requests are a {@link UsageError} here.
 *
 * @example
 * parseArguments(['--train_data', 'a.jsonl', 'dir', '--query_max_len', '64']);
 * // { train_data: ['a.jsonl', 'dir'], query_max_len: 64 }
 */
export const parseArguments = (argv: ReadonlyArray<string>, command: CommandName = 'dump'): ParsedArguments => {
  const line = parseCommandLine([command, ...argv]);
  if (line.kind !== 'run') throw new UsageError('--help and --version are not arguments here');
  return line.args;
};


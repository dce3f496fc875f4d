/**
 * Python's `str.format` for the templates FlagEmbedding uses (`"<instruct>{}\n<query>{}"`).
 *
 * @module
 */
import { ConfigError } from './errors.js';

type Part = { readonly literal: string } | { readonly argument: number };

/**
 * A compiled format template: `render(args)` is Python's `template.format(*args)`.
 *
 * @category models
 */
export interface PythonFormat {
  readonly template: string;
  /** How many positional arguments the template reads (the highest index + 1). */
  readonly arity: number;
  readonly render: (args: ReadonlyArray<string>) => string;
}

/**
 * Compiles a Python format string. Supports literal text, `{{` / `}}`, automatic `{}` and manual
 * `{0}` fields (not both, as in Python).
 *
 * **Gotchas**: named fields, attribute/index access, conversions (`{!r}`) and format specs
 * (`{:>8}`) are rejected with a {@link ConfigError} naming `option`, rather than half-supported.
 * Extra arguments are ignored, as in Python.
 *
 * @example
 * compilePythonFormat('query_instruction_format', '<instruct>{}\n<query>{}').render(['Find it.', 'cats']);
 * // '<instruct>Find it.\n<query>cats'
 *
 * @category constructors
 */
export const compilePythonFormat = (option: string, template: string): PythonFormat => {
  const parts: Part[] = [];
  let literal = '';
  let auto = 0;
  let numbering: 'auto' | 'manual' | undefined;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '}') {
      if (template[i + 1] !== '}') throw new ConfigError(option, `single '}' encountered in format string ${JSON.stringify(template)}`);
      literal += '}';
      i++;
      continue;
    }
    if (c !== '{') {
      literal += c;
      continue;
    }
    if (template[i + 1] === '{') {
      literal += '{';
      i++;
      continue;
    }
    const close = template.indexOf('}', i);
    if (close < 0) throw new ConfigError(option, `single '{' encountered in format string ${JSON.stringify(template)}`);
    const name = template.slice(i + 1, close);
    let argument: number;
    if (name === '') {
      if (numbering === 'manual') throw new ConfigError(option, 'cannot switch from manual field numbering to automatic field numbering');
      numbering = 'auto';
      argument = auto++;
    } else if (/^\d+$/.test(name)) {
      if (numbering === 'auto') throw new ConfigError(option, 'cannot switch from automatic field numbering to manual field numbering');
      numbering = 'manual';
      argument = Number(name);
    } else {
      throw new ConfigError(option, `only {} and {0}-style fields are supported, got {${name}} in ${JSON.stringify(template)}`);
    }
    if (literal !== '') parts.push({ literal });
    literal = '';
    parts.push({ argument });
    i = close;
  }
  if (literal !== '') parts.push({ literal });
  const arity = parts.reduce((n, p) => ('argument' in p ? Math.max(n, p.argument + 1) : n), 0);
  return {
    template,
    arity,
    render: (args) => {
      if (args.length < arity) throw new ConfigError(option, `reads ${arity} arguments but got ${args.length}`);
      let out = '';
      for (const p of parts) out += 'literal' in p ? p.literal : args[p.argument]!;
      return out;
    },
  };
};

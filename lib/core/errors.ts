/**
 * Tagged errors. Expected data failures travel as {@link Issue} values until a policy stage
 * (`failOnIssues` / `collectIssues`) decides; bad configuration and broken invariants throw at once.
 *
 * @module
 */
import type { ReadonlyNonEmptyArray } from 'fp-ts/lib/ReadonlyNonEmptyArray.js';

/**
 * Where a problem sits: a file, the 1-based line the record starts on, and the record's field
 * (a dotted path such as `pos.2`; absent when the whole record or file is at fault).
 *
 * @category errors
 */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly field?: string;
}

/**
 * One problem with one record (or file), located.
 *
 * @category errors
 */
export interface Issue extends Location {
  readonly message: string;
}

/** Renders an issue as `file:line: field: message`, the form every error message uses. */
export const formatIssue = (issue: Issue): string =>
  `${issue.file}:${issue.line}: ${issue.field === undefined ? '' : `${issue.field}: `}${issue.message}`;

/**
 * Bad input data: malformed JSON, a missing or mistyped field, a record the reference would crash
 * on or silently mangle. Carries every issue found, each with file, line and field.
 *
 * @example
 * try { ... } catch (e) { if (e instanceof RecordError) console.error(e.issues[0].file, e.issues[0].line); }
 *
 * @category errors
 */
export class RecordError extends Error {
  readonly _tag = 'RecordError' as const;
  constructor(readonly issues: ReadonlyNonEmptyArray<Issue>) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'RecordError';
  }
  /** The first issue's location, for callers that want one place to point at. */
  get file(): string {
    return this.issues[0].file;
  }
  get line(): number {
    return this.issues[0].line;
  }
  get field(): string | undefined {
    return this.issues[0].field;
  }
}

/**
 * An option that cannot work, thrown when a stage is built, before anything is read.
 * `option` names it with the reference's spelling (`query_max_len`), so CLI and API agree.
 *
 * @category errors
 */
export class ConfigError extends Error {
  readonly _tag = 'ConfigError' as const;
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * A tokenizer folder that cannot be loaded or uses a component this library does not reproduce.
 *
 * @category errors
 */
export class TokenizerError extends Error {
  readonly _tag = 'TokenizerError' as const;
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/**
 * A file or folder that cannot be used as it is: unreadable, of the wrong kind, changed under a
 * run, or (a cache folder) not private to this user. `path` names it; the message says what is
 * wrong and what to do.
 *
 * @example
 * try { ... } catch (e) { if (e instanceof FileError) console.error(e.path); }
 *
 * @category errors
 */
export class FileError extends Error {
  readonly _tag = 'FileError' as const;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'FileError';
  }
}

/**
 * A system error (`ENOENT`, `EACCES`, `EIO`, `ENOSPC`…) as a {@link FileError} naming `path`, which
 * Node's read and write errors do not; anything else is returned as it is.
 *
 * @example
 * await handle.read(buffer).catch((e) => Promise.reject(asFileError(file, e)));
 *
 * @category errors
 */
export const asFileError = (path: string, e: unknown, doing: 'read' | 'write' = 'read'): unknown => {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (!(e instanceof Error) || typeof code !== 'string' || typeof (e as NodeJS.ErrnoException).syscall !== 'string') return e;
  // "EACCES: permission denied, open '/x'" → "permission denied": the path is said once, first.
  const what = e.message.replace(/^[A-Z0-9]+: /, '').replace(/, \w+( '.*')?$/s, '');
  return new FileError(path, `cannot ${doing} it (${code}: ${what})`);
};

/**
 * A broken internal promise (a bug, or inputs that violate a documented precondition).
 *
 * @category errors
 */
export class InvariantError extends Error {
  readonly _tag = 'InvariantError' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

/**
 * Reading one task file into located JSON values, the way the reference's `datasets` JSON loader
 * accepts them: JSON Lines, or one JSON array of records; `.gz` files decompressed on the fly.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import type { Issue } from '../core/errors.js';
import type { Located } from '../core/model.js';
import { recordSpans, type RecordSpan } from './recordSpans.js';

/** A task file's bytes, decompressed when it ends in `.gz`. */
export const openTaskFile = (file: string): AsyncIterable<Buffer> => {
  const raw = createReadStream(file);
  return file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
};

/**
 * Parses one record's bytes, locating a syntax error at the record's line.
 *
 * @category constructors
 */
export const parseSpan = (file: string, span: RecordSpan): E.Either<Issue, Located<unknown>> => {
  try {
    return E.right({ file, line: span.line, record: span.record, value: JSON.parse(span.bytes.toString('utf8')) as unknown });
  } catch (e) {
    return E.left({ file, line: span.line, message: `malformed JSON: ${(e as Error).message}` });
  }
};

/**
 * Reads a `.json` / `.jsonl` (optionally `.gz`) file as located JSON values.
 *
 * **Details**: a file whose first non-blank character is `[` is one JSON array of records (each
 * element located at the line it starts on); anything else is JSON Lines, where blank lines are
 * skipped (as the reference's loader skips them) and every other line must be one JSON value.
 * A malformed record is an {@link Issue} value, not an exception, and reading goes on; a broken
 * array structure ends the file with an issue.
 *
 * **Gotchas**: streamed in both formats (memory is one record at a time).
 *
 * @example
 * for await (const r of fromJsonl('data/faq.jsonl')) if (E.isRight(r)) console.log(r.right.line, r.right.value);
 *
 * @category constructors
 */
export async function* fromJsonl(file: string): AsyncGenerator<E.Either<Issue, Located<unknown>>> {
  for await (const span of recordSpans(openTaskFile(file))) {
    yield 'bytes' in span ? parseSpan(file, span) : E.left({ file, line: span.line, message: `malformed JSON array: ${span.message}` });
  }
}

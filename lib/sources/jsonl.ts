/**
 * Reading one task file into located JSON values, the way the reference's `datasets` JSON loader
 * accepts them: JSON Lines, or one JSON array of records; `.gz` files decompressed on the fly.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { asFileError, FileError, RecordError, type Issue } from '../core/errors.js';
import type { Located } from '../core/model.js';
import { recordSpans, type RecordSpan } from './recordSpans.js';

/** What kind of thing a path is, for messages. */
export const kindOf = (info: Stats): string =>
  info.isDirectory()
    ? 'a folder'
    : info.isFIFO()
      ? 'a FIFO (named pipe)'
      : info.isSocket()
        ? 'a socket'
        : info.isCharacterDevice() || info.isBlockDevice()
          ? 'a device'
          : info.isSymbolicLink()
            ? 'a symbolic link'
            : 'not a regular file';

/**
 * Opens a task file for reading, refusing anything but a regular file.
 *
 * **Details**: opened with `O_NONBLOCK`, so that a FIFO named as a task file is refused at once
 * instead of waiting forever for a writer (a task file is read twice, to index it and then record
 * by record, so it must be a file). The flag changes nothing for regular files.
 *
 * @throws {FileError} naming the file.
 */
export const openRegularFile = async (file: string): Promise<FileHandle> => {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: unknown) => {
    throw asFileError(file, e);
  });
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new FileError(file, `is ${kindOf(info)}, not a regular file: a task file is read twice (to index it, then record by record)`);
  }
  return handle;
};

const zlibProblem = (e: unknown): string | null => {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return null;
  return code === 'Z_BUF_ERROR' ? `the gzip data ends too early (the file is truncated: ${(e as Error).message})` : `the gzip data is corrupt (${(e as Error).message})`;
};

/**
 * Options of {@link taskFileBytes}.
 */
export interface TaskFileBytesOptions {
  /** An open handle of `file` to read (from the start); it stays open. Default: the file is opened and closed here. */
  readonly handle?: FileHandle;
  /** Sees every chunk of the file as stored (compressed, for `.gz`), e.g. to hash it. */
  readonly onRaw?: (chunk: Buffer) => void;
}

/**
 * A task file's bytes, decompressed when it ends in `.gz`.
 *
 * **Details**: broken or truncated gzip data is a {@link RecordError} at the line where the
 * decompressed text broke off; a read error is a {@link FileError} naming the file.
 */
export async function* taskFileBytes(file: string, options: TaskFileBytesOptions = {}): AsyncGenerator<Buffer> {
  const handle = options.handle ?? (await openRegularFile(file));
  const raw = handle.createReadStream({ start: 0, autoClose: false, emitClose: false });
  const onRaw = options.onRaw;
  try {
    if (!file.endsWith('.gz')) {
      try {
        for await (const chunk of raw as AsyncIterable<Buffer>) {
          onRaw?.(chunk);
          yield chunk;
        }
      } catch (e) {
        throw asFileError(file, e);
      }
      return;
    }
    const gunzip = createGunzip();
    if (onRaw !== undefined) raw.on('data', (chunk: Buffer | string) => onRaw(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
    // pipeline: a read error reaches the gunzip stream (and so the loop below) instead of being lost.
    const piped = pipeline(raw, gunzip).catch(() => undefined);
    let lines = 0;
    let bytes = 0;
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) lines++;
        yield chunk;
      }
    } catch (e) {
      const problem = zlibProblem(e);
      if (problem === null) throw asFileError(file, e);
      throw new RecordError([{ file, line: lines + 1, message: `${problem}, after ${bytes} bytes of text` }]);
    } finally {
      raw.destroy();
      gunzip.destroy();
      await piped;
    }
  } finally {
    raw.destroy();
    if (options.handle === undefined) await handle.close();
  }
}

/** {@link taskFileBytes} of a file it opens itself (its earlier name). */
export const openTaskFile = (file: string): AsyncIterable<Buffer> => taskFileBytes(file);

/** Where the first byte of `bytes` that is not valid UTF-8 is (there is one). */
const firstInvalidUtf8 = (bytes: Uint8Array): number => {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const [n, min] = b < 0x80 ? [0, 0] : b >= 0xc2 && b < 0xe0 ? [1, 0x80] : b >= 0xe0 && b < 0xf0 ? [2, 0x800] : b >= 0xf0 && b < 0xf5 ? [3, 0x10000] : [-1, 0];
    if (n < 0 || i + n >= bytes.length) return i;
    let cp = n === 0 ? b : b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return bytes.length;
};

/**
 * Parses one record's bytes, locating a syntax error at the record's line.
 *
 * **Details**: the bytes must be valid UTF-8, as Python's JSON loaders require (they refuse the
 * file); this library used to turn bad bytes into U+FFFD without a word. The issue names the line
 * of the first bad byte.
 *
 * @category constructors
 */
export const parseSpan = (file: string, span: RecordSpan): E.Either<Issue, Located<unknown>> => parseText(file, span, spanText(file, span));

/**
 * A record's bytes as text: they must be valid UTF-8 (see {@link parseSpan}). Separate from the
 * parse so that a caller can let the bytes go before parsing (a 50 MB record is then in memory twice
 * at most, not three times).
 */
export const spanText = (file: string, span: RecordSpan): E.Either<Issue, string> => {
  if (!isUtf8(span.bytes)) {
    const at = firstInvalidUtf8(span.bytes);
    let line = span.line;
    for (let i = span.bytes.indexOf(0x0a); i >= 0 && i < at; i = span.bytes.indexOf(0x0a, i + 1)) line++;
    const byte = span.bytes[at];
    return E.left({
      file,
      line,
      message: `the record is not valid UTF-8 (byte 0x${(byte ?? 0).toString(16).padStart(2, '0')} at byte ${span.start + at} of the file${byte === undefined ? ', a character cut off at the end' : ''}); Python's JSON loaders refuse it too`,
    });
  }
  try {
    return E.right(span.bytes.toString('utf8'));
  } catch (e) {
    return E.left({ file, line: span.line, message: `the record is ${span.bytes.length} bytes, too long to hold as one string (${(e as Error).message})` });
  }
};

/** Parses a record's text (from {@link spanText}), locating a syntax error at the record's line. */
export const parseText = (file: string, at: { readonly line: number; readonly record: number }, text: E.Either<Issue, string>): E.Either<Issue, Located<unknown>> => {
  if (E.isLeft(text)) return text;
  try {
    return E.right({ file, line: at.line, record: at.record, value: JSON.parse(text.right) as unknown });
  } catch (e) {
    return E.left({ file, line: at.line, message: `malformed JSON: ${(e as Error).message}` });
  }
};

/**
 * Reads a `.json` / `.jsonl` (optionally `.gz`) file as located JSON values.
 *
 * **Details**: a file whose first non-blank character is `[` is one JSON array of records (each
 * element located at the line it starts on); anything else is JSON Lines, where blank lines are
 * skipped (as the reference's loader skips them) and every other line must be one JSON value.
 * A malformed record (bad JSON, bad UTF-8) is an {@link Issue} value, not an exception, and
 * reading goes on; a broken array structure ends the file with an issue.
 *
 * **Gotchas**: streamed in both formats (memory is one record at a time). A file that cannot be
 * read, or broken gzip data, throws ({@link FileError}, {@link RecordError}).
 *
 * @example
 * for await (const r of fromJsonl('data/faq.jsonl')) if (E.isRight(r)) console.log(r.right.line, r.right.value);
 *
 * @category constructors
 */
export async function* fromJsonl(file: string): AsyncGenerator<E.Either<Issue, Located<unknown>>> {
  for await (const span of recordSpans(taskFileBytes(file))) {
    yield 'bytes' in span ? parseSpan(file, span) : E.left({ file, line: span.line, message: `malformed JSON array: ${span.message}` });
  }
}

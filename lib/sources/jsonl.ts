/**
 * Reading one task file into located JSON values, the way the reference's `datasets` JSON loader
 * accepts them: JSON Lines, or one JSON array of records.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import * as E from 'fp-ts/Either';
import type { Issue } from '../core/errors.js';
import type { Located } from '../core/model.js';

/**
 * Reads a `.json` / `.jsonl` file as located JSON values.
 *
 * **Details**: a file whose first non-blank character is `[` is one JSON array of records (each
 * element located at the line it starts on); anything else is JSON Lines, where blank lines are
 * skipped (as the reference's loader skips them) and every other line must be one JSON value.
 * A malformed line is an {@link Issue} value, not an exception, and reading goes on.
 *
 * **Gotchas**: JSON Lines are streamed; an array file is read whole before its first element.
 *
 * @example
 * for await (const r of fromJsonl('data/faq.jsonl')) if (E.isRight(r)) console.log(r.right.line, r.right.value);
 *
 * @category constructors
 */
export async function* fromJsonl(file: string): AsyncGenerator<E.Either<Issue, Located<unknown>>> {
  if ((await firstNonBlankChar(file)) === '[') {
    yield* fromJsonArray(file, await readFile(file, 'utf8'));
    return;
  }
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  let record = 0;
  try {
    for await (const raw of lines) {
      line += 1;
      const text = line === 1 ? stripBom(raw) : raw;
      if (text.trim() === '') continue;
      try {
        yield E.right({ file, line, record, value: JSON.parse(text) as unknown });
      } catch (e) {
        yield E.left({ file, line, message: `malformed JSON: ${(e as Error).message}` });
      }
      record += 1;
    }
  } finally {
    lines.close();
  }
}

const stripBom = (s: string): string => (s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);

const firstNonBlankChar = async (file: string): Promise<string | undefined> => {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 4096 });
  try {
    for await (const chunk of stream) {
      const match = /[^\s\ufeff]/.exec(chunk as string);
      if (match) return match[0];
    }
    return undefined;
  } finally {
    stream.destroy();
  }
};

function* fromJsonArray(file: string, text: string): Generator<E.Either<Issue, Located<unknown>>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripBom(text));
  } catch (e) {
    yield E.left({ file, line: malformedLine(text, e as Error), message: `malformed JSON array: ${(e as Error).message}` });
    return;
  }
  if (!Array.isArray(parsed)) {
    yield E.left({ file, line: 1, message: 'expected JSON Lines or one JSON array of records' });
    return;
  }
  const lines = topLevelElementLines(text);
  for (let record = 0; record < parsed.length; record++) {
    yield E.right({ file, line: lines[record] ?? 1, record, value: parsed[record] as unknown });
  }
}

/**
 * Where a malformed array goes wrong: the position V8 reports when it does, else the start line of
 * the first top-level element that does not parse on its own (Node 20's messages often lack a position).
 */
const malformedLine = (text: string, error: Error): number => {
  const position = /position (\d+)/.exec(error.message);
  if (position) return lineAt(text, Number(position[1]));
  for (const element of topLevelElements(text)) {
    try {
      JSON.parse(text.slice(element.start, element.end));
    } catch {
      return element.line;
    }
  }
  return 1;
};

const lineAt = (text: string, offset: number): number => {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line += 1;
  return line;
};

/**
 * The top-level elements of a JSON array text: where each starts and ends, and its start line.
 * Tolerant: it only tracks strings and nesting, so it also delimits elements of malformed text.
 */
const topLevelElements = (text: string): { start: number; end: number; line: number }[] => {
  const elements: { start: number; end: number; line: number }[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let current: { start: number; line: number } | null = null;
  const close = (end: number) => {
    if (current !== null) elements.push({ ...current, end });
    current = null;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line += 1;
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
      continue;
    }
    if (/\s/.test(c) || c === '\ufeff') continue;
    if (depth === 1 && current === null && c !== ']' && c !== ',') current = { start: i, line };
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth += 1;
    else if (c === ']' || c === '}') {
      if (depth === 1) close(i);
      depth -= 1;
    } else if (c === ',' && depth === 1) close(i);
  }
  close(text.length);
  return elements;
};

/** The line each element of a top-level JSON array starts on. */
const topLevelElementLines = (text: string): number[] => topLevelElements(text).map((e) => e.line);

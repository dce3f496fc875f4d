/** Temporary task files for specs. */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Writes `files` (relative path → content) under a fresh temporary folder and returns its path. */
export const writeTree = (files: Readonly<Record<string, string>>): string => {
  const root = mkdtempSync(join(tmpdir(), 'llm-retriever-data-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
};

/** Every file under `dir` with its bytes, by path relative to `dir` (the inverse of {@link writeTree}, as bytes). */
export const filesOf = (dir: string): Record<string, Buffer> => {
  const out: Record<string, Buffer> = {};
  const walk = (d: string, prefix: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name), `${prefix}${entry.name}/`);
      else out[`${prefix}${entry.name}`] = readFileSync(join(d, entry.name));
    }
  };
  walk(dir, '');
  return out;
};

/** JSON Lines of the given records. */
export const jsonl = (...records: ReadonlyArray<unknown>): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** A valid record with `n` negatives. */
export const record = (i: number, extra: Readonly<Record<string, unknown>> = {}, n = 3) => ({
  query: `query ${i}`,
  pos: [`positive ${i}`],
  neg: Array.from({ length: n }, (_, j) => `negative ${i}.${j}`),
  ...extra,
});

/** Temporary task files for specs. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
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

/** JSON Lines of the given records. */
export const jsonl = (...records: ReadonlyArray<unknown>): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** A valid record with `n` negatives. */
export const record = (i: number, extra: Readonly<Record<string, unknown>> = {}, n = 3) => ({
  query: `query ${i}`,
  pos: [`positive ${i}`],
  neg: Array.from({ length: n }, (_, j) => `negative ${i}.${j}`),
  ...extra,
});

/**
 * Benchmark corpora: copies of a folder of task files in which every text has two words swapped
 * (a different pair in each copy), so that copies tokenize differently, as real data would.
 *
 *   node --import ./lib/cli/register.mjs examples/bench/corpus.ts SOURCE_DIR OUT_DIR RECORDS_PER_FILE [FILES_PER_SOURCE]
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PythonRandom } from '../../lib/random/pythonRandom.js';

export interface CorpusSpec {
  /** A folder of task files (folders inside it are kept). */
  readonly source: string;
  readonly out: string;
  /** Records in each generated file. */
  readonly recordsPerFile: number;
  /** Generated files per source file. Default: 1. */
  readonly filesPerSource?: number;
  /** Source paths (relative to `source`) to leave out. */
  readonly exclude?: ReadonlyArray<string>;
}

const taskFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((d) => (d.isDirectory() ? taskFiles(join(dir, d.name)) : /\.jsonl?$/.test(d.name) ? [join(dir, d.name)] : []));

const records = (file: string): Record<string, unknown>[] => {
  const text = readFileSync(file, 'utf8');
  return text.trimStart().startsWith('[') ? (JSON.parse(text) as Record<string, unknown>[]) : text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
};

/** Swaps two words of a text (texts of fewer than two words stay as they are). */
const swapTwo = (text: string, random: PythonRandom): string => {
  const words = text.split(' ');
  if (words.length < 2) return text;
  const i = random.randbelow(words.length);
  let j = random.randbelow(words.length - 1);
  if (j >= i) j += 1;
  [words[i], words[j]] = [words[j]!, words[i]!];
  return words.join(' ');
};

const vary = (record: Record<string, unknown>, random: PythonRandom): Record<string, unknown> => ({
  ...record,
  query: swapTwo(record['query'] as string, random),
  pos: (record['pos'] as string[]).map((p) => swapTwo(p, random)),
  neg: (record['neg'] as string[]).map((n) => swapTwo(n, random)),
});

/**
 * Writes the corpus (unless `out` already holds one made from the same spec) and returns its files
 * and total size.
 */
export const makeCorpus = async (spec: CorpusSpec): Promise<{ files: string[]; bytes: number }> => {
  // Not .json: the folder is a train_data folder, and every .json file in it is a task file.
  const marker = join(spec.out, '.corpus-spec');
  const key = JSON.stringify({ ...spec, source: relative(process.cwd(), spec.source) });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === key) {
    const files = taskFiles(spec.out);
    return { files, bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
  }
  const random = PythonRandom.fromSeed(20261127);
  const files: string[] = [];
  let bytes = 0;
  for (const file of taskFiles(spec.source)) {
    const rel = relative(spec.source, file);
    if (spec.exclude?.some((x) => rel.startsWith(x))) continue;
    const source = records(file);
    for (let k = 0; k < (spec.filesPerSource ?? 1); k++) {
      const target = join(spec.out, dirname(rel), `${basename(rel).replace(/\.jsonl?$/, '')}_${String(k).padStart(2, '0')}.jsonl`);
      mkdirSync(dirname(target), { recursive: true });
      const out = createWriteStream(target);
      for (let n = 0; n < spec.recordsPerFile; n++) {
        const line = `${JSON.stringify(vary(source[n % source.length]!, random))}\n`;
        bytes += Buffer.byteLength(line);
        if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((r) => out.end(() => r()));
      files.push(target);
    }
  }
  writeFileSync(marker, key);
  return { files, bytes };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [source, out, perFile, perSource] = process.argv.slice(2);
  if (!source || !out || !perFile) throw new Error('usage: corpus.ts SOURCE_DIR OUT_DIR RECORDS_PER_FILE [FILES_PER_SOURCE]');
  const { files, bytes } = await makeCorpus({ source, out, recordsPerFile: Number(perFile), filesPerSource: Number(perSource ?? 1) });
  console.log(`${files.length} files, ${(bytes / 1e9).toFixed(2)} GB in ${out}`);
}

// A minimal TypeScript loader for running the library from its sources (development; the package
// itself is built, see .ci/build.mjs): it strips types from this package's own .ts files with
// esbuild and leaves every other module to Node. (tsx's global hooks also transform node_modules,
// which costs time and memory: ~150 MB of RSS for @huggingface/transformers alone.)
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const isOwnTs = (url) => url.startsWith('file:') && url.endsWith('.ts') && !url.includes('/node_modules/');

export async function resolve(specifier, context, nextResolve) {
  // Sources import each other as `./x.js` (TypeScript's NodeNext convention); the file is `./x.ts`.
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL && isOwnTs(context.parentURL)) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!isOwnTs(url)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcefile: file,
    sourcemap: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}

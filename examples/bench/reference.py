"""Times FlagEmbedding's own data path (the reference) on a benchmark corpus, for `npm run bench`.

Set up as ../shared/oracle/run_ref.py sets it up (its README says how to prepare the venv and the
reference modules); reads a JSON config on stdin (the oracle's format, plus "repeats") and prints
one JSON line: the step loop's seconds for each repeat, batches/s, and non-pad output tokens/s.
The reference's own code is not part of this repository: it is imported from ORACLE_DIR.
"""
import json, os, random, sys, time

t_imports = time.perf_counter()
here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get('ORACLE_SHARED', os.path.join(here, '..', '..', '..', 'shared', 'oracle'))
sys.path[:0] = [os.path.join(shared, 'stubs'), os.path.join(os.environ.get('ORACLE_DIR', '/tmp/oracle-ref'), 'src')]
import numpy as np  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402
from FlagEmbedding.finetune.embedder.decoder_only.icl.arguments import DecoderOnlyEmbedderICLDataArguments  # noqa: E402
from FlagEmbedding.finetune.embedder.decoder_only.icl.dataset import DecoderOnlyEmbedderICLSameDatasetTrainDataset  # noqa: E402
from FlagEmbedding.abc.finetune.embedder.AbsDataset import AbsEmbedderSameDatasetCollator  # noqa: E402
for _m in [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]:
    del sys.modules[_m]
import FlagEmbedding.abc.finetune.embedder.AbsDataset as _absdataset  # noqa: E402
imports_s = time.perf_counter() - t_imports  # numpy, transformers and the reference's modules


class _SortedOs:
    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def listdir(p):
        return sorted(os.listdir(p))


_absdataset.os = _SortedOs()

cfg = json.load(sys.stdin)
t_load = time.perf_counter()
tok = AutoTokenizer.from_pretrained(cfg['tokenizer'], add_eos_token=True)
if tok.pad_token is None:
    tok.pad_token = tok.unk_token
tok.padding_side = 'left'
if cfg.get('additional_special_tokens'):
    tok.add_special_tokens({'additional_special_tokens': cfg['additional_special_tokens']})
args = DecoderOnlyEmbedderICLDataArguments(**cfg['data_args'])
col = AbsEmbedderSameDatasetCollator(tokenizer=tok, query_max_len=args.query_max_len, passage_max_len=args.passage_max_len,
                                     pad_to_multiple_of=args.pad_to_multiple_of, padding=True, return_tensors='np')
load_s = time.perf_counter() - t_load
runs = []
dataset_runs = []
tokens = 0
for _ in range(cfg.get('repeats', 3)):
    random.seed(cfg['seed'])
    t_dataset = time.perf_counter()
    ds = DecoderOnlyEmbedderICLSameDatasetTrainDataset(args=args, default_batch_size=cfg['batch_size'], seed=cfg['seed'], tokenizer=tok,
                                                       process_index=cfg.get('rank', 0), num_processes=cfg.get('world', 1))
    dataset_runs.append(time.perf_counter() - t_dataset)
    random.seed(cfg['seed'])
    tokens = 0
    t0 = time.perf_counter()
    for step in range(cfg['steps']):
        if ds.step >= len(ds.batch_datas):
            ds.refresh_epoch()
        b = col([ds[step]])
        tokens += int(b['queries']['attention_mask'].sum() + b['passages']['attention_mask'].sum())
    runs.append(time.perf_counter() - t0)
median = sorted(runs)[len(runs) // 2]
# dataset_s: building the dataset (reading the task files) before the first step, per repeat.
print(json.dumps({'imports_s': imports_s, 'load_s': load_s, 'dataset_s_runs': dataset_runs, 'batches_s_runs': runs, 'batches_s': median, 'batches_per_s': cfg['steps'] / median,
                  'out_tokens_per_s': tokens / median}))

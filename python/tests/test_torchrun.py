"""A real `torchrun --nproc_per_node 2` (CPU, gloo): examples/pytorch/train.py trains through
FlagEmbeddingBatches, is stopped, resumes from its checkpoint across an epoch boundary, and each rank
receives exactly `dump --rank r`'s batches; the all_reduce sums both ranks' tokens."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="skipped: torch is not installed (python/setup-venv.sh installs it from the wheels on disk)")
import torch.distributed  # noqa: E402

import numpy as np  # noqa: E402

from conftest import ROOT, SMALL, TENSORS, dump_json  # noqa: E402

if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("skipped: this torch has no gloo backend", allow_module_level=True)

# 11 steps per epoch at world size 2: 5, then 14 in all, crosses into epoch 1.
FIRST, TOTAL = 5, 14


def torchrun(tmp_path, max_steps):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(ROOT / "examples/pytorch/train.py"), "--max_steps", str(max_steps),
         "--checkpoint", str(tmp_path / "checkpoint.pt"), "--record", str(tmp_path), "--", *SMALL],
        capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    return run


def test_torchrun_two_ranks_train_resume_and_each_gets_dump_rank_r(tmp_path):
    torchrun(tmp_path, FIRST)
    first = {r: (tmp_path / f"rank{r}.jsonl").read_text().splitlines() for r in (0, 1)}
    assert [len(first[r]) for r in (0, 1)] == [FIRST, FIRST]
    torchrun(tmp_path, TOTAL)  # resumes from the checkpoint the first run saved
    expected = {r: dump_json([*SMALL, "--world_size", "2", "--rank", str(r), "--steps", str(TOTAL)]) for r in (0, 1)}
    received = {r: [json.loads(line) for line in (tmp_path / f"rank{r}.jsonl").read_text().splitlines()] for r in (0, 1)}
    for r in (0, 1):
        assert [b["global_step"] for b in received[r]] == list(range(TOTAL))
        assert {b["epoch"] for b in received[r]} == {0, 1}
        for batch, record in zip(received[r], expected[r], strict=True):
            assert batch["rank"] == r
            for key in ("epoch", "example_indices", "no_in_batch_neg", *TENSORS):
                assert batch[key] == record[key], key
            want = record["teacher_scores"]
            assert batch["teacher_scores"] == (None if want is None else np.float32(want).tolist())
    for step in range(TOTAL):
        tokens = sum(sum(map(sum, expected[r][step][name])) for r in (0, 1) for name in ("q_mask", "p_mask"))
        assert received[0][step]["tokens_all_ranks"] == received[1][step]["tokens_all_ranks"] == tokens

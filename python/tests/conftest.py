"""Shared set-up of the Python-side checks: the checkout, the command, and dump's JSON to compare with."""
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

NODE = shutil.which("node")
CLI = [NODE, str(ROOT / "lib" / "cli" / "bin.mjs")] if NODE else None

if NODE is None or not (ROOT / "node_modules").is_dir():
    pytest.skip("skipped: no node or no node_modules in the checkout (run npm ci)", allow_module_level=True)

#: A small run of the sample corpus: retrieval files carry teacher scores, sts does not.
SMALL = [
    "--train_data", str(ROOT / "examples/data/retrieval"), str(ROOT / "examples/data/sts"),
    "--query_instruction_format", "<instruct>{}\\n<query>{}", "--icl_suffix_str", "\\n<response>",
    "--additional_special_tokens", "<instruct>", "<query>", "<response>",
    "--knowledge_distillation", "true", "--query_max_len", "256", "--passage_max_len", "128",
    "--pad_to_multiple_of", "8", "--per_device_train_batch_size", "4", "--seed", "42",
]

#: The research flavor's sample: retrieval splits carry teacher scores; sts and clustering are 'not in-batch'.
RESEARCH = [
    "--flavor", "research", "--train_data", str(ROOT / "examples/research/jsonl-patterns"),
    "--per_device_train_batch_size", "6", "--symmetric_batch_size", "12", "--query_max_len", "400",
    "--world_size", "2", "--rank", "1",
]


@functools.lru_cache(maxsize=None)
def _dump_json(args: tuple, env_items: tuple) -> tuple:
    env = {**os.environ, **dict(env_items)}
    for name in ("RANK", "WORLD_SIZE"):
        if name not in dict(env_items):
            env.pop(name, None)
    out = subprocess.run([*CLI, "dump", *args], capture_output=True, env=env, check=True).stdout.decode()
    return tuple(json.loads(line) for line in out.splitlines())


def dump_json(args, env=None):
    """dump's JSON records for ``args`` (cached: the same arguments give the same lines)."""
    return list(_dump_json(tuple(args), tuple(sorted((env or {}).items()))))


def children_of(pid):
    """Live (not zombie) data processes (the command) started by ``pid``, from /proc (Linux). Other
    children (multiprocessing's resource tracker after a spawned DataLoader) are not counted."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if any(a.endswith(b"lib/cli/bin.mjs") or os.path.basename(a) == b"llm-retriever-data" for a in argv[:2]):
                found.append(int(entry))
    return found


TENSORS = ("q_ids", "q_mask", "p_ids", "p_mask")
TEXTS = ("queries_text", "passages_text")


def as_numpy(value):
    """A tensor (torch) or array as numpy; lists of them element-wise."""
    if isinstance(value, list):
        return [as_numpy(v) for v in value]
    if hasattr(value, "numpy") and not isinstance(value, __import__("numpy").ndarray):
        return value.numpy()
    return value


def assert_same_step(step, record, with_text=False):
    """``step`` (from the stream) equals dump's JSON ``record`` field for field: tensors as int32 with
    the same values and shapes, teacher scores after rounding to float32, everything else equal."""
    import numpy as np

    expected_keys = set(record) - (set() if with_text else set(TEXTS))
    assert expected_keys <= set(step), f"missing fields: {expected_keys - set(step)}"
    if not with_text:
        assert not set(TEXTS) & set(step), "texts without --with_text"
    for key in expected_keys:
        got, want = as_numpy(step[key]), record[key]
        if key in TENSORS:
            if isinstance(got, list):
                assert len(got) == len(want), key
                for g, w in zip(got, want):
                    assert g.dtype == np.int32 and np.array_equal(g, np.array(w, dtype=np.int32)), key
            else:
                assert got.dtype == np.int32 and got.shape == np.array(want).shape and np.array_equal(got, np.array(want)), key
        elif key == "teacher_scores":
            if want is None:
                assert got is None, key
            else:
                assert got.dtype == np.float32 and np.array_equal(got, np.array(want, dtype=np.float32)), key
        elif key == "example_indices":
            assert np.array_equal(got, np.array(want)), key
        elif isinstance(got, np.ndarray):  # a column added later (the false-negative mask: bool rows)
            assert np.array_equal(got, np.array(want)), key
        else:
            assert got == want, (key, got, want)

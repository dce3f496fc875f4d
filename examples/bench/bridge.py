"""One measurement of `npm run bench:bridge` (examples/bench/bridge.ts): batches delivered as torch
tensors in this Python process, by one way of getting them. Prints one JSON line.

    python bridge.py json ARGS...      # the README's former recipe: dump's JSON lines, json.loads, torch.tensor
    python bridge.py arrow ARGS...     # FlagEmbeddingBatches iterated: dump --format arrow, zero-copy tensors
    python bridge.py arrow-loader ARGS...  # the same through torch's DataLoader(batch_size=None)
    python bridge.py export DIR        # an exported rank read back (read_export, memory-mapped) as tensors
    python bridge.py datasets DIR      # the same export through datasets.load_from_disk(...).with_format("torch")

The clock starts when the data is asked for (after this script's imports), so that start-up counts
(the data process, its tokenizer and index), and stops when the last batch arrives (before the data
process has exited). `steady_per_s` is from the
first batch to the last; `e2e_per_s` from the start to the last.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
from llm_retriever_data import FlagEmbeddingBatches, find_command, read_export, to_tensors  # noqa: E402


def json_lines(args):
    # As the README showed it before the Arrow stream: one JSON object per step, decoded, then tensors.
    proc = subprocess.Popen([*find_command(), "dump", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        step = json.loads(line)
        yield {"query": {"input_ids": torch.tensor(step["q_ids"]), "attention_mask": torch.tensor(step["q_mask"])},
               "passage": {"input_ids": torch.tensor(step["p_ids"]), "attention_mask": torch.tensor(step["p_mask"])},
               "teacher_scores": step["teacher_scores"], "no_in_batch_neg": step["no_in_batch_neg"]}
    if proc.wait() != 0:
        raise SystemExit(f"dump failed with {proc.returncode}")


def arrow(args):
    return FlagEmbeddingBatches(args, echo_stderr=False)


def arrow_loader(args):
    return torch.utils.data.DataLoader(FlagEmbeddingBatches(args, echo_stderr=False), batch_size=None)


def exported(folder):
    return (to_tensors(step) for step in read_export(folder))


def through_datasets(folder):
    import datasets
    return datasets.load_from_disk(folder).with_format("torch")


def main():
    mode, rest = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    source = {"json": lambda: json_lines(rest), "arrow": lambda: arrow(rest), "arrow-loader": lambda: arrow_loader(rest),
              "export": lambda: exported(rest[0]), "datasets": lambda: through_datasets(rest[0])}[mode]()
    first = end = None
    n = 0
    for batch in source:
        # The clock stops at the last batch, not when the loop ends: the loop's end waits for the data
        # process to exit (its exit code is checked), 70-80 ms here that no batch comes in, and that
        # the in-process rate, measured to its last batch, does not count.
        end = time.perf_counter()
        n += 1
        if first is None:
            first = end
    print(json.dumps({"mode": mode, "steps": n, "first_s": first - start, "total_s": end - start,
                      "steady_per_s": (n - 1) / (end - first) if n > 1 else None, "e2e_per_s": n / (end - start)}))


if __name__ == "__main__":
    main()

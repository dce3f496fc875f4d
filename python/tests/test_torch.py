"""FlagEmbeddingBatches: a torch IterableDataset over the stream: tensors without copies, exact resume
at any step, workers refused, errors raised, the data process ended with the iterator."""
import gc
import json
import os

import numpy as np
import pyarrow as pa
import pytest

torch = pytest.importorskip("torch", reason="skipped: torch is not installed (python/setup-venv.sh installs it from the wheels on disk)")

from conftest import CLI, SMALL, TENSORS, assert_same_step, children_of, dump_json  # noqa: E402
from llm_retriever_data import DataProcessError, FlagEmbeddingBatches, as_flagembedding_inputs, steps_of, to_tensors  # noqa: E402
from test_stream import stream_bytes, wait_until  # noqa: E402

RANK1 = [*SMALL, "--world_size", "2", "--rank", "1"]


def loader(ds, **kwargs):
    return torch.utils.data.DataLoader(ds, batch_size=None, **kwargs)


def test_a_dataloader_yields_dumps_batches_as_int32_tensors():
    args = [*RANK1, "--steps", "7"]
    batches = list(loader(FlagEmbeddingBatches(args, echo_stderr=False)))
    records = dump_json(args)
    assert len(batches) == len(records) == 7
    for batch, record in zip(batches, records):
        assert all(isinstance(batch[name], torch.Tensor) and batch[name].dtype == torch.int32 for name in TENSORS)
        assert batch["teacher_scores"] is None or batch["teacher_scores"].dtype == torch.float32
        assert_same_step(batch, record)


def test_tensors_share_memory_with_the_arrow_buffers():
    for batch in pa.ipc.open_stream(stream_bytes([*SMALL, "--steps", "2"])):
        tensors = to_tensors(next(steps_of(batch)))
        for name in TENSORS:
            buffers = [b for b in batch.column(name).buffers() if b is not None]
            lo, hi = min(b.address for b in buffers), max(b.address + b.size for b in buffers)
            t = tensors[name]
            assert lo <= t.data_ptr() and t.data_ptr() + t.numel() * 4 <= hi, f"{name} was copied"


def test_sub_batches_are_lists_of_tensors_and_reshape_for_flagembedding():
    args = [*SMALL, "--steps", "2", "--sub_batch_size", "3"]
    batch = next(iter(FlagEmbeddingBatches(args, echo_stderr=False)))
    assert isinstance(batch["q_ids"], list) and all(t.dtype == torch.int32 for t in batch["q_ids"])
    inputs = as_flagembedding_inputs(batch)
    assert [q["input_ids"].shape for q in inputs["queries"]] == [t.shape for t in batch["q_ids"]]
    assert inputs["no_in_batch_neg_flag"] is batch["no_in_batch_neg"]


@pytest.mark.parametrize("workers,start", [(1, "fork"), (2, "fork"), (2, "spawn")])
def test_dataloader_workers_are_refused_clearly(workers, start):
    ds = FlagEmbeddingBatches([*SMALL, "--steps", "2"], echo_stderr=False)
    with pytest.raises(RuntimeError, match="num_workers=0"):
        list(loader(ds, num_workers=workers, multiprocessing_context=start))


def run(ds, count=None):
    out = []
    for batch in loader(ds):
        out.append(batch)
        if count is not None and len(out) == count:
            break
    return out


@pytest.mark.parametrize("k", [0, 1, 4, 11, 12])
def test_resume_at_any_step_continues_exactly(k):
    """Stop after k of 12 steps, save the state (through JSON), load it into a new dataset in a new
    'process': the rest equals steps k.. of the uninterrupted run, and there are 12 in all."""
    args = [*RANK1, "--steps", "12"]
    records = dump_json(args)
    first = FlagEmbeddingBatches(args, echo_stderr=False)
    head = run(first, k) if k else []
    state = json.loads(json.dumps(first.state_dict()))
    first.close()
    second = FlagEmbeddingBatches(args, echo_stderr=False)
    second.load_state_dict(state)
    tail = run(second)
    assert len(head) + len(tail) == 12
    for batch, record in zip(head + tail, records, strict=True):
        assert_same_step(batch, record)


def test_resume_across_epochs_without_steps():
    """Without --steps each iteration is the rest of the current epoch; a state saved mid-epoch
    resumes it, and the next iteration is the next epoch, as an uninterrupted run."""
    args = [*SMALL, "--world_size", "1", "--rank", "0"]
    epoch0 = dump_json(args)
    both = dump_json([*args, "--steps", str(2 * len(epoch0))])
    ds = FlagEmbeddingBatches(args, echo_stderr=False)
    head = run(ds, 3)
    resumed = FlagEmbeddingBatches(args, echo_stderr=False)
    resumed.load_state_dict(ds.state_dict())
    ds.close()
    rest_of_epoch0 = run(resumed)
    epoch1 = run(resumed)
    assert [b["epoch"] for b in epoch1] == [1] * len(epoch0)
    for batch, record in zip(head + rest_of_epoch0 + epoch1, both, strict=True):
        assert_same_step(batch, record)


def test_consecutive_iterations_continue_the_run():
    args = [*RANK1, "--steps", "3"]
    ds = FlagEmbeddingBatches(args, echo_stderr=False)
    got = run(ds) + run(ds) + run(ds)
    for batch, record in zip(got, dump_json([*RANK1, "--steps", "9"]), strict=True):
        assert_same_step(batch, record)


def test_a_bad_path_raises_through_the_dataloader():
    ds = FlagEmbeddingBatches(["--train_data", "no-such-folder", "--steps", "1"], echo_stderr=False)
    with pytest.raises(DataProcessError, match="no-such-folder"):
        list(loader(ds))


def test_break_close_and_garbage_collection_end_the_data_process():
    args = [*SMALL, "--steps", "100000"]
    ds = FlagEmbeddingBatches(args, echo_stderr=False)
    for i, _ in enumerate(loader(ds)):
        if i == 1:
            break
    assert wait_until(lambda: children_of(os.getpid()) == []), "break"
    it = iter(loader(ds))
    next(it)
    assert len(children_of(os.getpid())) == 1
    ds.close()
    assert wait_until(lambda: children_of(os.getpid()) == []), "close()"
    it = iter(loader(ds))
    next(it)
    del it
    gc.collect()
    assert wait_until(lambda: children_of(os.getpid()) == []), "garbage collection"

"""iter_batches and read_steps: dump's JSON field for field, without copies; failures raise; the data
process ends with its reader."""
import gc
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pytest

from conftest import CLI, RESEARCH, ROOT, SMALL, TENSORS, assert_same_step, children_of, dump_json
from llm_retriever_data import DataProcessError, StreamFormatError, iter_batches, read_steps, steps_of

CASES = {
    "rank 0 of 2": [*SMALL, "--world_size", "2", "--rank", "0", "--steps", "8"],
    "rank 1 of 2, with texts": [*SMALL, "--world_size", "2", "--rank", "1", "--steps", "8", "--with_text"],
    "sub-batches of 3": [*SMALL, "--world_size", "1", "--rank", "0", "--steps", "5", "--sub_batch_size", "3"],
    "false-negative mask, global": [*SMALL, "--world_size", "2", "--rank", "1", "--steps", "6", "--false_negative_scope", "global"],
    "research": [*RESEARCH, "--steps", "6"],
    "research, with texts": [*RESEARCH, "--steps", "6", "--with_text"],
    "research, sub-batches of 4": [*RESEARCH, "--steps", "4", "--sub_batch_size", "4"],
    "research, false-negative mask, local": [*RESEARCH, "--steps", "4", "--false_negative_scope", "local"],
}


@pytest.mark.parametrize("name", CASES)
def test_iter_batches_equals_dump_json_field_for_field(name):
    args = CASES[name]
    with_text = "--with_text" in args
    steps = list(iter_batches(args, echo_stderr=False))
    records = dump_json([a for a in args if a != "--with_text"])
    assert len(steps) == len(records) > 0
    assert ("false_negative_mask" in records[0]) == ("--false_negative_scope" in args)
    # The research flavor's fields: messages in place of no_in_batch_neg, as dump --flavor research prints them.
    assert ("messages" in steps[0]) == name.startswith("research") != ("no_in_batch_neg" in steps[0])
    if name in ("rank 0 of 2", "research"):
        assert any(r["teacher_scores"] is None for r in records) and any(r["teacher_scores"] is not None for r in records)
    if name == "research":
        assert {r["messages"][0] for r in records} == {"normal", "not in-batch"}
    for i, (step, record) in enumerate(zip(steps, records)):
        assert_same_step(step, record, with_text)
        assert step["global_step"] == i and step["resume"]["globalStep"] == i + 1


def stream_bytes(args):
    return subprocess.run([*CLI, "dump", *args, "--format", "arrow"], capture_output=True, check=True).stdout


def test_pyarrow_reads_the_stream_alone_equal_to_dump_json():
    args = [*SMALL, "--world_size", "2", "--rank", "1", "--steps", "6"]
    table = pa.ipc.open_stream(stream_bytes([*args, "--with_text"])).read_all()
    rows = table.to_pylist()
    for row, record in zip(rows, dump_json(args), strict=True):
        for key, want in record.items():
            if key == "teacher_scores" and want is not None:
                assert np.array_equal(np.float32(row[key]), np.float32(want))
            else:
                assert row[key] == want, key


def test_tensors_are_views_of_the_arrow_buffers():
    data = stream_bytes([*SMALL, "--steps", "3", "--sub_batch_size", "2"])
    reader = pa.ipc.open_stream(data)
    for batch in reader:
        step = next(steps_of(batch))
        for name in TENSORS:
            buffers = [b for b in batch.column(name).buffers() if b is not None]
            lo = min(b.address for b in buffers)
            hi = max(b.address + b.size for b in buffers)
            for matrix in step[name]:
                assert matrix.dtype == np.int32 and not matrix.flags.owndata
                assert lo <= matrix.ctypes.data and matrix.ctypes.data + matrix.nbytes <= hi, f"{name} was copied"


def test_sliced_arrays_map_to_the_right_values():
    # Views are taken from the data buffers by hand (no to_numpy): an array's offset must count.
    from llm_retriever_data._stream import _vector
    numbers = pa.array(list(range(-5, 20)), type=pa.int32()).slice(7, 9)
    assert _vector(numbers).tolist() == list(range(2, 11))
    floats = pa.array([0.5 * i for i in range(30)], type=pa.float32()).slice(13, 4)
    assert _vector(floats).tolist() == [6.5, 7.0, 7.5, 8.0]
    bools = pa.array([i % 3 == 0 for i in range(40)]).slice(5, 17)
    assert _vector(bools).tolist() == [i % 3 == 0 for i in range(5, 22)]
    assert _vector(pa.array([], type=pa.int64())).dtype == np.int64
    with pytest.raises(StreamFormatError, match="nulls"):
        _vector(pa.array([1, None, 3], type=pa.int32()))


def test_reading_a_stream_does_not_import_pandas(tmp_path):
    # pyarrow's Array.to_numpy() imports pandas on its first call when pandas is installed: half a
    # second before the first batch, for nothing this reader uses.
    try:
        import pandas  # noqa: F401
    except ImportError:
        pytest.skip("skipped: pandas is not installed here, so nothing could import it")
    path = tmp_path / "steps.arrow"
    path.write_bytes(stream_bytes([*SMALL, "--steps", "2", "--sub_batch_size", "2"]))
    script = (
        "import sys; from llm_retriever_data import read_steps; "
        f"steps = list(read_steps({str(path)!r})); "
        "assert len(steps) == 2 and steps[0]['q_ids'][0].ndim == 2; "
        "print('pandas' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout.strip()
    assert out == "False"


def test_read_steps_reads_a_saved_stream(tmp_path):
    args = [*SMALL, "--steps", "4"]
    path = tmp_path / "steps.arrow"
    path.write_bytes(stream_bytes(args))
    for step, record in zip(read_steps(str(path)), dump_json(args), strict=True):
        assert_same_step(step, record)


def test_a_table_of_an_unknown_version_is_refused():
    schema = pa.schema([("epoch", pa.int32())], metadata={"llm_retriever_data": json.dumps({"version": 99})})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema):
        pass
    with pytest.raises(StreamFormatError, match="version 99"):
        list(read_steps(sink.getvalue().to_pybytes()))


def test_a_bad_path_raises_with_the_commands_stderr():
    with pytest.raises(DataProcessError, match="no-such-folder") as failure:
        list(iter_batches(["--train_data", str(ROOT / "examples/data/no-such-folder"), "--steps", "1"], echo_stderr=False))
    assert failure.value.returncode == 2
    assert "llm-retriever-data: error" in failure.value.stderr


def test_bad_data_raises_with_file_and_line(tmp_path):
    (tmp_path / "task.jsonl").write_text('{"query": "q", "pos": ["p"], "neg": ["n"]}\n{"query": 1}\n')
    with pytest.raises(DataProcessError, match="task.jsonl") as failure:
        list(iter_batches(["--train_data", str(tmp_path), "--query_instruction_for_retrieval", "x", "--steps", "1"], echo_stderr=False))
    assert failure.value.returncode == 1


def test_another_format_is_refused():
    with pytest.raises(ValueError, match="--format"):
        next(iter_batches([*SMALL, "--format", "json"]))


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


LONG = [*SMALL, "--steps", "100000"]


def test_break_ends_the_data_process():
    assert children_of(os.getpid()) == []
    for i, _ in enumerate(iter_batches(LONG, echo_stderr=False)):
        assert len(children_of(os.getpid())) == 1
        if i == 1:
            break
    assert wait_until(lambda: children_of(os.getpid()) == []), "the data process outlived the loop"


def test_garbage_collection_ends_the_data_process():
    steps = iter_batches(LONG, echo_stderr=False)
    next(steps)
    assert len(children_of(os.getpid())) == 1
    del steps
    gc.collect()
    assert wait_until(lambda: children_of(os.getpid()) == []), "the data process outlived its reader"


def test_a_data_process_killed_mid_stream_raises():
    steps = iter_batches(LONG, echo_stderr=False)
    next(steps)
    [child] = children_of(os.getpid())
    os.kill(child, signal.SIGKILL)
    with pytest.raises(DataProcessError, match="killed by signal 9"):
        for _ in steps:
            pass


def test_find_command_in_order():
    from llm_retriever_data import find_command

    assert find_command(["x", "y"]) == ["x", "y"]
    assert find_command("npx llm-retriever-data") == ["npx", "llm-retriever-data"]
    assert find_command()[1:] == [str(ROOT / "lib" / "cli" / "bin.mjs")], "the checkout this package lives in"


@pytest.mark.parametrize("cpus,expected", [(1, "--v8-pool-size=1"), (2, "--v8-pool-size=1"), (4, "--v8-pool-size=3"), (5, None), (64, None)])
def test_the_data_process_gets_a_v8_pool_below_the_cores(monkeypatch, cpus, expected):
    from llm_retriever_data import _process

    monkeypatch.setattr(_process, "_usable_cpus", lambda: cpus)
    env = _process.data_process_environment({"PATH": "/bin", "NODE_OPTIONS": "--max-old-space-size=512"})
    assert env["PATH"] == "/bin"
    assert env["NODE_OPTIONS"] == ("--max-old-space-size=512" + (f" {expected}" if expected else ""))
    # The user's own pool size wins; without NODE_OPTIONS only the pool size is set.
    assert _process.data_process_environment({"NODE_OPTIONS": "--v8-pool-size=8"})["NODE_OPTIONS"] == "--v8-pool-size=8"
    assert _process.data_process_environment({}).get("NODE_OPTIONS") == expected


def test_the_running_data_process_has_that_environment():
    from llm_retriever_data._process import data_process_environment

    steps = iter_batches(LONG, echo_stderr=False)
    next(steps)
    [child] = children_of(os.getpid())
    with open(f"/proc/{child}/environ", "rb") as f:
        environ = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    assert environ.get(b"NODE_OPTIONS", b"").decode() == data_process_environment().get("NODE_OPTIONS", "")
    steps.close()

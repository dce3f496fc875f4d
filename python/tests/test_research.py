"""The research flavor through the Python side (test_stream.py compares its stream with dump --flavor
research's JSON too): the stream names its flavor, the export reads back equal to the JSON, a torch
batch takes the research collator's shape, and resume is exact."""
import json
import subprocess

import numpy as np
import pytest

from conftest import CLI, RESEARCH, assert_same_step, dump_json
from llm_retriever_data import read_export, table_description

def test_the_stream_says_it_is_the_research_flavor():
    data = subprocess.run([*CLI, "dump", *RESEARCH, "--steps", "1", "--format", "arrow"], capture_output=True, check=True).stdout
    import pyarrow as pa
    assert table_description(pa.ipc.open_stream(data).schema)["flavor"] == "research"


def test_the_research_export_reads_back_equal_to_dump_json(tmp_path):
    subprocess.run([*CLI, "export", *RESEARCH, "--steps", "7", "--steps_per_shard", "3", "--with_text", "--out", str(tmp_path)],
                   check=True, capture_output=True)
    records = dump_json([*RESEARCH, "--steps", "7"])
    for step, record in zip(read_export(str(tmp_path), rank=1), records, strict=True):
        assert_same_step(step, record, with_text=True)
    datasets = pytest.importorskip("datasets", reason="skipped: Hugging Face datasets is not installed")
    ds = datasets.load_from_disk(str(tmp_path / "rank_1"))
    assert ds.features["messages"] == datasets.List(datasets.Value("string"))
    assert [row["messages"] for row in ds] == [r["messages"] for r in records]


def test_a_torch_batch_takes_the_research_collators_shape_and_resumes_exactly():
    torch = pytest.importorskip("torch", reason="skipped: torch is not installed")
    from llm_retriever_data import FlagEmbeddingBatches, as_flagembedding_inputs

    args = [*RESEARCH, "--steps", "6"]
    records = dump_json(args)
    first = FlagEmbeddingBatches(args, echo_stderr=False)
    head = []
    for batch in first:
        head.append(batch)
        if len(head) == 2:
            break
    state = json.loads(json.dumps(first.state_dict()))
    first.close()
    second = FlagEmbeddingBatches(args, echo_stderr=False)
    second.load_state_dict(state)
    batches = head + list(second)
    assert len(batches) == len(records)
    for batch, record in zip(batches, records):
        assert_same_step(batch, record)
        # SameEmbedCollator's keys, as research/llm_dense_retriever's model.forward takes them.
        inputs = as_flagembedding_inputs(batch)
        assert sorted(inputs) == ["messages", "passage", "query", "teacher_scores"]
        assert inputs["query"]["input_ids"].dtype == torch.int32 and inputs["query"]["input_ids"].tolist() == record["q_ids"]
        assert inputs["passage"]["attention_mask"].tolist() == record["p_mask"]
        assert inputs["messages"] == record["messages"]
        want = record["teacher_scores"]
        assert inputs["teacher_scores"] == (None if want is None else np.float32(want).tolist())

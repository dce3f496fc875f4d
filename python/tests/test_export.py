"""The export read with no custom code: datasets.load_from_disk (the DatasetDict and one rank's
folder) and Dataset.from_file (one shard) give dump's JSON field for field; read_export maps the
same shards without copying."""
import json
import subprocess

import numpy as np
import pytest

from conftest import CLI, SMALL, TENSORS, assert_same_step, dump_json
from llm_retriever_data import read_export

datasets = pytest.importorskip("datasets", reason="skipped: Hugging Face datasets is not installed (python/setup-venv.sh installs it)")

STEPS, PER_SHARD = 13, 5


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    subprocess.run([*CLI, "export", *SMALL, "--world_size", "2", "--all_ranks", "--steps", str(STEPS),
                    "--steps_per_shard", str(PER_SHARD), "--with_text", "--out", str(out)], check=True, capture_output=True)
    return out


def expected(rank):
    return dump_json([*SMALL, "--world_size", "2", "--rank", str(rank), "--steps", str(STEPS)])


def assert_row_equals(row, record):
    """A row as datasets gives it (lists) against dump's JSON record."""
    for key, want in record.items():
        if key == "teacher_scores" and want is not None:
            assert np.array_equal(np.float32(row[key]), np.float32(want)), key
        else:
            assert row[key] == want, key


def test_load_from_disk_reads_the_datasetdict_equal_to_dump_json(export_dir):
    loaded = datasets.load_from_disk(str(export_dir))
    assert sorted(loaded) == ["rank_0", "rank_1"]
    for rank in (0, 1):
        ds = loaded[f"rank_{rank}"]
        assert ds.num_rows == STEPS
        assert ds.features["q_ids"] == datasets.List(datasets.List(datasets.Value("int32")))
        for i, (row, record) in enumerate(zip(ds, expected(rank), strict=True)):
            assert_row_equals(row, record)
            assert row["global_step"] == i and row["rank"] == rank and json.loads(row["resume"])["globalStep"] == i + 1


def test_load_from_disk_of_one_rank_and_torch_format(export_dir):
    ds = datasets.load_from_disk(str(export_dir / "rank_1"))
    for row, record in zip(ds, expected(1), strict=True):
        assert_row_equals(row, record)
    torch = pytest.importorskip("torch", reason="skipped: torch is not installed")
    first = ds.with_format("torch")[0]
    assert isinstance(first["q_ids"], torch.Tensor) and first["q_ids"].tolist() == expected(1)[0]["q_ids"]


def test_dataset_from_file_reads_one_shard(export_dir):
    shard = datasets.Dataset.from_file(str(export_dir / "rank_0" / "data-00001-of-00003.arrow"))
    assert shard.num_rows == PER_SHARD
    for row, record in zip(shard, expected(0)[PER_SHARD:2 * PER_SHARD], strict=True):
        assert_row_equals(row, record)


def test_read_export_maps_the_shards_without_copying(export_dir):
    steps = list(read_export(str(export_dir), rank=0))
    for step, record in zip(steps, expected(0), strict=True):
        assert_same_step(step, record, with_text=True)
    # The arrays lie in the shard's own memory mapping (Linux: /proc/self/maps), not in a copy.
    shard = str(export_dir / "rank_0" / "data-00000-of-00003.arrow")
    step = next(read_export(str(export_dir / "rank_0")))
    with open("/proc/self/maps") as f:
        ranges = [tuple(int(x, 16) for x in line.split()[0].split("-")) for line in f if line.rstrip().endswith(shard)]
    assert ranges, "the shard is memory-mapped"
    for name in TENSORS:
        start = step[name].ctypes.data
        assert any(lo <= start and start + step[name].nbytes <= hi for lo, hi in ranges), f"{name} is not a view of the mapped shard"


def test_an_unfinished_export_is_refused(tmp_path):
    (tmp_path / "rank_0").mkdir()
    with pytest.raises(FileNotFoundError, match="not a finished export"):
        next(read_export(str(tmp_path), rank=0))

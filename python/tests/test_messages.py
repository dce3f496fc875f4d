"""The fast path (llm_retriever_data._messages) decodes record-batch messages to the same steps as
pyarrow's RecordBatch (the general path), on generated tables of every type and nesting the step
tables use; malformed messages are refused; compressed messages and other types go the general way."""
import json
import random

import numpy as np
import pyarrow as pa
import pytest

import conftest  # noqa: F401  (puts python/ on the path)
from llm_retriever_data import StreamFormatError, read_steps
from llm_retriever_data._messages import RecordBatchLayout, message_rows, plan_columns, record_batch_layout
from llm_retriever_data._stream import StepDecoder

METADATA = {b"llm_retriever_data": json.dumps({"version": 1}).encode()}
LEAVES = [pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.uint8(), pa.bool_(), pa.string(), pa.large_string()]


def _leaf_value(rng, leaf):
    if pa.types.is_boolean(leaf):
        return rng.random() < 0.5
    if pa.types.is_floating(leaf):
        return rng.choice([0.0, -1.5, 3.25, 1e30, rng.uniform(-1e3, 1e3)])
    if pa.types.is_string(leaf) or pa.types.is_large_string(leaf):
        return "".join(rng.choice("ab é😀<\n") for _ in range(rng.randrange(0, 6)))
    bits = leaf.bit_width
    low, high = (0, 2 ** bits - 1) if pa.types.is_unsigned_integer(leaf) else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return rng.choice([low, high, 0, rng.randint(low, high)])


def _value(rng, leaf, depth):
    """A row's value: padded matrices (equal-length rows) where numbers nest two levels or more."""
    if depth == 0:
        return _leaf_value(rng, leaf)
    if depth == 1:
        return [_leaf_value(rng, leaf) for _ in range(rng.randrange(0, 5))]
    text = pa.types.is_string(leaf) or pa.types.is_large_string(leaf)
    if depth == 2:
        width = rng.randrange(0, 4)
        return [_value(rng, leaf, 1) if text else [_leaf_value(rng, leaf) for _ in range(width)] for _ in range(rng.randrange(0, 4))]
    return [_value(rng, leaf, 2) for _ in range(rng.randrange(0, 3))]


def _random_table(seed):
    rng = random.Random(seed)
    rows = rng.randrange(0, 5)
    fields, columns = [], []
    for c in range(rng.randrange(1, 7)):
        leaf, depth = rng.choice(LEAVES), rng.randrange(0, 4)
        type_ = leaf
        for _ in range(depth):
            type_ = pa.large_list(type_) if rng.random() < 0.2 else pa.list_(type_)
        values = [None if rng.random() < 0.2 else _value(rng, leaf, depth) for _ in range(rows)]
        fields.append(pa.field(f"c{c}", type_))
        columns.append(pa.array(values, type=type_))
    table = pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=METADATA))
    if rows > 1 and rng.random() < 0.5:  # a slice: offsets that do not start at zero
        start = rng.randrange(0, rows)
        table = table.slice(start, rng.randrange(0, rows - start + 1))
    return table


def _stream(table, **options):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        for batch in table.to_batches(max_chunksize=2) or [pa.RecordBatch.from_pylist([], schema=table.schema)]:
            writer.write_batch(batch)
    return sink.getvalue()


def _general_steps(data):
    reader = pa.ipc.open_stream(data)
    decoder = StepDecoder(reader.schema)
    return [step for batch in reader for step in decoder.steps(batch)]


def _assert_same(a, b, where):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for x, y in zip(a, b):
            _assert_same(x, y, where)
    else:
        assert type(a) is type(b) and a == b, where


@pytest.mark.parametrize("seed", range(300))
def test_the_fast_path_equals_pyarrows_record_batches(seed):
    table = _random_table(seed)
    assert plan_columns(table.schema) is not None
    data = _stream(table)
    fast, general = list(read_steps(data)), _general_steps(data)
    assert len(fast) == len(general) == table.num_rows
    for i, (a, b) in enumerate(zip(fast, general)):
        assert a.keys() == b.keys()
        for name in a:
            _assert_same(a[name], b[name], f"seed {seed}, row {i}, {name}: {table.schema.field(name).type}")
    # And both equal what pyarrow itself makes of the rows.
    for a, row in zip(fast, table.to_pylist()):
        assert {name: _as_lists(value) for name, value in a.items()} == row, seed


def _as_lists(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [_as_lists(v) for v in value]
    return value


def test_the_arrays_are_views_of_the_streams_bytes():
    table = pa.table({"q_ids": pa.array([[[1, 2, 3], [4, 5, 6]]], type=pa.list_(pa.list_(pa.int32())))}).replace_schema_metadata(METADATA)
    data = _stream(table)
    (step,) = read_steps(data)
    matrix = step["q_ids"]
    assert matrix.tolist() == [[1, 2, 3], [4, 5, 6]] and not matrix.flags.owndata and not matrix.flags.writeable
    assert data.address <= matrix.ctypes.data and matrix.ctypes.data + matrix.nbytes <= data.address + data.size


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_a_compressed_stream_is_decoded_through_pyarrow(codec):
    if not pa.Codec.is_available(codec):
        pytest.skip(f"skipped: this pyarrow has no {codec}")
    table = _random_table(7)
    data = _stream(table, compression=codec)
    message = pa.ipc.read_message(_second_message(data))
    assert record_batch_layout(message.metadata) is None
    fast, general = list(read_steps(data)), _general_steps(_stream(table))
    for a, b in zip(fast, general, strict=True):
        for name in a:
            _assert_same(a[name], b[name], name)


def _second_message(data):
    reader = pa.ipc.MessageReader.open_stream(data)
    reader.read_next_message()
    return reader.read_next_message().serialize()


def test_other_types_are_decoded_through_pyarrow():
    schema = pa.schema([pa.field("pair", pa.struct([("a", pa.int32())])), pa.field("n", pa.int32())], metadata=METADATA)
    table = pa.table({"pair": [{"a": 1}, None], "n": [5, 6]}, schema=schema)
    assert plan_columns(schema) is None
    assert [(s["pair"], s["n"]) for s in read_steps(_stream(table))] == [({"a": 1}, 5), (None, 6)]


def _layout_and_body():
    table = pa.table({"q_ids": pa.array([[[1, 2], [3, 4]]], type=pa.list_(pa.list_(pa.int32())))}).replace_schema_metadata(METADATA)
    message = pa.ipc.read_message(_second_message(_stream(table)))
    return plan_columns(table.schema), record_batch_layout(message.metadata), message.body


def test_a_buffer_outside_the_body_is_refused():
    plans, layout, body = _layout_and_body()
    buffers = list(layout.buffers)
    buffers[-1] = body.size + 8
    with pytest.raises(StreamFormatError, match="outside"):
        message_rows(plans, RecordBatchLayout(layout.length, layout.nodes, buffers), body)


def test_a_layout_that_does_not_match_the_schema_is_refused():
    plans, layout, body = _layout_and_body()
    with pytest.raises(StreamFormatError, match="field nodes"):
        message_rows(plans, RecordBatchLayout(layout.length, layout.nodes[:-2], layout.buffers), body)


def test_a_ragged_matrix_and_nulls_in_a_tensor_are_refused():
    ragged = pa.table({"t": pa.array([[[1, 2], [3]]], type=pa.list_(pa.list_(pa.int32())))}).replace_schema_metadata(METADATA)
    with pytest.raises(StreamFormatError, match="different lengths"):
        list(read_steps(_stream(ragged)))
    holes = pa.table({"t": pa.array([[[1, None]]], type=pa.list_(pa.list_(pa.int32())))}).replace_schema_metadata(METADATA)
    with pytest.raises(StreamFormatError, match="nulls"):
        list(read_steps(_stream(holes)))


def test_a_buffer_too_short_for_its_values_is_refused():
    plans, layout, body = _layout_and_body()
    buffers = list(layout.buffers)
    buffers[-1] = 4  # the values' buffer: 4 of 16 bytes
    with pytest.raises(StreamFormatError, match="were expected"):
        message_rows(plans, RecordBatchLayout(layout.length, layout.nodes, buffers), body)

"""Steps of an Arrow stream (or exported shard) as dicts of numpy arrays, without copying the tensors.

The table is the one `dump --format arrow` writes (lib/sinks/stepTable.ts): one row per step, one
column per field of dump's JSON with the same nesting. Columns are converted by their Arrow type,
not by name, so that a column added later (a mask, a flag) comes through without a change here:

- a list of lists of numbers (a padded matrix: every row has the same length) -> a 2-D array that
  is a view of the Arrow buffer (no copy); a list of those (sub-batches) -> a list of 2-D arrays;
- a list of numbers -> a 1-D array (a view, except booleans, which Arrow packs into bits);
- a list of strings -> a list of str; a null -> None; a scalar -> its Python value;
- the `resume` column (JSON text) -> a dict: the state to continue after this step.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import pyarrow as pa

from ._messages import NUMPY_DTYPES, StreamFormatError, list_levels, matrix, message_rows, plan_columns, record_batch_layout

#: The versions of the table this reader knows (the schema metadata's "version").
KNOWN_VERSIONS = (1,)
METADATA_KEY = b"llm_retriever_data"


def table_description(schema: pa.Schema) -> Dict[str, Any]:
    """The schema's description (version, tensor layout, texts), checked to be a version this reader knows."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise StreamFormatError("not an llm-retriever-data step table: its schema has no 'llm_retriever_data' metadata")
    description = json.loads(raw)
    if description.get("version") not in KNOWN_VERSIONS:
        raise StreamFormatError(
            f"step table version {description.get('version')!r} is not one this package reads ({KNOWN_VERSIONS}); "
            "use the Python package from the same checkout as the command")
    return description


def _is_number(type_: pa.DataType) -> bool:
    return pa.types.is_integer(type_) or pa.types.is_floating(type_)


# Why np.frombuffer and not Array.to_numpy(): the first to_numpy() of a process imports pandas when
# it is installed (datasets installs it), which cost half a second before the first batch; the
# data buffer itself is all a view needs.
def _vector(values: pa.Array) -> np.ndarray:
    """A flat array of numbers or booleans as numpy: a read-only view of its data buffer (no copy),
    except booleans, which Arrow packs into bits (unpacked, a copy)."""
    if values.null_count:
        raise StreamFormatError("a tensor holds nulls")
    n, start = len(values), values.offset
    if pa.types.is_boolean(values.type):
        if n == 0:
            return np.zeros(0, dtype=bool)
        bits = np.frombuffer(values.buffers()[1], dtype=np.uint8)
        return np.unpackbits(bits, count=start + n, bitorder="little")[start:].astype(bool)
    dtype = NUMPY_DTYPES.get(values.type)
    if dtype is None:
        raise StreamFormatError(f"a tensor of {values.type}, which this reader does not map to numpy")
    if n == 0:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(values.buffers()[1], dtype=dtype, count=n, offset=start * dtype.itemsize)


def _offsets(lists: pa.Array) -> np.ndarray:
    """A list array's n + 1 offsets into its child array (``lists.values``), as a numpy view."""
    dtype = np.dtype(np.int64) if pa.types.is_large_list(lists.type) else np.dtype(np.int32)
    # buffers() lists the whole tree's buffers; the array's own offsets come second, after its validity.
    return np.frombuffer(lists.buffers()[1], dtype=dtype, count=len(lists) + 1, offset=lists.offset * dtype.itemsize)


# Why by hand and not ListArray.flatten() or slices per row: flatten goes through pyarrow.compute's
# Python wrapper, which cost more than everything else here together; so each column's buffers are
# mapped to numpy once per record batch, and a row is numpy slices of them.
def _column_reader(type_: pa.DataType) -> Callable[[pa.Array], Callable[[int], Any]]:
    """For a column type: how a record batch's column becomes a function of the row (see the
    module's docs for the values)."""
    offset_types, leaf = list_levels(type_)
    depth = len(offset_types)
    if depth == 0 or depth > 3 or not (_is_number(leaf) or pa.types.is_boolean(leaf)):
        return lambda column: column.to_pylist().__getitem__

    def prepare(column: pa.Array) -> Callable[[int], Any]:
        levels = []
        array = column
        for _ in range(depth):
            levels.append(_offsets(array))
            array = array.values
        values = _vector(array)
        if depth == 1:
            (outer,) = levels
            return lambda i: values[int(outer[i]):int(outer[i + 1])]
        if depth == 2:
            outer, rows = levels
            return lambda i: matrix(values, rows[int(outer[i]):int(outer[i + 1]) + 1])
        outer, chunks, rows = levels
        return lambda i: [matrix(values, rows[int(chunks[c]):int(chunks[c + 1]) + 1]) for c in range(int(outer[i]), int(outer[i + 1]))]

    return prepare


def _with_nulls(column: pa.Array, row: Callable[[int], Any]) -> Callable[[int], Any]:
    if not column.null_count:
        return row
    return lambda i: row(i) if column[i].is_valid else None


def _steps(names: List[str], rows: List[Callable[[int], Any]], count: int) -> Iterator[Dict[str, Any]]:
    for i in range(count):
        step = {name: row(i) for name, row in zip(names, rows)}
        if isinstance(step.get("resume"), str):
            step["resume"] = json.loads(step["resume"])
        yield step


class StepDecoder:
    """Decodes the record batches of one schema into steps; the per-column work is planned once.

    A message of the stream is decoded from its bytes (``_messages``, the fast path) when the
    schema's types allow it and the message is not compressed, else through pyarrow's RecordBatch
    (:meth:`steps`); both give the same values.
    """

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.names = schema.names
        self.readers = [_column_reader(field.type) for field in schema]
        self.plans = plan_columns(schema)

    def steps(self, batch: pa.RecordBatch) -> Iterator[Dict[str, Any]]:
        """The steps of a pyarrow RecordBatch of this schema."""
        rows = [_with_nulls(column, read(column)) for read, column in zip(self.readers, batch.columns)]
        return _steps(self.names, rows, batch.num_rows)

    def message_steps(self, message: pa.ipc.Message) -> Iterator[Dict[str, Any]]:
        """The steps of one record batch message of a stream of this schema."""
        if message.type != "record batch":
            raise StreamFormatError(f"a {message.type} message: a step table has record batches only")
        layout = record_batch_layout(message.metadata) if self.plans is not None else None
        if layout is None:
            return self.steps(pa.ipc.read_record_batch(message, self.schema))
        return _steps(self.names, message_rows(self.plans, layout, message.body), layout.length)


def steps_of(batch: pa.RecordBatch) -> Iterator[Dict[str, Any]]:
    """The steps of one record batch (one row each; the stream has one row per batch), as dicts."""
    return StepDecoder(batch.schema).steps(batch)


def open_step_stream(source: Any) -> "tuple[pa.ipc.MessageReader, StepDecoder]":
    """The messages of an Arrow stream of steps after its schema, and the decoder of that schema.

    Raises :class:`StreamFormatError` if the stream does not start with a step table's schema.
    """
    messages = pa.ipc.MessageReader.open_stream(source)
    try:
        first = messages.read_next_message()
    except StopIteration:
        raise StreamFormatError("an empty stream: no schema, so no step table") from None
    if first.type != "schema":
        raise StreamFormatError(f"the stream starts with a {first.type} message, not a schema")
    schema = pa.ipc.read_schema(first)
    table_description(schema)
    return messages, StepDecoder(schema)


def read_steps(source: Any) -> Iterator[Dict[str, Any]]:
    """Every step of an Arrow stream: a file path, a binary file object, or bytes.

    Example::

        for step in read_steps("steps.arrow"):   # written by `dump --format arrow > steps.arrow`
            step["q_ids"].shape                  # (queries, padded length), int32, no copy
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = pa.BufferReader(source)
    elif isinstance(source, str):
        source = pa.memory_map(source)
    messages, decoder = open_step_stream(source)
    for message in messages:
        yield from decoder.message_steps(message)


def read_export(path: str, rank: Optional[int] = None) -> Iterator[Dict[str, Any]]:
    """Every step of an exported rank (``llm-retriever-data export``), in order, memory-mapped.

    ``path`` is a rank's folder (``out/rank_3``), or the export folder with ``rank``. The shards
    are read in the order its ``state.json`` lists them, each memory-mapped: the arrays are views
    of the mapped files (no copy, nothing read before it is used). ``datasets.load_from_disk(path)``
    reads the same folder (as lists, or tensors with ``with_format("torch")``, at a copy each).

    Example::

        for step in read_export("steps", rank=0):
            step["p_ids"].shape
    """
    folder = Path(path) if rank is None else Path(path) / f"rank_{rank}"
    state_file = folder / "state.json"
    if not state_file.is_file():
        raise FileNotFoundError(f"{folder} is not a finished export (no state.json): run the export (again) to complete it")
    with open(state_file) as f:
        files = [entry["filename"] for entry in json.load(f)["_data_files"]]
    for name in files:
        yield from read_steps(str(folder / name))

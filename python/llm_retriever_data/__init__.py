"""llm-retriever-data's batches in Python: the Arrow stream of ``llm-retriever-data dump --format arrow``
as numpy arrays (:func:`iter_batches`) or torch tensors (:class:`FlagEmbeddingBatches`), without copying
the tensors, and exported datasets (``llm-retriever-data export``) through Hugging Face ``datasets``.

Pure Python on pyarrow and numpy; torch is needed only for :class:`FlagEmbeddingBatches`. From a
checkout: ``PYTHONPATH=python``; the command is found in that checkout (see :func:`find_command`).
The stream's schema is described in python/README.md.
"""
from ._process import DataProcess, DataProcessError, find_command, iter_batches
from ._stream import StreamFormatError, read_export, read_steps, steps_of, table_description

__all__ = [
    "DataProcess",
    "DataProcessError",
    "FlagEmbeddingBatches",
    "StreamFormatError",
    "as_flagembedding_inputs",
    "find_command",
    "iter_batches",
    "read_export",
    "read_steps",
    "steps_of",
    "table_description",
    "to_tensors",
]


def __getattr__(name: str):
    # torch is optional: imported only when its part is asked for.
    if name in ("FlagEmbeddingBatches", "as_flagembedding_inputs", "to_tensors"):
        from . import torch_dataset
        return getattr(torch_dataset, name)
    raise AttributeError(f"module 'llm_retriever_data' has no attribute {name!r}")

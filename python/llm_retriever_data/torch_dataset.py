"""`FlagEmbeddingBatches`: the command's steps as a torch `IterableDataset`, resumable at any step."""
from __future__ import annotations

import json
import os
import tempfile
import warnings
import weakref
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ._process import Command, DataProcess, dump_arguments, find_command

STATE_VERSION = 1

_read_only_warning_spent = False


def _tensor(array: np.ndarray) -> torch.Tensor:
    # The arrays are views of the stream's buffers, which Arrow marks read-only, and torch warns about
    # that (once per process, whoever converts). The first conversion here is made with the warning
    # off; the docs say the tensors are read-only views.
    global _read_only_warning_spent
    if _read_only_warning_spent or array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)
        tensor = torch.from_numpy(array)
    _read_only_warning_spent = True
    return tensor


def to_tensors(step: Dict[str, Any]) -> Dict[str, Any]:
    """A step from :func:`iter_batches` with its arrays as torch tensors over the same memory."""
    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return _tensor(value)
        if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            return [_tensor(v) for v in value]
        return value
    return {name: convert(value) for name, value in step.items()}


def as_flagembedding_inputs(batch: Dict[str, Any]) -> Dict[str, Any]:
    """A batch in the shape its flavor's collator gives the model: ``model(**as_flagembedding_inputs(batch))``.

    icl flavor (FlagEmbedding 1.4's ``AbsEmbedderSameDatasetCollator``): ``queries`` and ``passages``
    are ``{"input_ids", "attention_mask"}`` (lists of them with ``sub_batch_size``), with
    ``teacher_scores`` and ``no_in_batch_neg_flag``.

    research flavor (a batch with ``messages``; research/llm_dense_retriever's ``SameEmbedCollator``):
    ``query`` and ``passage`` in the same shape, ``messages`` (a list of strings: its model reads
    ``messages[0] == "normal"`` as in-batch negatives on), and ``teacher_scores`` as that collator
    gives them: a list of floats, or None when the batch has none.
    """
    def side(ids: Any, mask: Any) -> Any:
        if isinstance(ids, list):
            return [{"input_ids": i, "attention_mask": m} for i, m in zip(ids, mask)]
        return {"input_ids": ids, "attention_mask": mask}
    if "messages" in batch:
        scores = batch["teacher_scores"]
        return {
            "query": side(batch["q_ids"], batch["q_mask"]),
            "passage": side(batch["p_ids"], batch["p_mask"]),
            "messages": list(batch["messages"]),
            "teacher_scores": None if scores is None else [float(s) for s in scores],
        }
    return {
        "queries": side(batch["q_ids"], batch["q_mask"]),
        "passages": side(batch["p_ids"], batch["p_mask"]),
        "teacher_scores": batch["teacher_scores"],
        "no_in_batch_neg_flag": batch["no_in_batch_neg"],
    }


def _option(args: Sequence[str], name: str) -> "tuple[List[str], Optional[str]]":
    """``args`` without ``--name VALUE`` / ``--name=VALUE``, and that value (or None)."""
    rest: List[str] = []
    value: Optional[str] = None
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
        elif a == f"--{name}":
            value = args[i + 1] if i + 1 < len(args) else None
            skip = True
        elif a.startswith(f"--{name}="):
            value = a.split("=", 1)[1]
        else:
            rest.append(a)
    return rest, value


class FlagEmbeddingBatches(IterableDataset):
    """The batches of ``llm-retriever-data dump ARGS`` as a torch ``IterableDataset``.

    Each item is one training step: a dict keyed like dump's JSON fields, with ``q_ids``, ``q_mask``,
    ``p_ids``, ``p_mask`` as int32 tensors (lists of them with ``--sub_batch_size``) that share memory
    with the stream (no copy: treat them as read-only, ``.clone()`` before changing them in place),
    ``teacher_scores`` a float32 tensor or None, ``example_indices`` an int64 tensor, and the step's
    ``epoch``, ``step``, ``global_step``, ``rank``, ``world_size`` and ``resume``.
    :func:`as_flagembedding_inputs` reshapes one for FlagEmbedding's model.

    **The data process.** Iterating starts the command (``dump --format arrow``) in a child process
    with this process's environment: under torchrun each rank gets its own slice (RANK, WORLD_SIZE);
    on a machine with fewer than 5 cores, NODE_OPTIONS also sizes V8's worker pool below the core count
    (:func:`~llm_retriever_data._process.data_process_environment`).
    If it fails, iteration raises :class:`DataProcessError` with its stderr. It ends when the
    iterator is closed: ``break`` out of the loop, ``close()``, garbage collection, or interpreter exit.

    **Resume.** The dataset is a cursor over the run's steps. :meth:`state_dict` is the position
    after the last batch handed out; :meth:`load_state_dict` sets it; the next iteration continues
    from there (the stream carries the resume state of every step). An iteration that stops early
    (``break``, a crash before a checkpoint was loaded back) is continued by the next one: with
    ``--steps N`` it yields the rest of its N steps, then each new iteration N more; without
    ``--steps``, each iteration runs to the end of the epoch it is in, as dump does.

    **Workers.** The command already builds batches in its own process (``--workers`` /
    ``--concurrency`` in ``args`` for more), so DataLoader worker processes would only add a copy,
    and the position of a dataset copied into a worker never reaches this process: any
    ``num_workers`` other than 0 is refused with a RuntimeError.

    Example::

        ds = FlagEmbeddingBatches(["--train_data", "data/", "--per_device_train_batch_size", "16"])
        loader = torch.utils.data.DataLoader(ds, batch_size=None)
        for batch in loader: ...
        torch.save({"data": ds.state_dict(), ...}, "checkpoint.pt")
    """

    def __init__(self, args: Sequence[str], command: Command = None, *, echo_stderr: bool = True):
        super().__init__()
        self.args = dump_arguments(args)
        self.command = command
        self.echo_stderr = echo_stderr
        rest, steps = _option(self.args, "steps")
        self._steps = int(steps) if steps is not None else None
        self._resume: Optional[Dict[str, Any]] = None
        self._steps_left: Optional[int] = None
        self._processes: "weakref.WeakSet[DataProcess]" = weakref.WeakSet()
        find_command(command)  # fail here, not in the training loop, when there is no command

    def state_dict(self) -> Dict[str, Any]:
        """Where the next iteration starts: the resume state after the last batch handed out (None:
        from the start, or from ``args``' ``--resume_from``), and the steps left of an interrupted
        ``--steps`` iteration (None: none interrupted). Plain data: JSON or ``torch.save`` it."""
        return {"version": STATE_VERSION, "resume": self._resume, "steps_left": self._steps_left}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Continues from ``state`` (from :meth:`state_dict`) at the next iteration."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown FlagEmbeddingBatches state version {state.get('version')!r} (expected {STATE_VERSION})")
        self._resume = state.get("resume")
        self._steps_left = state.get("steps_left")

    def __getstate__(self) -> Dict[str, Any]:
        # A copy (DataLoader workers started by "spawn", deepcopy) has no processes of its own.
        state = self.__dict__.copy()
        state["_processes"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._processes = weakref.WeakSet()

    def close(self) -> None:
        """Ends the data processes of iterations still open."""
        for process in list(self._processes):
            process.close()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        info = get_worker_info()
        if info is not None:
            raise RuntimeError(
                f"FlagEmbeddingBatches in a DataLoader worker (num_workers={info.num_workers}): use num_workers=0. "
                "The data already comes from its own process (add --workers N or --concurrency N to args for more "
                "parallelism), and a copy in a worker would neither share out the steps nor report its position back.")
        return self._iterate()

    def _iterate(self) -> Iterator[Dict[str, Any]]:
        args, _ = _option(self.args, "steps")
        bound = self._steps_left if self._steps_left is not None else self._steps
        state_file = None
        if self._resume is not None:
            args, _ = _option(args, "resume_from")
            fd, state_file = tempfile.mkstemp(prefix="llm-retriever-data-resume-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(self._resume, f)
            args = [*args, "--resume_from", state_file]
        if bound is not None:
            args = [*args, "--steps", str(bound)]
        process = DataProcess([*find_command(self.command), "dump", *args], echo_stderr=self.echo_stderr)
        self._processes.add(process)
        try:
            done = 0
            for step in process.steps():
                done += 1
                self._resume = step["resume"]
                self._steps_left = None if bound is None else bound - done
                yield to_tensors(step)
            self._steps_left = None
        finally:
            process.close()
            if state_file is not None:
                os.unlink(state_file)

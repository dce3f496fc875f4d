"""Starting the `llm-retriever-data` command, reading its Arrow stream, and ending it."""
from __future__ import annotations

import collections
import os

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
import shlex
import shutil
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import pyarrow as pa

from ._stream import StreamFormatError, open_step_stream

Command = Union[str, Sequence[str], None]

#: How much of the command's stderr is kept for error messages (its last lines).
STDERR_TAIL_LINES = 200


class DataProcessError(RuntimeError):
    """The data command failed: its exit code and what it printed on stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, cause: Optional[BaseException] = None):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        detail = stderr.strip() or "(nothing on stderr)"
        reason = f"exited with code {returncode}" if returncode >= 0 else f"was killed by signal {-returncode}"
        super().__init__(f"llm-retriever-data {reason}: {detail}" + (f"\n(while reading its output: {cause})" if cause else ""))


def find_command(command: Command = None) -> List[str]:
    """The command line that runs `llm-retriever-data`.

    In order: ``command`` (a list of arguments, or a string split as a shell would); the checkout this
    package lives in (``node <checkout>/lib/cli/bin.mjs``, which needs ``npm ci`` there); the package
    installed by npm in the working directory (``./node_modules/.bin/llm-retriever-data``, what
    ``npx`` runs there); the ``llm-retriever-data`` executable on PATH (``npm install -g``).
    """
    if command is not None:
        return shlex.split(command) if isinstance(command, str) else list(command)
    root = Path(__file__).resolve().parent.parent.parent
    entry = root / "lib" / "cli" / "bin.mjs"
    if entry.is_file() and (root / "package.json").is_file():
        node = shutil.which("node")
        if node is None:
            raise FileNotFoundError(f"found the checkout {root}, but no `node` on PATH to run it (Node 20 or later)")
        return [node, str(entry)]
    local = Path.cwd() / "node_modules" / ".bin" / "llm-retriever-data"
    if local.is_file() and os.access(local, os.X_OK):
        return [str(local)]
    found = shutil.which("llm-retriever-data")
    if found is not None:
        return [found]
    raise FileNotFoundError(
        "cannot find llm-retriever-data: this package is not inside its checkout and the command is not on PATH "
        "(npm install -g llm-retriever-data, or pass command=[...])")


#: Linux's F_SETPIPE_SZ; Python's fcntl module names it only from 3.10 on some builds.
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031) if fcntl is not None else None
PIPE_BYTES = 1 << 20


def _widen_pipe(pipe: Any) -> None:
    """A step is 0.1 to 1 MB; Linux pipes hold 64 KB by default, so each step would cost many
    wake-ups of both processes. Best effort: other systems (and a lower pipe-max-size) keep theirs."""
    if _F_SETPIPE_SZ is None or pipe is None or not sys.platform.startswith("linux"):
        return
    try:
        fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass


#: Node's V8 worker pool when nothing sizes it: 4 threads whatever the machine (they help V8's garbage
#: collector and compiler).
NODE_DEFAULT_POOL = 4


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def data_process_environment(env: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment the command runs with: ``env`` (default: this process's), and on a machine with
    fewer than 5 usable cores, ``--v8-pool-size`` in NODE_OPTIONS at the cores less one.

    Why: Node gives V8 four helper threads whatever the machine. On 2 cores they outnumber the cores
    when the collector runs in parallel, and with this process reading beside it the command lost
    more to that than in-process (README, Speed: on a 2-core machine, in 10 paired rounds, the stream
    gave 0.94x of the in-process rate with a pool of 1 against 0.87x without; bench:bridge 1.00x, and
    0.93x of the in-process rate with the same pool). A pool size already in NODE_OPTIONS wins.
    Usable cores are this process's CPU affinity (a container's CPU quota is not read).
    """
    environment = dict(os.environ if env is None else env)
    options = environment.get("NODE_OPTIONS", "")
    pool = max(1, min(NODE_DEFAULT_POOL, _usable_cpus() - 1))
    if pool < NODE_DEFAULT_POOL and "--v8-pool-size" not in options:
        environment["NODE_OPTIONS"] = f"{options} --v8-pool-size={pool}".strip()
    return environment


def _terminate(proc: subprocess.Popen) -> None:
    """Ends the process if it still runs (SIGTERM, then SIGKILL after 5 s) and closes its pipes."""
    try:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


class DataProcess:
    """One run of the command with its stdout read as an Arrow stream.

    Its stderr is read by a thread: echoed to this process's stderr (``echo_stderr``) and its last
    lines kept for error messages. The process is ended by :meth:`close`, and also when this object
    is garbage-collected or the interpreter exits, so that no data process outlives its reader.
    """

    def __init__(self, argv: Sequence[str], echo_stderr: bool = True, env: Optional[Dict[str, str]] = None):
        self.argv = list(argv)
        try:
            # Buffered (bufsize > 0) on purpose: pyarrow reads a message with one read(n) and takes a
            # short read from a raw pipe for a truncated stream; a buffered reader returns all n bytes.
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env=data_process_environment(env), bufsize=PIPE_BYTES)
        except OSError as e:
            raise FileNotFoundError(f"cannot start {self.argv[0]}: {e}") from e
        _widen_pipe(self.proc.stdout)
        self._tail: "collections.deque[str]" = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, args=(echo_stderr,), daemon=True)
        self._stderr_thread.start()
        self._finalizer = weakref.finalize(self, _terminate, self.proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _drain_stderr(self, echo: bool) -> None:
        stream = self.proc.stderr
        assert stream is not None
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            self._tail.append(line)
            if echo:
                sys.stderr.write(line)
                sys.stderr.flush()

    def stderr(self) -> str:
        self._stderr_thread.join(timeout=5)
        return "".join(self._tail)

    def failure(self, cause: Optional[BaseException] = None) -> Optional[DataProcessError]:
        """Waits for the process; the error to raise if it failed, else None."""
        code = self.proc.wait()
        if code != 0:
            return DataProcessError(self.argv, code, self.stderr(), cause)
        return None

    def steps(self) -> Iterator[Dict[str, Any]]:
        """The steps of the process's Arrow stream, as dicts of numpy arrays; raises if it fails."""
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            messages, decoder = open_step_stream(stdout)
        except (pa.ArrowInvalid, OSError, StreamFormatError) as e:
            raise (self.failure(e) or DataProcessError(self.argv, 0, self.stderr(), e)) from e
        while True:
            try:
                message = messages.read_next_message()
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError) as e:
                failure = self.failure(e)
                if failure is None:
                    raise
                raise failure from e
            yield from decoder.message_steps(message)
        failure = self.failure()
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Ends the process (if it still runs) and closes its pipes."""
        self._finalizer()


def dump_arguments(args: Sequence[str]) -> List[str]:
    """``args`` for ``dump --format arrow``: refuses another ``--format``."""
    args = [str(a) for a in args]
    for i, a in enumerate(args):
        if a == "--format" or a.startswith("--format="):
            value = a.split("=", 1)[1] if "=" in a else (args[i + 1] if i + 1 < len(args) else "")
            if value != "arrow":
                raise ValueError(f"args set --format {value!r}: this reader reads the Arrow stream (leave --format out)")
            return args
    return [*args, "--format", "arrow"]


def iter_batches(args: Sequence[str], command: Command = None, *, echo_stderr: bool = True) -> Iterator[Dict[str, Any]]:
    """The steps ``llm-retriever-data dump ARGS`` makes, as dicts keyed like dump's JSON fields.

    ``args`` are dump's arguments (``["--train_data", "data/", "--steps", "100", ...]``); the command
    runs with ``--format arrow`` and this process's environment (so under torchrun it takes RANK and
    WORLD_SIZE from it; on a machine with fewer than 5 cores NODE_OPTIONS also gets ``--v8-pool-size``,
    see :func:`data_process_environment`). Each dict has ``epoch``, ``example_indices``, ``teacher_scores`` (float32 or
    None), ``no_in_batch_neg`` (with ``--flavor research``: ``messages``, a list of strings, as dump
    --flavor research prints them), ``q_ids``, ``q_mask``, ``p_ids``, ``p_mask`` (int32 matrices, or lists
    of them with ``--sub_batch_size``; views of the stream's memory, not copies), with ``--with_text``
    ``queries_text`` and ``passages_text``, and ``step``, ``global_step``, ``rank``, ``world_size`` and
    ``resume`` (the state after this step; a dict).

    Raises :class:`DataProcessError` (with the command's stderr) if the command fails. Closing the
    generator (``break``, ``close()``, garbage collection) ends the command.

    Example::

        for step in iter_batches(["--train_data", "examples/data/retrieval", "--steps", "3"]):
            print(step["global_step"], step["q_ids"].shape)
    """
    process = DataProcess([*find_command(command), "dump", *dump_arguments(args)], echo_stderr=echo_stderr)
    try:
        yield from process.steps()
    finally:
        process.close()

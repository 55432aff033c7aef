"""Run one function in a separate process with a memory limit, so a hostile or huge input cannot take the
server down: the Update data page's check (measures.data.publishing.validate) runs here.

    result = isolated.call("measures.data.publishing:_check", args, memory_bytes)

The child is a fresh interpreter (`python -m measures.data.isolated`: nothing of the server's state, threads
or caches is copied) whose address space is capped with RLIMIT_AS before it imports the function's module;
the request and the answer are pickles on its stdin and stdout (both ours: nothing else is unpickled).
What the function returns, or raises, comes back to the caller; a child that runs out of memory raises
OutOfMemory, one that dies some other way (a signal, a crash in a C library) ChildDied, each with one line.
"""

from __future__ import annotations

import importlib
import os
import pickle
import resource
import signal
import subprocess
import sys
from typing import Any

from measures.paths import REPO_ROOT

GIB = 1024**3
DEFAULT_GIB = 4.0  # the ONS parser peaks near 3 GB on a 47 MB table; the analysts' server has more
MEMORY_ENV = "MEASURES_CHECK_MEMORY_GIB"
DEFAULT_TIMEOUT_S = 3600.0
TIMEOUT_ENV = "MEASURES_CHECK_TIMEOUT_S"


class OutOfMemory(RuntimeError):
    """The child needed more memory than its limit."""


class ChildDied(RuntimeError):
    """The child ended without an answer (killed, or crashed)."""


def _setting(name: str, default: float, unit: str) -> float:
    """A positive number from the environment (the default when unset); a bad value is one line naming it."""
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number of {unit}") from None
    if value <= 0:
        raise ValueError(f"{name}={text!r} must be more than 0 {unit}")
    return value


def limit_bytes() -> int:
    """The check's memory limit: MEASURES_CHECK_MEMORY_GIB (GiB, default 4) in bytes."""
    return int(_setting(MEMORY_ENV, DEFAULT_GIB, "GiB") * GIB)


def timeout_s() -> float:
    """The check's time limit: MEASURES_CHECK_TIMEOUT_S (seconds, default an hour): a backstop, not a budget."""
    return _setting(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, "seconds")


def shown_gib(limit: int) -> str:
    return f"{limit / GIB:.3g} GiB"


def call(target: str, args: tuple, memory_bytes: int) -> Any:
    """target ("module:function")(*args) in a child limited to `memory_bytes` of address space."""
    # A fresh `python -m` (not multiprocessing): nothing of the server is imported again in the child,
    # whatever the parent's main script is, and no fork of a threaded server.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           # glibc reserves 64 MiB of address space per thread's malloc arena: RLIMIT_AS counts it, RAM never
           # sees it (a 2 KB check peaked at 2.8 GB of address space with the default, 1.9 GB with 2 arenas).
           "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}
    request = pickle.dumps((target, args, memory_bytes))
    try:
        child = subprocess.run([sys.executable, "-m", __name__], input=request, stdout=subprocess.PIPE, env=env,
                               cwd=REPO_ROOT, check=False, timeout=timeout_s())
    except subprocess.TimeoutExpired:  # run() has killed it
        raise ChildDied(f"the check took longer than {timeout_s() / 60:.0f} minutes and was stopped; nothing was "
                        f"loaded (an administrator can raise {TIMEOUT_ENV})") from None
    try:
        kind, value = pickle.loads(child.stdout)
    except Exception:  # no answer: the child died
        # Under the limit, C libraries that cannot allocate crash (SIGSEGV), abort or exit (glibc's thread-local
        # data: 127), and the kernel's out-of-memory killer sends SIGKILL: most deaths here are memory.
        how = (f"signal {signal.Signals(-child.returncode).name}" if child.returncode < 0
               else f"exit code {child.returncode}")
        raise ChildDied(f"the check stopped ({how}), most likely needing more than its {shown_gib(memory_bytes)} of "
                        f"memory; nothing was loaded (an administrator can raise {MEMORY_ENV})") from None
    if kind == "ok":
        return value
    if kind == "exception":
        raise value
    if kind == "memory":
        raise OutOfMemory(f"the check needed more than {shown_gib(memory_bytes)} of memory; nothing was loaded "
                          f"(an administrator can raise {MEMORY_ENV})")
    raise _rebuilt(*value)


def _child() -> None:
    """The child's main: the request on stdin, the answer on stdout (anything printed goes to stderr)."""
    answer_to = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    target, args, memory_bytes = pickle.loads(sys.stdin.buffer.read())
    module, name = target.split(":")
    # The code is imported first, without the limit: its size is known (about 0.65 GiB of address space), and
    # OpenBLAS, initialised on import, spins for ever when its buffers cannot be mapped. The limit is on the
    # whole address space, so the work gets what the imports leave of it.
    function = getattr(importlib.import_module(module), name)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard),
                                            hard))
    try:
        answer: tuple = ("ok", function(*args))
    except MemoryError:  # numpy's and pyarrow's allocation errors are MemoryErrors too
        answer = ("memory", None)
    except Exception as exc:
        answer = ("memory", None) if _is_out_of_memory(exc) else _exception(exc)
    try:
        payload = pickle.dumps(answer)
    except MemoryError:
        payload = pickle.dumps(("memory", None))
    except Exception as exc:  # an answer that cannot be pickled: say what it was
        payload = pickle.dumps(("raised", ("builtins", "RuntimeError", {}, f"the check's answer could not be returned "
                                                                           f"({type(exc).__name__})")))
    answer_to.write(payload)
    answer_to.close()


def _is_out_of_memory(error: BaseException) -> bool:
    """DuckDB's allocation failures are not MemoryErrors (duckdb.OutOfMemoryException, or its text)."""
    text = str(error).lower()  # also an adapter's IngestError that quotes DuckDB's "Out of Memory Error"
    return ("outofmemory" in type(error).__name__.lower() or "out of memory" in text or "bad_alloc" in text
            or "cannot allocate memory" in text or "can't start new thread" in text)


def _exception(error: BaseException) -> tuple[str, Any]:
    """The exception itself where it survives pickling as it is (OSError keeps its errno), else `_portable`."""
    try:
        copy = pickle.loads(pickle.dumps(error))
        if type(copy) is type(error) and str(copy) == str(error):
            return "exception", error
    except Exception:
        pass
    return "raised", _portable(error)


def _portable(error: BaseException) -> tuple[str, str, dict, str]:
    """An exception as (module, class, attributes, message): exceptions with their own __init__ (IngestError)
    do not survive pickling as they are, and this rebuilds any of them."""
    attributes = {k: v for k, v in vars(error).items() if _picklable(v)}
    return type(error).__module__, type(error).__qualname__, attributes, str(error)


def _picklable(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _rebuilt(module: str, qualname: str, attributes: dict, message: str) -> BaseException:
    try:
        cls = getattr(importlib.import_module(module), qualname)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise TypeError(qualname)
        error = cls.__new__(cls)
        BaseException.__init__(error, message)
        vars(error).update(attributes)
        return error
    except Exception:  # a class the parent cannot import: keep its name and message
        return RuntimeError(f"{qualname}: {message}")


if __name__ == "__main__":
    _child()

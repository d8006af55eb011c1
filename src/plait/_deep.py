"""Run deeply recursive work (parsing long clauses, grounding deep recursion).

Python's default stack and recursion limit are sized for ordinary code; logic
programs nest as deep as their data (a 10,000-goal body, a 5,000-step
recursion). We run those stages in a worker thread with a large stack and a
raised recursion limit, and turn a remaining overflow into a PlaitError.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 200_000
_local = threading.local()


_jobs: queue.SimpleQueue | None = None
_start_lock = threading.Lock()


def _worker(jobs: queue.SimpleQueue) -> None:
    _local.deep = True
    while True:
        fn, box, done = jobs.get()
        # The recursion limit is per interpreter, not per thread: raise it only
        # while a job runs (the caller waits meanwhile), so threads with normal
        # stacks never run with a limit their C stack cannot honour.
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, RECURSION_LIMIT))
        try:
            box.append((True, fn()))
        except BaseException as e:  # handed back to the caller's thread
            box.append((False, e))
        finally:
            sys.setrecursionlimit(old)
            done.set()


def _queue() -> queue.SimpleQueue:
    """One long-lived big-stack worker: creating a 512 MiB-stack thread per call costs milliseconds."""
    global _jobs
    with _start_lock:
        if _jobs is None:
            jobs: queue.SimpleQueue = queue.SimpleQueue()
            old_size = threading.stack_size()
            try:
                threading.stack_size(STACK_BYTES)
                threading.Thread(target=_worker, args=(jobs,), name="plait-deep", daemon=True).start()
            finally:
                threading.stack_size(old_size)
            _jobs = jobs
        return _jobs


def run_deep(fn: Callable[[], T], what: str) -> T:
    """Call ``fn()``; if it recurses too deeply for this thread, call it again on the big-stack worker.

    ``fn`` must be free of side effects outside its own result (parsing and
    grounding build everything afresh), so the retry is safe.
    """
    if getattr(_local, "deep", False):
        return fn()
    try:
        return fn()
    except RecursionError:
        pass
    except Exception as e:
        if "maximum recursion depth" not in str(e) and "maximum recursion depth" not in str(getattr(e, "orig_exc", "")):
            raise
    box: list[tuple[bool, object]] = []
    done = threading.Event()
    _queue().put((fn, box, done))
    done.wait()
    ok, value = box[0]
    if ok:
        return value  # type: ignore[return-value]
    e = value
    from .errors import GroundingLimitError, ParseError

    if isinstance(e, RecursionError) or "maximum recursion depth" in str(e):
        cls = ParseError if what == "parse" else GroundingLimitError
        raise cls(
            f"{what}: the program nests too deeply for the interpreter",
            hint="split very long clauses or bound the recursion",
        ) from None
    if isinstance(e, MemoryError):
        raise GroundingLimitError(f"{what}: out of memory", hint="the program grounds to too many atoms") from None
    raise e  # type: ignore[misc]

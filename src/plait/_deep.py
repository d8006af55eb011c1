"""Run deeply recursive work (parsing long clauses, grounding deep recursion).

Python's default stack and recursion limit are sized for ordinary code; logic
programs nest as deep as their data (a 10,000-goal body, a 5,000-step
recursion). We run those stages in a worker thread with a large stack and a
raised recursion limit, and turn a remaining overflow into a PlaitError.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 200_000
_local = threading.local()


def run_deep(fn: Callable[[], T], what: str) -> T:
    """Call ``fn()`` on a big-stack thread (directly if we are already on one)."""
    if getattr(_local, "deep", False):
        return fn()
    result: list[T] = []
    error: list[BaseException] = []

    def work() -> None:
        _local.deep = True
        try:
            result.append(fn())
        except BaseException as e:  # re-raised in the caller's thread
            error.append(e)

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
    old_size = threading.stack_size()
    try:
        threading.stack_size(STACK_BYTES)
        th = threading.Thread(target=work, name=f"plait-{what}", daemon=True)
        th.start()
    finally:
        threading.stack_size(old_size)
    th.join()
    sys.setrecursionlimit(old_limit)
    if error:
        e = error[0]
        from .errors import GroundingLimitError, ParseError

        if isinstance(e, RecursionError) or "maximum recursion depth" in str(e):
            cls = ParseError if what == "parse" else GroundingLimitError
            raise cls(
                f"{what}: the program nests too deeply for the interpreter",
                hint="split very long clauses or bound the recursion",
            ) from None
        if isinstance(e, MemoryError):
            raise GroundingLimitError(f"{what}: out of memory", hint="the program grounds to too many atoms") from None
        raise e
    return result[0]

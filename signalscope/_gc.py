"""Pausing the cyclic garbage collector around allocation-heavy work that makes no cyclic garbage."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collection_paused"]


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, then restore its state.

    Scans and graph builds allocate tens of thousands of objects, which
    triggers full collections that walk every object of the process again
    and again: on a large project that cost more than the work itself and
    made it superlinear. What they allocate is freed by reference counting.
    During a scan it also keeps the snapshot consistent: no collection can
    kill a weak receiver between two reads.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

"""Run a callback once a module has been imported by the program: tracing starts without importing Django itself.

A traced child process starts the tracer at interpreter start-up, before
its program has imported anything: importing Django's dispatcher, request
handler and test runner then would cost a child that never uses Django
(multiprocessing's resource tracker, a helper script) a quarter of a
second, and import modules earlier than the program would. So the tracer
asks `when_imported`: now if the module is imported already, else right
after the program's own import of it has run. The finder that watches is on
``sys.meta_path`` only while something waits.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["forget", "when_imported"]

_lock = threading.RLock()
_waiting: dict[str, list[Callable[[ModuleType], None]]] = {}


class _Watcher:
    """A meta path finder that finds nothing itself: it lets the others find a watched module, and runs its callbacks
    once the module's code has run."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        if name not in _waiting:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: ModuleSpec | None = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader: Any = spec.loader
        if loader is None or not hasattr(loader, "exec_module") or "exec_module" in vars(loader):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            try:
                run(module)
            finally:
                with contextlib.suppress(AttributeError):
                    del loader.exec_module  # the loader is as it was
            _ran(name, module)

        loader.exec_module = exec_module
        return spec


_watcher = _Watcher()


def _ran(name: str, module: ModuleType) -> None:
    with _lock:
        callbacks = _waiting.pop(name, [])
        if not _waiting and _watcher in sys.meta_path:
            sys.meta_path.remove(_watcher)
    for callback in callbacks:
        with contextlib.suppress(Exception):  # the tracer's failure must not fail the program's import
            callback(module)


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call `callback(module)` now if `name` is imported, else once the program's import of it has run."""
    module = sys.modules.get(name)
    if module is not None and getattr(getattr(module, "__spec__", None), "_initializing", False) is False:
        callback(module)
        return
    with _lock:
        _waiting.setdefault(name, []).append(callback)
        if _watcher not in sys.meta_path:
            sys.meta_path.insert(0, _watcher)


def forget(callback: Callable[[ModuleType], None]) -> None:
    """Stop waiting to call `callback` (its tracer stopped); the finder goes when nothing waits."""
    with _lock:
        for name in list(_waiting):
            _waiting[name] = [c for c in _waiting[name] if c != callback]  # ==: bound methods are made anew
            if not _waiting[name]:
                del _waiting[name]
        if not _waiting and _watcher in sys.meta_path:
            sys.meta_path.remove(_watcher)

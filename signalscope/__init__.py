"""signalscope: see, trace and check the signals of any Django project.

Importing this package imports neither Django nor any optional dependency;
the API functions load them when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["SignalMap", "Tracer", "__version__", "load", "load_project", "scan", "select", "trace"]

if TYPE_CHECKING:
    from .api import load, load_project, scan, select, trace
    from .model import SignalMap
    from .tracing import Tracer

_LAZY = {
    "load": "api",
    "load_project": "api",
    "scan": "api",
    "select": "api",
    "trace": "api",
    "SignalMap": "model",
    "Tracer": "tracing",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""signalscope: see, trace and check the signals of any Django project.

Importing this package imports neither Django nor any optional dependency;
the API functions load them when called.

PYTEST_DONT_REWRITE: pytest marks an installed plugin's package for
assertion rewriting, and warns (an error under ``filterwarnings = error``)
when it was imported first, as it is under ``signalscope trace -- -m pytest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Filters",
    "ProjectOptions",
    "Session",
    "SignalMap",
    "TraceOptions",
    "Tracer",
    "__version__",
    "load",
    "load_project",
    "read_snapshot",
    "read_trace",
    "scan",
    "select",
    "trace",
    "trace_program",
]

if TYPE_CHECKING:
    from .api import (
        Filters,
        ProjectOptions,
        Session,
        TraceOptions,
        load,
        load_project,
        read_snapshot,
        read_trace,
        scan,
        select,
        trace,
        trace_program,
    )
    from .model import SignalMap
    from .tracing import Tracer

_LAZY = {
    "Session": "api",
    "ProjectOptions": "api",
    "Filters": "api",
    "TraceOptions": "api",
    "read_snapshot": "api",
    "read_trace": "api",
    "trace_program": "api",
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

"""Live tracing of signal sends: the Tracer and its records."""

from __future__ import annotations

from .tracer import Tracer

__all__ = ["Tracer"]

"""Read a set-up Django process's signals and receivers into model records."""

from __future__ import annotations

from .receivers import scan, scan_all, scan_wrapped

__all__ = ["scan", "scan_all", "scan_wrapped"]

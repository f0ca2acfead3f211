"""The JSON renderer: the documented schema of model.to_dict, byte-stable."""

from __future__ import annotations

from ..model import SignalMap, dumps

__all__ = ["render_json"]


def render_json(smap: SignalMap) -> str:
    """Return `smap` as JSON text (indent 2, sorted keys, trailing newline)."""
    return dumps(smap)

"""The JSON form of `signalscope diff`'s wiring changes."""

from __future__ import annotations

from collections.abc import Iterable

from ..model import schemas
from ..model.jsonio import dump_json
from ..model.snapshot import Change

__all__ = ["DIFF_SCHEMA", "render_diff_json"]

#: Version of the diff JSON (model.schemas.DIFF).
DIFF_SCHEMA = schemas.DIFF


def render_diff_json(changes: Iterable[Change]) -> str:
    """Return `changes` as ``{"schema": 1, "changes": [...]}``, one object per change, in their order.

    Written by the one JSON writer (model.jsonio): non-ASCII text as it is.
    """
    rows = [
        {"signal": c.signal, "sender": c.sender, "receiver": c.receiver, "dispatch_uid": c.dispatch_uid,
         "change": c.kind, "detail": c.detail}
        for c in changes
    ]  # fmt: skip
    return dump_json({"schema": DIFF_SCHEMA, "changes": rows})

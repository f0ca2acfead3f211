"""The JSON form of `signalscope diff`'s wiring changes."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..model.snapshot import Change

__all__ = ["DIFF_SCHEMA", "render_diff_json"]

#: Version of the diff JSON; bumped on any change. History -- 1: first release.
DIFF_SCHEMA = 1


def render_diff_json(changes: Iterable[Change]) -> str:
    """Return `changes` as ``{"schema": 1, "changes": [...]}``, one object per change, in their order.

    Non-ASCII text is written as \\u escapes (json.dumps' default), so a
    name that is not valid Unicode (a lone surrogate) is written too.
    """
    rows = [
        {"signal": c.signal, "sender": c.sender, "receiver": c.receiver, "dispatch_uid": c.dispatch_uid,
         "change": c.kind, "detail": c.detail}
        for c in changes
    ]  # fmt: skip
    return json.dumps({"schema": DIFF_SCHEMA, "changes": rows}, indent=2, sort_keys=True) + "\n"

"""Wiring snapshots (`signalscope snapshot`) and their differences (`signalscope diff`).

A snapshot holds what is connected to what: signal, sender, receiver,
dispatch_uid, and whether the connection is weak, dead or pending. No file
or line numbers: moving code is not a wiring change. Sorted, indented, one
connection per object: a diff of two snapshots reads well in review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import SignalMap, schemas
from .escaping import escape_controls
from .jsonio import dump_json

__all__ = [
    "SNAPSHOT_SCHEMA",
    "Change",
    "check_snapshot",
    "diff_snapshots",
    "render_diff",
    "snapshot_dict",
    "snapshot_json",
]

#: Version of the snapshot file (model.schemas.SNAPSHOT, which tells its history).
SNAPSHOT_SCHEMA = schemas.SNAPSHOT
_FLAGS = ("weak", "dead", "pending")


def snapshot_dict(smap: SignalMap, *, include_django: bool = False) -> dict[str, Any]:
    """The wiring of `smap`; Django's own receivers only with `include_django` (they change with Django)."""
    signals: dict[str, list[dict[str, Any]]] = {}
    for conn in smap.connections:
        if not include_django and conn.receiver.path.startswith("django."):
            continue
        signals.setdefault(conn.signal, []).append(
            {
                "sender": conn.sender.label if conn.sender.kind != "any" else None,
                "receiver": conn.receiver.path,
                "dispatch_uid": conn.dispatch_uid,
                "weak": conn.is_weak,
                "dead": conn.is_dead,
                "pending": conn.is_pending,
            }
        )
    for entries in signals.values():
        entries.sort(key=lambda e: (e["sender"] or "", e["receiver"], e["dispatch_uid"] or ""))
    return {"schema": SNAPSHOT_SCHEMA, "include_django": include_django, "signals": dict(sorted(signals.items()))}


def snapshot_json(data: dict[str, Any]) -> str:
    """Return snapshot_dict's `data` as the snapshot file's text (model.jsonio: names as they are)."""
    return dump_json(data)


@dataclass(frozen=True, order=True)
class Change:
    """One difference: "added", "removed" or "changed" (then `detail` says what)."""

    signal: str
    sender: str | None
    receiver: str
    dispatch_uid: str | None
    kind: str
    detail: str = ""


def check_snapshot(data: Any) -> dict[str, Any]:
    """Return `data` when it has the shape snapshot_dict gives; raise ValueError saying where it has not.

    "sender" and "dispatch_uid" may be left out (null), and so may the
    flags (false); "receiver" may not. Other keys are ignored.
    """
    problem = f"not a signalscope snapshot (schema {SNAPSHOT_SCHEMA})"
    if not isinstance(data, dict):
        raise ValueError(problem)
    schema = data.get("schema")
    if type(schema) is int and schema > SNAPSHOT_SCHEMA:
        raise ValueError(
            f"a snapshot of schema {schema}, from a newer signalscope: this one reads schema {SNAPSHOT_SCHEMA}"
        )
    if type(schema) is not int or schema != SNAPSHOT_SCHEMA:  # `true == 1` in Python: not a schema
        raise ValueError(problem)
    if not isinstance(data.get("include_django", False), bool):
        raise ValueError(f'{problem}: "include_django" is not true or false')
    signals = data.get("signals")
    if not isinstance(signals, dict):
        raise ValueError(f'{problem}: "signals" is not an object')
    for signal, entries in signals.items():
        where = f"signals[{json.dumps(signal)}]"
        if not isinstance(signal, str) or not isinstance(entries, list):
            raise ValueError(f"{problem}: {where} is not a list")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ValueError(f"{problem}: {where}[{i}] is not an object")
            if "receiver" not in entry:
                raise ValueError(f'{problem}: {where}[{i}] has no "receiver"')
            if not isinstance(entry["receiver"], str):
                raise ValueError(f'{problem}: {where}[{i}]: "receiver" is not a string')
            for key in ("sender", "dispatch_uid"):
                if not isinstance(entry.get(key), (str, type(None))):
                    raise ValueError(f'{problem}: {where}[{i}]: "{key}" is not a string or null')
            for flag in _FLAGS:
                if not isinstance(entry.get(flag, False), bool):
                    raise ValueError(f'{problem}: {where}[{i}]: "{flag}" is not true or false')
    return data


def _key(signal: str, entry: dict[str, Any]) -> tuple[str, str | None, str, str | None]:
    return (signal, entry.get("sender"), entry["receiver"], entry.get("dispatch_uid"))


def _index(data: dict[str, Any]) -> dict[tuple[str, str | None, str, str | None], list[dict[str, Any]]]:
    check_snapshot(data)
    index: dict[tuple[str, str | None, str, str | None], list[dict[str, Any]]] = {}
    for signal, entries in data["signals"].items():
        for entry in entries:
            index.setdefault(_key(signal, entry), []).append(entry)
    return index


def diff_snapshots(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """What changed from `old` to `new`, sorted. Raises ValueError for something that is not a snapshot."""
    before, after = _index(old), _index(new)
    changes = []
    for key in sorted(before.keys() | after.keys(), key=lambda k: (k[0], k[1] or "", k[2], k[3] or "")):
        was, now = before.get(key, []), after.get(key, [])
        for _ in range(len(now) - len(was)):
            changes.append(Change(*key, "added"))
        for _ in range(len(was) - len(now)):
            changes.append(Change(*key, "removed"))
        for a, b in zip(was, now, strict=False):
            moved = [f"{flag}: {_word(flag, a.get(flag))} → {_word(flag, b.get(flag))}" for flag in _FLAGS
                     if bool(a.get(flag)) != bool(b.get(flag))]  # fmt: skip
            if moved:
                changes.append(Change(*key, "changed", "; ".join(moved)))
    return changes


def _word(flag: str, value: Any) -> str:
    return {"weak": ("strong", "weak"), "dead": ("alive", "dead"), "pending": ("resolved", "pending")}[flag][
        bool(value)
    ]


def _short(path: str) -> str:
    return path.rsplit(":", 1)[-1]


def render_diff(changes: list[Change]) -> str:
    """Human form: ``+ post_save(auth.User): accounts.signals:send_welcome_email``, one line each.

    Control characters in names are shown escaped (model.escaping).
    """
    if not changes:
        return "No wiring changes.\n"
    marks = {"added": "+", "removed": "-", "changed": "~"}
    lines = []
    for c in changes:
        where = f"{_short(c.signal)}({c.sender})" if c.sender else f"{_short(c.signal)}(any sender)"
        uid = f" [dispatch_uid={c.dispatch_uid}]" if c.dispatch_uid else ""
        detail = f": {c.detail}" if c.detail else ""
        lines.append(escape_controls(f"{marks[c.kind]} {where}: {c.receiver}{uid}{detail}"))
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in marks}
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    return "\n".join([*lines, "", f"{len(changes)} wiring change{'s' if len(changes) != 1 else ''}: {summary}."]) + "\n"

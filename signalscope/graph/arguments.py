"""What a write is known to send its signals with, read from its source text (``created``, ``update_fields``...).

A create sends post_save with ``created=True``; a save, ``created=False``
(it saves a row that exists: a new object saved in place,
``Model(...).save()``, and ``update_or_create`` may be either), with its
literal ``update_fields``; every write from code ``raw=False``. `impact`
and SS005's loops read the same arguments, so they agree on which
conditions hold.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ..model.cascade import EffectRef
from .effects import M2M_SIGNALS, SAVE_SIGNALS

__all__ = ["sent_with"]

_PRE_SAVE, _POST_SAVE = SAVE_SIGNALS
_M2M = M2M_SIGNALS[0]
_M2M_METHOD = re.compile(r"\.(add|remove|set|clear)\(")
_UNKNOWN = object()  # an argument whose value can't be read from the write


def _save_arguments(text: str) -> tuple[Any, Any]:
    """Return (created, update_fields) of the post_save a save written as `text` sends (_UNKNOWN where unknown)."""
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return _UNKNOWN, _UNKNOWN
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "save"):
        return _UNKNOWN, _UNKNOWN  # update_or_create(): a new row, or one saved
    keywords = {k.arg: k.value for k in call.keywords}
    fields: Any = None
    if None in keywords:  # save(**options): anything may be in them
        fields = _UNKNOWN
    elif "update_fields" in keywords:
        fields = _literal_names(keywords["update_fields"])
    created: Any = False
    if _is_true(keywords.get("force_insert")):
        created = True
    elif _is_constructed(call.func.value) and fields is None and "force_update" not in keywords:
        created = _UNKNOWN  # Model(...).save(): a new object, made in place
    return created, fields


def _literal_names(node: ast.expr) -> Any:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [e.value for e in node.elts if isinstance(e, ast.Constant)]
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    return _UNKNOWN


def _is_constructed(node: ast.expr) -> bool:
    """Return whether `node` makes an object by calling a class: ``Log(...)``, ``models.Log(...)``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name[:1].isupper()


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def sent_with(effect: EffectRef, signal: str) -> list[dict[str, Any]]:
    """Return what `effect` is known to send `signal` with: one mapping of arguments per way it may send it."""
    if signal in SAVE_SIGNALS and effect.kind in ("create", "save"):
        created, fields = (True, None) if effect.kind == "create" else _save_arguments(effect.text)
        args: dict[str, Any] = {"raw": False}  # raw is loaddata's; code never sends it
        if fields is not _UNKNOWN:
            args["update_fields"] = fields
        if signal == _POST_SAVE:
            args["adding"] = False  # Django clears _state.adding before post_save
            if created is not _UNKNOWN:
                args["created"] = created
        elif created is not _UNKNOWN:
            args["adding"] = created
        return [args]
    if signal == _M2M and effect.kind == "m2m":
        method = _M2M_METHOD.search(effect.text)
        if method and method.group(1) != "set":  # set() sends the removes and adds it needs
            return [{"action": f"{when}_{method.group(1)}"} for when in ("pre", "post")]
    return [{}]

"""What a trace records of a value: the pk policy, and the redacted text of ``--capture-values``.

The policy (the README's "What a trace records"):

- By default a send's keyword arguments are recorded as names and type
  names only. A model instance is recorded as ``app_label.Model(pk=...)``
  where the pk is an integer, a UUID or None (not saved yet); any other pk (a session key, an API
  token's key, a slug) is recorded by its type: ``sessions.Session(pk=<str>)``.
- With capture_values, values are recorded as text, redacted deeply: the
  pks in m2m_changed's ``pk_set`` follow the pk policy, and pre_init's
  ``args`` (a row's column values, in field order) are types only; the
  value of any key, at any depth (keyword arguments, dict keys, request
  ``environ`` entries), whose name looks secret is ``<redacted>``; so is a
  ``setting_changed`` value whose setting name looks secret, and the
  password in any ``scheme://user:password@host`` URL.
- No value is turned into text by the program's own code: only plain data
  (str, bytes, numbers, None, bools, dates, UUIDs, Decimals, paths) is
  shown with ``repr``; dicts, lists, tuples and sets are walked (four levels
  deep at most); a model instance is its label and pk, a QuerySet or
  Manager its model's label (never evaluated: that would run a query); any
  other object is shown as ``<module.Type>``.
"""

from __future__ import annotations

import datetime
import decimal
import pathlib
import re
import uuid
from typing import Any

__all__ = ["REDACTED", "SECRET_WORDS", "captured_kwargs", "instance_text", "is_secret_name", "pk_text"]

REDACTED = "<redacted>"
#: A name holding any of these (case-insensitive) is a secret: its value is never recorded.
SECRET_WORDS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "authorization",
    "cookie",
    "session",
    "signature",
    "csrf",
    "dsn",
)
_MAX_DEPTH = 4
_MAX_ITEMS = 50
_MAX_TEXT = 200
_PLAIN = (str, bytes, int, float, complex, bool, type(None), decimal.Decimal, uuid.UUID, pathlib.PurePath)
_PLAIN_REPRS = frozenset(kind.__repr__ for kind in _PLAIN)
_TIMES = (datetime.date, datetime.time, datetime.timedelta, datetime.timezone)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<password>[^@\s/]+)(?=@)")


def is_secret_name(name: object, words: tuple[str, ...] = SECRET_WORDS) -> bool:
    """Return whether a key named `name` holds a secret (only str names can say so)."""
    if not isinstance(name, str):
        return False
    lowered = name.lower()
    return any(word in lowered for word in words)


def pk_text(pk: Any) -> str:
    """The pk as a trace shows it: an integer or UUID as is, anything else by its type only."""
    if type(pk) is int or pk is None:  # None: an instance not saved yet
        return str(pk)
    if isinstance(pk, uuid.UUID):
        return str(pk)
    return f"<{type(pk).__qualname__}>"


def instance_text(label: str, instance: Any) -> str:
    """``app_label.Model(pk=...)`` for a model instance, by the pk policy (the pk is read, nothing run)."""
    return f"{label}(pk={pk_text(instance.pk)})"


def _model_label(value: Any) -> str | None:
    """The label of a model instance's model, or None when `value` is not a model instance (by type)."""
    from django.db.models.base import ModelBase

    kind = type(value)
    if isinstance(kind, ModelBase):
        return str(kind._meta.label)
    return None


def _queryset_text(value: Any) -> str | None:
    from django.db.models import Manager, QuerySet

    if isinstance(value, QuerySet | Manager):
        model = vars(value).get("model")  # a plain attribute of both; never evaluated
        label = model._meta.label if isinstance(model, type) and hasattr(model, "_meta") else "?"
        return f"<{type(value).__qualname__} of {label}>"
    return None


def _redact_text(text: str) -> str:
    return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


def _text(value: Any, words: tuple[str, ...], depth: int) -> str:
    kind = type(value)
    if issubclass(kind, _PLAIN) and kind.__repr__ in _PLAIN_REPRS:  # plain data, not a subclass's own repr
        if isinstance(value, str):
            return repr(_redact_text(value))
        if isinstance(value, bytes):
            return repr(_redact_text(value.decode("latin-1")).encode("latin-1"))
        return repr(value)
    if issubclass(kind, _TIMES) and kind.__module__ == "datetime":
        return repr(value)
    if issubclass(kind, type):  # a class: its name, never its metaclass's repr
        return f"<class {value.__module__}.{value.__qualname__}>"
    label = _model_label(value)
    if label is not None:
        return instance_text(label, value)
    shown = _queryset_text(value)
    if shown is not None:
        return shown
    if kind in (dict, list, tuple, set, frozenset) or (
        issubclass(kind, dict) and kind.__module__ == "collections"  # OrderedDict, defaultdict
    ):
        if depth >= _MAX_DEPTH:
            return "{...}" if isinstance(value, dict) else "[...]"
        if isinstance(value, dict):
            items = list(value.items())
            parts = [
                f"{_text(k, words, depth + 1)}: {REDACTED if is_secret_name(k, words) else _text(v, words, depth + 1)}"
                for k, v in items[:_MAX_ITEMS]
            ]
            more = ", ..." if len(items) > _MAX_ITEMS else ""
            return "{" + ", ".join(parts) + more + "}"
        elements = list(value)
        if isinstance(value, set | frozenset):
            elements = sorted(elements, key=repr) if all(type(e) in _PLAIN for e in elements) else elements
        parts = [_text(element, words, depth + 1) for element in elements[:_MAX_ITEMS]]
        more = ", ..." if len(elements) > _MAX_ITEMS else ""
        body = ", ".join(parts) + more
        if kind is tuple:
            return f"({body}{',' if len(parts) == 1 else ''})"
        if kind is list:
            return f"[{body}]"
        return f"{kind.__name__}({{{body}}})" if parts else f"{kind.__name__}()"
    return f"<{kind.__module__}.{kind.__qualname__}>"


def _types_only(value: Any) -> str:
    # pre_init's `args`: a model's field values in field order (Model.from_db passes every column:
    # a session key, a token's key, a password hash). Nothing tells which is which: types only.
    if type(value) is tuple:
        return (
            "(" + ", ".join(f"<{type(item).__qualname__}>" for item in value) + ("," if len(value) == 1 else "") + ")"
        )
    return f"<{type(value).__qualname__}>"


def _pks_text(value: Any) -> str:
    # m2m_changed's `pk_set`: pks, by the pk policy (a string pk may be a credential).
    if isinstance(value, set | frozenset):
        shown = sorted(pk_text(pk) for pk in value)
        return "{" + ", ".join(shown) + "}" if shown else "set()"
    return _types_only(value)


# Keyword arguments whose values are recorded by a rule of their own.
_BY_TYPE = {"args": _types_only, "pk_set": _pks_text}


def captured_kwargs(named: dict[str, Any], words: tuple[str, ...] = SECRET_WORDS) -> tuple[tuple[str, str], ...]:
    """The keyword arguments of a send as ``(name, text)`` pairs, sorted, redacted by the module's policy."""
    secret_setting = is_secret_name(named.get("setting"), words)  # setting_changed(setting="SECRET_KEY", value=...)
    items = []
    for name, value in named.items():
        if is_secret_name(name, words) or (secret_setting and name == "value"):
            shown = REDACTED
        elif name in _BY_TYPE:
            shown = _BY_TYPE[name](value)
        else:
            shown = _text(value, words, 0)
            if len(shown) > _MAX_TEXT:
                shown = shown[: _MAX_TEXT - 3] + "..."
        items.append((name, shown))
    return tuple(sorted(items))

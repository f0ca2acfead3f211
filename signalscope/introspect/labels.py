"""Check the sender and app labels given to filters against the live process, so that a typo is an error."""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Iterable

from ..errors import UnknownName, UsageError

__all__ = ["check_app_label", "check_sender_label"]

# The label forms describe_sender gives (see there).
_MODEL = re.compile(r"[A-Za-z_]\w*\.[A-Za-z_]\w*")
_APP_CONFIG = re.compile(r"<AppConfig: (.+)>")
_INSTANCE = re.compile(r"<(\S+) instance>")
_PLAIN_TYPES = (str, bytes, int, float, bool, complex)
_MISSING = object()


def check_sender_label(label: str, *, ignore_case: bool = False, seen: Iterable[str] = (), final: bool = True) -> None:
    """Check that `label` is a sender's label as describe_sender gives it (and `signalscope list` shows it).

    Known: an installed model's label (``auth.User``; swapped and
    auto-created models too), an installed app's ``<AppConfig: label>``
    (pre_migrate's and post_migrate's sender), a class or function of an
    imported module by its ``module:qualname``, an instance of one as
    ``<module.qualname instance>``, a plain value by its repr() (``'shop'``,
    ``42``: any value can be a sender, so these can't be checked), or any
    label in `seen` (senders seen sending). With `ignore_case` the case of
    letters doesn't count (as for a SignalRecorder, which matches labels so).
    With `final` False, as while a program runs, only model and app config
    labels are refused: a module defining the class may be imported later.

    Needs Django's apps loaded. Raises UnknownName, with close matches;
    UsageError when Django's apps aren't loaded yet.
    """
    from django.apps import apps

    fold = str.lower if ignore_case else str
    if not apps.ready:
        if _MODEL.fullmatch(label) or _APP_CONFIG.fullmatch(label):
            raise UsageError(
                f"Sender {label!r} names a model or an app, but Django's apps aren't loaded yet.",
                hint="Check it after django.setup().",
            )
        choices: list[str] = []
    else:
        choices = [model._meta.label for model in apps.get_models(include_auto_created=True, include_swapped=True)]
        choices += [f"<AppConfig: {config.label}>" for config in apps.get_app_configs()]
    choices += seen
    if fold(label) in {fold(choice) for choice in choices}:
        return
    if _MODEL.fullmatch(label) or _APP_CONFIG.fullmatch(label):
        raise UnknownName("sender", label, choices)
    if _is_plain_value(label) or not final or _names_something(label):
        return
    raise UnknownName("sender", label, choices)


def check_app_label(label: str) -> None:
    """Check that `label` is an installed app's label. Needs Django's apps loaded. Raises UnknownName."""
    from django.apps import apps

    labels = [config.label for config in apps.get_app_configs()]
    if label not in labels:
        raise UnknownName("app label", label, labels)


def _is_plain_value(label: str) -> bool:
    try:
        value = ast.literal_eval(label)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return type(value) in _PLAIN_TYPES and repr(value) == label


def _names_something(label: str) -> bool:
    """Whether `label` is ``module:qualname`` or ``<module.qualname instance>`` of something that exists now."""
    if ":" in label and not label.startswith("<"):
        module, _, qualname = label.partition(":")
        return _resolves(module, qualname)
    found = _INSTANCE.fullmatch(label)
    if found is None:
        return False
    path = found.group(1)
    # The module is the longest dotted prefix that is an imported module.
    dots = [index for index, char in enumerate(path) if char == "."]
    return any(path[:index] in sys.modules and _resolves(path[:index], path[index + 1 :]) for index in reversed(dots))


def _resolves(module: str, qualname: str) -> bool:
    """Whether `qualname` is found in the imported `module`; nothing is imported, no attribute hook runs."""
    value = sys.modules.get(module, _MISSING)
    if value is _MISSING or not qualname:
        return False
    for part in qualname.split("."):
        if part == "<locals>":
            return True  # defined inside a function: nothing further can be looked up
        value = inspect.getattr_static(value, part, _MISSING)
        if value is _MISSING:
            return False
    return True

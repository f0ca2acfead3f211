"""Find every Signal instance alive in the process and name it by where it is defined."""

from __future__ import annotations

import gc
import sys
from itertools import compress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.dispatch import Signal

__all__ = ["find_signals", "name_signals", "signal_category"]


def _signal_types() -> set[type]:
    from django.dispatch import Signal

    found: set[type] = set()
    todo: list[type] = [Signal]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.add(cls)
            todo.extend(cls.__subclasses__())
    return found


def find_signals() -> list[Signal]:
    """Return every live instance of Signal or a subclass, from one scan of gc's objects.

    A gc scan (rather than a fixed list, or module globals) also finds
    signals kept on classes, in containers or in closures. The check is on
    ``type(obj)``, never isinstance(): isinstance() would wake LazyObjects.
    """
    types = _signal_types()
    objects = gc.get_objects()
    # A Python-level loop over every object costs ~10 ms on a large project;
    # compress/map/set.__contains__ do the same test in C.
    found = list(compress(objects, map(types.__contains__, map(type, objects))))
    if gc.get_freeze_count():
        # gc.get_objects() skips what gc.freeze() froze (pre-forking servers
        # freeze after loading the app): add the signals bound in modules and classes.
        seen = set(map(id, found))
        for _place, value in bound_objects():
            if type(value) in types and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
    return found


def bound_objects() -> Iterator[tuple[tuple[str, str], Any]]:
    """Yield ((module, attribute), value) for module globals and their classes' attributes."""
    for modname, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not namespace:
            continue
        for attr, value in list(namespace.items()):
            yield (modname, attr), value
            if type(value) is type and value.__module__ == modname:
                for cattr, cvalue in list(vars(value).items()):
                    yield (modname, f"{value.__qualname__}.{cattr}"), cvalue


def _defines(module: Any, attr: str, cache: dict[str, str | None]) -> bool:
    """Return whether `module`'s source assigns `attr` at top level (not an import)."""
    filename = getattr(module, "__file__", None)
    if not filename:
        return False
    if filename not in cache:
        try:
            with open(filename, encoding="utf-8") as handle:
                cache[filename] = "\n" + handle.read()
        except (OSError, UnicodeDecodeError):
            cache[filename] = None
    source = cache[filename]
    if source is None:
        return False
    # Plain substring search: a regex over Django's larger modules costs far more.
    line = "\n" + attr
    return any(line + tail in source for tail in (" =", "=", ":", " :"))


def name_signals(signals: list[Signal]) -> dict[int, tuple[str, str]]:
    """Map ``id(signal)`` to ``(module, attribute)`` where each signal is defined.

    A signal is usually bound in several modules (everything that imported
    it). The defining one is the module whose source assigns the name at top
    level; failing that, a module named ``*signals``, then the shortest
    module path. Signals kept as class attributes are named ``Class.attr``.
    Signals bound nowhere are left out.
    """
    wanted = {id(s) for s in signals}
    candidates: dict[int, list[tuple[str, str]]] = {}
    for modname, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not namespace:
            continue
        # isdisjoint() over map(id, ...) runs in C: most modules hold no signal.
        if wanted.isdisjoint(map(id, namespace.values())):
            continue
        for attr, value in list(namespace.items()):
            if id(value) in wanted:
                candidates.setdefault(id(value), []).append((modname, attr))
    sources: dict[str, str | None] = {}
    names: dict[int, tuple[str, str]] = {}
    for key, places in candidates.items():
        if len(places) > 1:
            defining = [p for p in places if _defines(sys.modules[p[0]], p[1], sources)]
            if defining:
                places = defining
        names[key] = min(places, key=lambda p: (not p[0].endswith("signals"), p[0].count("."), len(p[0]), p))
    missing = wanted - names.keys()
    if missing:
        # Class attributes: look through the classes that modules define.
        for (modname, attr), value in bound_objects():
            if "." in attr and id(value) in missing and id(value) not in names:
                names[id(value)] = (modname, attr)
    return names


# Categories of the signals Django defines, by module.
_DJANGO_CATEGORIES = {
    "django.db.models.signals": "model",
    "django.core.signals": "request",
    "django.db.backends.signals": "database",
    "django.contrib.auth.signals": "auth",
    "django.test.signals": "test",
    "django.utils.autoreload": "autoreload",
    "django.tasks.signals": "tasks",
}
_SPECIAL = {
    "django.db.models.signals:pre_migrate": "migration",
    "django.db.models.signals:post_migrate": "migration",
    "django.db.models.signals:class_prepared": "model-class",
    "django.core.signals:setting_changed": "settings",
}


def signal_category(path: str, *, is_project: bool) -> str:
    """Return the category of the signal at `path` ("module:attr").

    Django's own signals are grouped by what they are about; any other is
    "custom" when defined in the project's files, "third-party" otherwise.
    """
    if path in _SPECIAL:
        return _SPECIAL[path]
    module = path.split(":", 1)[0]
    if module in _DJANGO_CATEGORIES:
        return _DJANGO_CATEGORIES[module]
    if module == "django" or module.startswith("django."):
        return "django"
    return "custom" if is_project else "third-party"

"""Find every Signal instance alive in the process and name it by where it is defined."""

from __future__ import annotations

import gc
import sys
from collections.abc import Collection, Iterator, Mapping
from itertools import compress, repeat
from operator import is_
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.dispatch import Signal

__all__ = [
    "find_signals",
    "is_frozen_after_django",
    "module_globals_by_id",
    "module_signals",
    "name_signals",
    "signal_category",
]


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


def find_signals(objects: list[Any] | None = None) -> list[Signal]:
    """Return every live instance of Signal or a subclass, from one scan of gc's objects.

    A gc scan (rather than a fixed list, or module globals) also finds
    signals kept on classes, in containers or in closures. The check is on
    ``type(obj)``, never isinstance(): isinstance() would wake LazyObjects.
    `objects` is ``gc.get_objects()`` when the caller has it already.
    """
    types = _signal_types()
    if objects is None:
        objects = gc.get_objects()
    # A Python-level loop over every object costs ~10 ms on a large project;
    # compress/map/set.__contains__ do the same test in C.
    found = list(compress(objects, map(types.__contains__, map(type, objects))))
    if is_frozen_after_django(objects):
        # gc.get_objects() skips what gc.freeze() froze (pre-forking servers
        # freeze after loading the app): add the signals reachable from modules.
        seen = set(map(id, found))
        for obj in reachable_objects():
            if type(obj) in types and id(obj) not in seen:
                seen.add(id(obj))
                found.append(obj)
    return found


def is_frozen_after_django(objects: list[Any]) -> bool:
    """Return whether gc.freeze() froze objects after Django's dispatcher was imported.

    `objects` is ``gc.get_objects()``, which lists no frozen object. Only
    then can a signal (or a sender connected to one) be frozen, and hidden
    from it: an instance is made after its class, and a freeze freezes every
    tracked object alive, so a frozen signal has a frozen class. The classes
    are checked, not every object: on Python 3.12 ``gc.get_freeze_count()``
    is never 0 (it counts 375 static tuples frozen at start-up), and the walk
    of the heap that finds frozen objects costs 0.3-0.6 s on a large project.
    A sender frozen by a freeze before Django was imported (an object made
    that early) is then found only where `module_globals_by_id` looks.
    """
    if not gc.get_freeze_count():
        return False
    types = _signal_types()
    wanted = {id(cls) for cls in types}
    listed = wanted.intersection(map(id, objects))  # in C
    return any(id(cls) not in listed and gc.is_tracked(cls) for cls in types)


def module_signals() -> list[Signal]:
    """Return the signals bound in modules: their globals, and attributes of the classes they define.

    These are the signals that can have a name. Unlike find_signals() this
    never asks gc for every object, so it is safe to call while a program
    runs: on CPython 3.12 before 3.12.5, gc.get_objects() in a process
    using asyncio can leave the collector looping forever (CPython
    gh-122695; seen under Django 6.0's own signal tests).
    """
    types = _signal_types()
    found: dict[int, Signal] = {}
    for _place, value in bound_objects():
        if type(value) in types:
            found.setdefault(id(value), value)
    return list(found.values())


def reachable_objects() -> Iterator[Any]:
    """Yield every gc-tracked object reachable from the loaded modules, each once.

    The fallback for objects that gc.freeze() hid from gc.get_objects():
    gc.get_referents() still follows them. Like gc.get_objects(), it yields
    only tracked objects. It walks the whole heap, so it is used only when
    `is_frozen_after_django`.
    """
    seen: set[int] = set()
    todo: list[Any] = list(sys.modules.values())
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if gc.is_tracked(obj):
            yield obj
            todo.extend(gc.get_referents(obj))


def module_globals_by_id(wanted: Mapping[int, Collection[str]]) -> dict[int, Any]:
    """Return, by id(), the objects of `wanted` bound near the code that connected them.

    `wanted` maps an id() to the modules of the receivers connected with it
    as their sender. For senders that gc does not track, so that no scan of
    gc's objects finds them: strings, numbers, tuples of them (Django before
    6.0 keeps only a sender's id(), and 6.0+ keeps no reference to what
    can't be weakly referenced), as ``sender=CHECKOUT`` passes them.

    An id is looked for in the globals, then the classes' attributes, of the
    receiver's module, of the modules its globals bind, and of the modules
    of its top-level package (an ``AppConfig.ready()`` that connects it).
    Only there: a sender that died leaves its address to whatever is made
    next, and a module imported later (the URLconf) may bind a new string at
    it. Values are read from the __dict__ of modules and classes, checked in C;
    no attribute hook runs.
    """
    by_home: dict[str, set[int]] = {}
    for key, homes in wanted.items():
        for home in homes:
            by_home.setdefault(home, set()).add(key)
    found: dict[int, Any] = {}
    loaded = list(sys.modules)
    for home, keys in sorted(by_home.items()):
        missing = keys - found.keys()
        if missing:
            _look_near(home, loaded, missing, found)
    return found


#: The C slot behind a class's ``__dict__``.
_CLASS_DICT: Any = type.__dict__["__dict__"]


def _namespace(module: Any) -> dict[str, Any] | None:
    """A plain module's ``__dict__``; None for anything else (a module subclass may hook attribute access)."""
    namespace = getattr(module, "__dict__", None) if type(module) is ModuleType else None
    return namespace if type(namespace) is dict else None


def _look_near(home: str, loaded: list[str], missing: set[int], found: dict[int, Any]) -> None:
    modules = sys.modules
    names = [home]
    namespace = _namespace(modules.get(home))
    if namespace is not None:
        values = list(namespace.values())
        for module in compress(values, map(is_, map(type, values), repeat(ModuleType))):
            bound = _namespace(module)
            if bound is not None and type(bound.get("__name__")) is str:
                names.append(bound["__name__"])
    top = home.partition(".")[0]
    names += [name for name in loaded if name == top or name.startswith(top + ".")]
    spaces: list[tuple[str, list[Any]]] = []
    for name in dict.fromkeys(names):
        namespace = _namespace(modules.get(name))
        if namespace is None:
            continue
        values = list(namespace.values())
        spaces.append((name, values))
        if not missing.isdisjoint(map(id, values)):
            _take(values, missing, found)
            if not missing:
                return
    for name, values in spaces:
        # Classes only, picked in C: issubclass(type(v), type), never isinstance() (lazy objects).
        for cls in compress(values, map(issubclass, map(type, values), repeat(type))):
            attributes = _CLASS_DICT.__get__(cls, type(cls))  # as vars(), with no metaclass hook
            if attributes.get("__module__") != name:
                continue  # imported from elsewhere: looked at in its own module
            members = list(attributes.values())
            if not missing.isdisjoint(map(id, members)):
                _take(members, missing, found)
                if not missing:
                    return


def _take(values: list[Any], missing: set[int], found: dict[int, Any]) -> None:
    for value in values:
        key = id(value)
        if key in missing:
            missing.discard(key)
            found[key] = value


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
    # Plain substring search (a regex over Django's larger modules costs far
    # more): a line starting with the name, then "=" or an annotation's ":".
    # Imports never match: their names follow "import" or stand indented.
    needle = "\n" + attr
    start = source.find(needle)
    while start != -1:
        rest = source[start + len(needle) : start + len(needle) + 3].lstrip(" ")
        if rest[:1] == ":" or (rest[:1] == "=" and rest[1:2] != "="):
            return True
        start = source.find(needle, start + 1)
    return False


def _preference(place: tuple[str, str]) -> tuple[bool, int, int, tuple[str, str]]:
    """Rank binding places when no source says which one defines the signal."""
    module = place[0]
    return (not module.endswith("signals"), module.count("."), len(module), place)


def _likely_definer(place: tuple[str, str]) -> tuple[bool, bool, int, int, tuple[str, str]]:
    # Django's own signals are defined inside Django; check those first.
    module = place[0]
    return (not module.endswith("signals"), not module.startswith("django."), module.count("."), len(module), place)


def name_signals(signals: list[Signal]) -> dict[int, tuple[str, str]]:
    """Map ``id(signal)`` to ``(module, attribute)`` where each signal is defined.

    A signal is usually bound in several modules (everything that imported
    it). The defining one is the module whose source assigns the name at top
    level; failing that, a module named ``*signals``, then the shortest
    module path. Signals kept as class attributes are named ``Class.attr``.
    Signals bound nowhere are left out.
    """
    wanted = {id(s) for s in signals}
    types = {type(s) for s in signals}
    candidates: dict[int, list[tuple[str, str]]] = {}
    for modname, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not namespace:
            continue
        # isdisjoint() over map(type, ...) runs in C, making no int as map(id, ...) would: most
        # modules hold no signal.
        if types.isdisjoint(map(type, namespace.values())):
            continue
        for attr, value in list(namespace.items()):
            if id(value) in wanted:
                candidates.setdefault(id(value), []).append((modname, attr))
    sources: dict[str, str | None] = {}
    names: dict[int, tuple[str, str]] = {}
    for key, places in candidates.items():
        places.sort(key=_preference)
        names[key] = places[0]
        if len(places) > 1:
            # Read sources in order of likelihood and stop at the definition:
            # usually the first file read.
            for place in sorted(places, key=_likely_definer):
                if _defines(sys.modules[place[0]], place[1], sources):
                    names[key] = place
                    break
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

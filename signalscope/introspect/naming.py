"""Name live callables and senders as plain, machine-independent strings."""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import weakref
from collections.abc import Callable, Iterator
from types import FunctionType, GetSetDescriptorType, MappingProxyType, MethodType, WrapperDescriptorType
from typing import Any

from ..model import ReceiverRef, SenderRef, SignalMap

__all__ = [
    "cached_receiver_path",
    "callable_path",
    "describe_receiver",
    "describe_sender",
    "describe_wrapped",
    "receiver_path",
    "receiver_paths",
    "receiver_source",
    "receiver_sources",
    "resolve_receiver",
    "source_location",
]

# Types whose repr() is plain data, safe and deterministic to show as a sender.
_PLAIN_TYPES = (str, bytes, int, float, bool, complex)


def _qualified(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or "?"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__qualname__
    return f"{module}:{name}"


def callable_path(obj: Any) -> str:
    """Return ``module:qualname`` for a function, method or class."""
    func = getattr(obj, "__func__", obj)
    return _qualified(func)


def _is_staticmethod(func: Any) -> bool:
    # A staticmethod looked up on its class is a plain function; its qualname
    # "Class.name" (no "<locals>") lets us find the class and ask it.
    qualname = getattr(func, "__qualname__", "")
    if "." not in qualname or "<locals>" in qualname:
        return False
    owner: Any = sys.modules.get(getattr(func, "__module__", "") or "")
    *outer, name = qualname.split(".")
    for part in outer:
        owner = inspect.getattr_static(owner, part, None)
        if owner is None:
            return False
    return isinstance(inspect.getattr_static(owner, name, None), staticmethod)


#: The C slot behind ``partial.func``: read through it, a subclass's attribute hooks don't run.
_PARTIAL_FUNC: Any = vars(functools.partial)["func"]

#: Receiver paths named so far, by id of the object (a bound method: its function), each with a
#: weak reference to it: a reused id never gets a stale name, and no receiver is kept alive (an
#: entry goes when its object does). Read directly by the tracer's hot path (tracing/tracer.py).
receiver_paths: dict[int, tuple[weakref.ref[Any], str]] = {}


def _innermost(obj: Any) -> Any:
    """See through bound methods and partials, in any nesting, by type: the callable inside."""
    while True:
        kind = type(obj)
        if kind is MethodType:
            obj = obj.__func__
        elif issubclass(kind, functools.partial):
            obj = _PARTIAL_FUNC.__get__(obj, kind)
        else:
            return obj


def _is_c_callable(kind: type) -> bool:
    """Whether instances of `kind` are called by C code (a builtin, a method wrapper, an lru_cache
    wrapper) and their attributes read with no Python code of the user's: no ``__getattr__``, a C
    ``__getattribute__`` (a lazy proxy would evaluate itself)."""
    return (
        type(inspect.getattr_static(kind, "__call__", None)) is WrapperDescriptorType
        and inspect.getattr_static(kind, "__getattr__", None) is None
        and type(inspect.getattr_static(kind, "__getattribute__", None)) is not FunctionType
    )


def receiver_path(obj: Any) -> str:
    """Return the receiver `obj`'s ``module:qualname`` path, as `list`, the tracer and testing name it.

    Bound methods and partials are seen through in any nesting
    (django-simple-history connects ``partial(self.m2m_changed, ...)``): the
    function inside names it, by its qualname (functools.wraps copies the
    wrapped function's). A class is named by its path; a callable instance by
    its class's ``__call__``; a callable written in C by its own name
    (``builtins:print``, ``builtins:list.append``); a dead receiver (None) is
    ``<dead>``. Only types and plain attributes are read: nothing of the
    user's runs (no ``__getattr__`` of a lazy proxy).
    """
    func = _innermost(obj)
    kind = type(func)
    if kind is FunctionType:  # the common case first
        return f"{func.__module__ or '?'}:{func.__qualname__}"
    if func is None:
        return "<dead>"
    if issubclass(kind, type):  # a class: calling it makes an instance
        return f"{func.__module__}:{func.__qualname__}"
    if not _is_c_callable(kind):  # a callable instance: what runs is its class's __call__
        return f"{kind.__module__}:{kind.__qualname__}.__call__"
    module = getattr(func, "__module__", None)
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or kind.__qualname__
    if not module:
        owner = getattr(func, "__self__", None)  # a C method of an object: named by the object's type
        if owner is not None:
            return f"{type(owner).__module__}:{type(owner).__qualname__}.{getattr(func, '__name__', name)}"
        module = "?"
    return f"{module}:{name}"


def cached_receiver_path(obj: Any) -> str:
    """Return `receiver_path` of `obj`, named once per live object (the tracer's hot path).

    A bound method is cached by its function (methods are made afresh for
    every send); the cache holds only weak references (see `receiver_paths`),
    and an object that can't be weakly referenced is named on every call.
    """
    func = obj.__func__ if type(obj) is MethodType else obj
    key = id(func)
    found = receiver_paths.get(key)
    if found is not None and found[0]() is func:
        return found[1]
    path = receiver_path(func)

    def forget(ref: weakref.ref[Any]) -> None:
        if receiver_paths.get(key, (None,))[0] is ref:
            receiver_paths.pop(key, None)

    with contextlib.suppress(TypeError):  # not weakly referenceable
        receiver_paths[key] = (weakref.ref(func, forget), path)
    return path


def _code_holder(obj: Any) -> Any:
    """The function whose code runs when the receiver `obj` is called, or None (a class, C code)."""
    func = _innermost(obj)
    kind = type(func)
    if kind is not FunctionType:
        if func is None or issubclass(kind, type) or _is_c_callable(kind):
            return None
        if kind not in (classmethod, staticmethod):  # a callable instance: its class's __call__
            func = inspect.getattr_static(kind, "__call__", None)
        if type(func) in (classmethod, staticmethod):
            func = func.__func__
    # functools.wraps decorators: the real code, through __wrapped__ (and bound methods) by type.
    start, seen = func, set()
    while id(func) not in seen:
        seen.add(id(func))
        if type(func) is MethodType:
            func = func.__func__
        elif type(func) is FunctionType and "__wrapped__" in func.__dict__:
            func = func.__dict__["__wrapped__"]
        else:
            return func if type(func) is FunctionType else None
    return start  # a __wrapped__ cycle: the function itself


def source_location(obj: Any, relpath: Callable[[str], str | None] | None = None) -> tuple[str | None, int | None]:
    """Return the file and first line of the code that runs when the receiver `obj` is called.

    Seen through as by `receiver_path`; a functools.wraps decorator points at
    the function it wraps, a callable instance at its class's ``__call__``, a
    classmethod or staticmethod object at its function. The file is
    ``relpath(filename)`` when `relpath` is given (the project-relative path),
    else the code's own file name. (None, None) for what has no Python source:
    None, a class, a builtin.
    """
    func = _code_holder(obj)
    if func is None:
        return None, None
    code = func.__code__
    return (relpath(code.co_filename) if relpath is not None else code.co_filename), code.co_firstlineno


def resolve_receiver(path: str) -> Any:
    """Return the object that the ``module:qualname`` `path` names, or None.

    Looked up in modules already imported, through module and class
    namespaces only: nothing is imported and no attribute hook runs. A name
    under ``<locals>`` can't be found.
    """
    module_name, _, qualname = path.partition(":")
    target: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        if target is None or part == "<locals>":
            return None
        namespace: Any = getattr(target, "__dict__", None)  # plain namespaces only: no attribute hook runs
        target = namespace.get(part) if type(namespace) in (dict, MappingProxyType) else None
    return target


def receiver_source(receiver: ReceiverRef | str | Any, *, lines: int | None = None) -> str | None:
    """Return the source of `receiver`'s function, from its first decorator to its last line, or None.

    `receiver` is a ReceiverRef (read from its line in the file of its
    module), a ``module:qualname`` path (found by `resolve_receiver`) or the
    live receiver. The function is found with ast: the def (or, for a lambda
    or a partial's target, the statement) that starts at the receiver's first
    line, which for a decorated function is its first decorator's. `lines`
    caps it at that many lines (None: the whole function). Read with
    linecache from files of modules already imported: nothing is imported or
    run.
    """
    return _read_source(receiver, lines, {})


def _read_source(receiver: Any, lines: int | None, spans: dict[str, dict[int, int]]) -> str | None:
    import linecache

    if isinstance(receiver, ReceiverRef):
        module = sys.modules.get(receiver.path.split(":", 1)[0])
        filename, line = getattr(module, "__file__", None), receiver.line
    else:
        filename, line = source_location(resolve_receiver(receiver) if isinstance(receiver, str) else receiver)
    if not filename or line is None:
        return None
    text = linecache.getlines(filename)
    if not text:
        return None
    if filename not in spans:
        spans[filename] = _statement_spans("".join(text))
    last = spans[filename].get(line, line + 11)  # no statement starts there (the file changed): 12 lines
    if lines is not None:
        last = min(last, line + lines - 1)
    shown = text[line - 1 : last]
    return "".join(shown).rstrip() + "\n" if "".join(shown).strip() else None


def _statement_spans(source: str) -> dict[int, int]:
    """Map each line a statement starts on to the last line of that statement, read with ast.

    A def or class starts at its first decorator. Where several start on one
    line, a def wins, then the outermost statement.
    """
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    spans: dict[int, int] = {}
    defs: dict[int, int] = {}
    for node in ast.walk(tree):  # breadth first: outer statements before the ones inside them
        if not isinstance(node, ast.stmt) or node.end_lineno is None:
            continue
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.setdefault(first, node.end_lineno)
        spans.setdefault(first, node.end_lineno)
    spans.update(defs)
    return spans


def receiver_sources(smap: SignalMap, *, lines: int | None = None) -> dict[str, str]:
    """Return the source of each receiver of `smap`'s function (see `receiver_source`), by receiver path.

    As `receiver_source` reads a ReceiverRef, each file parsed once;
    receivers without a line or a file are left out.
    """
    sources: dict[str, str] = {}
    spans: dict[str, dict[int, int]] = {}
    for conn in smap.connections:
        ref = conn.receiver
        if ref.line is not None and ref.path not in sources:
            text = _read_source(ref, lines, spans)
            if text is not None:
                sources[ref.path] = text
    return sources


def _receiver_kind(obj: Any) -> str:
    kind = type(obj)
    if kind is FunctionType:
        if obj.__name__ == "<lambda>":
            return "lambda"
        return "staticmethod" if "." in obj.__qualname__ and _is_staticmethod(obj) else "function"
    if issubclass(kind, functools.partial):
        return "partial"
    if kind is MethodType:
        return "classmethod" if isinstance(obj.__self__, type) else "method"
    if not issubclass(kind, type) and _is_c_callable(kind):
        return "builtin"
    return "callable"


def describe_receiver(obj: Any, *, is_async: bool, relpath: Callable[[str | None], str | None]) -> ReceiverRef:
    """Return a ReceiverRef for a live receiver callable (None: a dead one).

    Named by `receiver_path`, located by `source_location`; file names go
    through `relpath`.
    """
    if obj is None:
        return ReceiverRef(path="<dead>", file=None, line=None, kind="dead", is_async=is_async)
    file, line = source_location(obj, relpath)
    return ReceiverRef(receiver_path(obj), file, line, _receiver_kind(obj), is_async)


def _describe_function(func: FunctionType, is_async: bool, relpath: Callable[[str | None], str | None]) -> ReceiverRef:
    file, line = source_location(func, relpath)
    return ReceiverRef(receiver_path(func), file, line, _receiver_kind(func), is_async)


#: How deep describe_wrapped follows wrappers of wrappers: stacked decorators rarely pass three.
_MAX_WRAPPER_DEPTH = 8


def describe_wrapped(obj: Any, *, relpath: Callable[[str | None], str | None]) -> tuple[ReceiverRef, ...]:
    """Return the functions the receiver `obj` wraps, in the order they are found.

    A decorator without functools.wraps leaves Django its wrapper, named and
    located where the decorator defines it: the decorated function is reached
    only through the wrapper's closure cells, or for a decorator written as a
    class through the instance's attributes. Followed: ``__wrapped__`` and the
    closure cells of plain functions, a bound method's function, a partial's
    function, and the ``__dict__`` values of a callable instance, read only
    where reading is plain (no ``__getattr__``, property or repr of the
    user's runs). Each function is named as by `describe_receiver`.
    """
    found: list[ReceiverRef] = []
    seen = {id(obj)}
    for func in _wrapped_functions(obj, seen, _MAX_WRAPPER_DEPTH):
        found.append(_describe_function(func, False, relpath))
    return tuple(found)


def _wrapped_functions(obj: Any, seen: set[int], depth: int) -> Iterator[FunctionType]:
    """Yield the plain functions `obj` holds (depth first), and those they hold in turn."""
    if depth == 0:
        return
    for inner in _held_callables(obj):
        if id(inner) in seen:
            continue
        seen.add(id(inner))
        if type(inner) is FunctionType:
            yield inner
        yield from _wrapped_functions(inner, seen, depth - 1)


def _held_callables(obj: Any) -> list[Any]:
    """The callables `obj` holds, as a wrapper would: read by type, running nothing of the user's."""
    kind = type(obj)
    if kind is FunctionType:
        held = [dict.get(obj.__dict__, "__wrapped__")]
        for cell in obj.__closure__ or ():
            with contextlib.suppress(ValueError):  # an empty cell: a name not bound yet
                held.append(cell.cell_contents)
    elif kind is MethodType:
        held = [obj.__func__]
    elif issubclass(kind, functools.partial):
        held = [_PARTIAL_FUNC.__get__(obj, kind)]
    elif _is_callable_instance(obj):
        # Its own attributes, only through the standard __dict__ slot (what getattr_static reads).
        descriptor = inspect.getattr_static(obj, "__dict__", None)
        if type(descriptor) is not GetSetDescriptorType:
            return []
        attributes = descriptor.__get__(obj, kind)
        held = list(dict.values(attributes)) if issubclass(type(attributes), dict) else []
    else:
        return []  # a class, a builtin or another C callable: it holds no functions of the project
    return [
        h
        for h in held
        if type(h) in (FunctionType, MethodType) or issubclass(type(h), functools.partial) or _is_callable_instance(h)
    ]


def _is_callable_instance(obj: Any) -> bool:
    """Whether `obj` is an instance of a class whose ``__call__`` is written in Python."""
    kind = type(obj)
    return not issubclass(kind, type) and type(inspect.getattr_static(kind, "__call__", None)) is FunctionType


def describe_sender(obj: Any) -> SenderRef:
    """Return a SenderRef for a live sender object (never None: that is "any").

    Models are labelled ``app_label.ModelName``; classes and functions
    ``module:qualname``; app configs ``<AppConfig: label>``; plain values by
    repr(); anything else by its type, never by an address. Nothing of the
    user's runs: no repr() or isinstance() on arbitrary objects (isinstance
    would wake lazy objects).
    """
    from django.apps import AppConfig
    from django.db.models.base import ModelBase

    kind = type(obj)
    if issubclass(kind, ModelBase):
        return SenderRef(kind="model", label=obj._meta.label)
    if issubclass(kind, type) or inspect.isfunction(obj) or inspect.ismethod(obj):
        return SenderRef(kind="object", label=callable_path(obj))
    if issubclass(kind, AppConfig):
        return SenderRef(kind="object", label=f"<AppConfig: {obj.label}>")
    if kind in _PLAIN_TYPES:
        return SenderRef(kind="object", label=repr(obj))
    return SenderRef(kind="object", label=f"<{kind.__module__}.{kind.__qualname__} instance>")

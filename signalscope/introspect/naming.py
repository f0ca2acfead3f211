"""Name live callables and senders as plain, machine-independent strings."""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from types import FunctionType, GetSetDescriptorType, MethodType
from typing import Any

from ..model import ReceiverRef, SenderRef

__all__ = ["callable_path", "describe_receiver", "describe_sender", "describe_wrapped"]

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


def _location(func: Any, relpath: Callable[[str | None], str | None]) -> tuple[str | None, int | None]:
    if hasattr(func, "__wrapped__"):
        with contextlib.suppress(ValueError):  # ValueError: a __wrapped__ cycle
            func = inspect.unwrap(func)  # functools.wraps decorators: point at the real code
    code = getattr(func, "__code__", None)
    if code is None:
        return None, None
    return relpath(code.co_filename), code.co_firstlineno


def describe_receiver(obj: Any, *, is_async: bool, relpath: Callable[[str | None], str | None]) -> ReceiverRef:
    """Return a ReceiverRef for a live receiver callable.

    Partials are unwrapped to their innermost callable; a callable instance is
    named by its class's ``__call__``; a bound method by its function's
    qualname. File names go through `relpath`.
    """
    if obj is None:
        return ReceiverRef(path="<dead>", file=None, line=None, kind="dead", is_async=is_async)
    if type(obj) is FunctionType:  # the common case first: a plain function
        return _describe_function(obj, is_async, relpath)
    if isinstance(obj, functools.partial):
        inner = obj.func
        while isinstance(inner, functools.partial):
            inner = inner.func
        described = describe_receiver(inner, is_async=is_async, relpath=relpath)
        return ReceiverRef(
            path=described.path, file=described.file, line=described.line, kind="partial", is_async=is_async
        )
    if inspect.ismethod(obj):
        kind = "classmethod" if isinstance(obj.__self__, type) else "method"
        file, line = _location(obj.__func__, relpath)
        return ReceiverRef(path=callable_path(obj), file=file, line=line, kind=kind, is_async=is_async)
    if inspect.isfunction(obj):
        return _describe_function(obj, is_async, relpath)
    if inspect.isbuiltin(obj) or inspect.ismethodwrapper(obj) or inspect.ismethoddescriptor(obj):
        owner = getattr(obj, "__self__", None)
        path = _qualified(obj)
        if path.startswith("?:") and owner is not None:
            path = f"{type(owner).__module__}:{type(owner).__qualname__}.{obj.__name__}"
        return ReceiverRef(path=path, file=None, line=None, kind="builtin", is_async=is_async)
    # A callable instance: what runs is its class's __call__.
    cls = type(obj)
    call = inspect.getattr_static(cls, "__call__", None)
    file, line = _location(call, relpath) if call is not None else (None, None)
    path = f"{cls.__module__}:{cls.__qualname__}.__call__"
    return ReceiverRef(path=path, file=file, line=line, kind="callable", is_async=is_async)


def _describe_function(func: FunctionType, is_async: bool, relpath: Callable[[str | None], str | None]) -> ReceiverRef:
    qualname = func.__qualname__
    if func.__name__ == "<lambda>":
        kind = "lambda"
    elif "." in qualname and _is_staticmethod(func):
        kind = "staticmethod"
    else:
        kind = "function"
    if hasattr(func, "__wrapped__"):
        file, line = _location(func, relpath)
    else:  # the usual case, inlined: this runs once per receiver
        code = func.__code__
        file, line = relpath(code.co_filename), code.co_firstlineno
    return ReceiverRef(f"{func.__module__ or '?'}:{qualname}", file, line, kind, is_async)


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


#: The C slot behind ``partial.func``: read through it, a subclass's attribute hooks don't run.
_PARTIAL_FUNC: Any = vars(functools.partial)["func"]


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

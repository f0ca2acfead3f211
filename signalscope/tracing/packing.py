"""Turn a finished send record into the send a trace keeps: plain values and interned names only.

This is the per-send half of the tracer's hot path (recorder.py's hooks are
the other half), shared by every tracer: a send is packed once, whatever the
number of tracers that keep it. Everything that can wait is left to when the
log is read (tracer.Tracer._events): kwargs summaries, texts, events.

What can't wait is read here, at the end of the send, because it is gone
afterwards: the instance's pk (it changes: a delete sets it to None), each
receiver's result type, an exception's text. Everything else comes from
caches keyed by ``id()``:

- each entry goes when its object does, through a weak reference's callback
  (CPython calls it before the object's memory, and so its id, can be
  reused), so a hit needs no liveness check and no object of the program is
  kept alive by a cache;
- a sender that can't be weakly referenced (a str, an int) is cached by
  value, and a sender instance by its class (its label is its class's);
- a kwargs shape (names and type names) is cached by its names and types
  when every type is bound in its module (or built in): the cache then holds
  no more than the module does. Any other shape is worked out per send.

Literal indexes into the send record on this path are named in each line's
comment as recorder.NAME (R.NAME): tests/test_trace_layout.py checks them.
"""

from __future__ import annotations

import os
import struct
import sys
import sysconfig
import weakref
from operator import attrgetter, itemgetter
from types import MethodType
from typing import Any

from .values import pk_text

__all__ = [
    "KWARGS",
    "accel",
    "clear",
    "detail_names",
    "details_of",
    "error_text",
    "model_label",
    "pack",
    "pack_py",
    "sender_text",
    "unpack",
]

_UNSEEN = object()

# id(object) -> its name: every cache below is one of these (see the module's docstring).
_senders: dict[int, str] = {}  # senders that are classes, functions, app configs: id -> label
_instances: dict[int, str] = {}  # senders that are instances: id(their class) -> label
_values: dict[Any, str] = {}  # senders that are str (and other plain values): value -> label
# Instances' classes: id -> (model label, the pk's attribute name or None), or None (not a model).
_models: dict[int, tuple[str, str | None] | None] = {}
_receivers: dict[int, str] = {}  # receiver functions: id -> path
_shapes: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}  # (*names, *types) -> shape
_interned: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # tuples of names that repeat
_refs: dict[tuple[int, int], weakref.ref[Any]] = {}  # (id(cache), id(object)) -> the weak reference
_MAX_VALUES = 10_000  # str senders named: a program making a new one per send stops being cached

_second = itemgetter(1)
_qualname = attrgetter("__qualname__")


def clear() -> None:
    """Forget every cached name (tests; a forked child keeps its parent's, which are right)."""
    for cache in (_senders, _instances, _values, _models, _receivers, _shapes, _interned, _refs):
        cache.clear()


def _keep(cache: dict[Any, Any], obj: Any, value: Any) -> None:
    """Cache `value` for `obj` in `cache` by id for as long as `obj` lives (not at all without weak references)."""
    key = id(obj)
    slot = (id(cache), key)

    def forget(ref: weakref.ref[Any]) -> None:
        if _refs.get(slot) is ref:
            del _refs[slot]
            cache.pop(key, None)

    try:
        ref = weakref.ref(obj, forget)
    except TypeError:
        return
    _refs[slot] = ref
    cache[key] = value


def sender_text(sender: Any) -> str | None:
    """Return `sender`'s label as `list` shows it (None: any sender), and cache it (see the module's docstring)."""
    if sender is None:
        return None
    from ..introspect.naming import describe_sender

    label = describe_sender(sender).label
    if label is None:
        return None
    kind = type(sender)
    if kind is str:
        if len(_values) < _MAX_VALUES:
            _values[sender] = label
    elif issubclass(kind, type):
        _keep(_senders, sender, label)
    elif label.endswith(" instance>"):  # named by its class: every instance of it is
        _keep(_instances, kind, label)
    else:  # a function, an app config: by itself
        _keep(_senders, sender, label)
    return label


def model_label(kind: type) -> str | None:
    """The model label of an instance's class, or None for anything that is not a Django model
    (a graphene type has a `_meta` too, and no pk); cached."""
    found = _models.get(id(kind), _UNSEEN)
    if found is _UNSEEN:
        found = _model_entry(kind)
    return None if found is None else found[0]  # type: ignore[index]


def _model_entry(kind: type) -> tuple[str, str | None] | None:
    """Cache and return (label, pk attribute) for a model class (see _models), or None for any other class.

    The pk attribute is given only when reading it from the instance's
    ``__dict__`` is what ``instance.pk`` does: Django's own ``pk`` property
    and ``_get_pk_val``, a one-column pk. Otherwise ``instance.pk`` is read.
    """
    import inspect

    from django.db.models import Model
    from django.db.models.base import ModelBase

    meta: Any = getattr(kind, "_meta", None) if isinstance(kind, ModelBase) else None
    entry: tuple[str, str | None] | None = None
    if meta is not None and not meta.abstract:
        attname = None
        pk = getattr(meta, "pk", None)
        plain = (
            inspect.getattr_static(kind, "pk", None) is vars(Model)["pk"]
            and inspect.getattr_static(kind, "_get_pk_val", None) is vars(Model)["_get_pk_val"]
            and not getattr(meta, "is_composite_pk", False)
        )
        if plain and pk is not None and type(getattr(pk, "attname", None)) is str and pk.attname != "pk":
            attname = pk.attname
        entry = (str(meta.label), attname)
    _keep(_models, kind, entry)
    return entry


def _receiver_path(func: Any) -> str:
    from ..introspect.naming import cached_receiver_path

    path = cached_receiver_path(func)
    _keep(_receivers, func, path)
    return path


_TYPE_MODULE = vars(type)["__module__"]  # read through type's own descriptors: no metaclass of the program runs
_TYPE_QUALNAME = vars(type)["__qualname__"]


def _is_bound(kind: type) -> bool:
    """Whether `kind` is built in, or bound in its module under its qualified name (read without running code)."""
    module_name = _TYPE_MODULE.__get__(kind)
    if module_name == "builtins":
        return True
    qualname = _TYPE_QUALNAME.__get__(kind)
    module = sys.modules.get(module_name) if type(module_name) is str else None
    if module is None or type(qualname) is not str or "<locals>" in qualname:
        return False
    found: Any = module
    for part in qualname.split("."):
        try:
            found = vars(found).get(part)
        except TypeError:
            return False
        if found is None:
            return False
    return found is kind


def _shape(named: dict[str, Any], key: tuple[Any, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The kwargs' names and type names, cached under `key` when every type is bound in its module."""
    count = len(named)
    kinds = key[count:]
    shape = (tuple(named), tuple([kind.__qualname__ for kind in kinds]))
    shape = _interned.setdefault(shape, shape)
    if all(_is_bound(kind) for kind in kinds):
        _shapes[key] = shape
    return shape


_nones: dict[int, tuple[str, ...]] = {}  # n -> ("NoneType",) * n


def _none_results(count: int) -> tuple[str, ...]:
    found = _nones[count] = ("NoneType",) * count
    return found


def error_text(error: BaseException | None) -> str | None:
    """The text a trace keeps of an exception."""
    return None if error is None else f"{type(error).__qualname__}: {error}"


def pack_py(record: list[Any], path: str, details: tuple[str, ...]) -> tuple[Any, ...]:
    """Return the send a trace keeps for the finished send `record` of the signal named `path`.

    `details` are the names of the keyword arguments shown as details
    (details_of). The layout is tracer.Tracer._events'. This is the pure-Python
    packing; `pack` is the C accelerator's when it is built (see _accelerated).
    """
    sender = record[3]  # R.SENDER
    if sender is None:
        label = None
    else:
        label = _senders.get(id(sender))
        if label is None:
            kind = type(sender)
            label = _values.get(sender) if kind is str else _instances.get(id(kind))
            if label is None:
                label = sender_text(sender)
    named = record[4]  # R.NAMED
    key = (*named, *map(type, named.values()))
    shape = _shapes.get(key)
    if shape is None:
        shape = _shape(named, key)
    instance = named.get("instance")
    model: str | None = None
    pk: Any = None
    if instance is not None:
        kind = type(instance)
        found_model: Any = _models.get(id(kind), _UNSEEN)
        if found_model is _UNSEEN:
            found_model = _model_entry(kind)
        if found_model is not None:  # a Django model's instance: pk by the policy (tracing/values.py)
            model, attname = found_model
            pk = instance.__dict__.get(attname, _UNSEEN) if attname is not None else _UNSEEN
            if pk is _UNSEEN:
                pk = instance.pk
            if type(pk) is not int:
                pk = pk_text(pk)
    taken = record[10]  # R.RECEIVERS
    if taken:
        names_list = []
        for receiver in taken:
            func = receiver.__func__ if type(receiver) is MethodType else receiver
            name = _receivers.get(id(func))
            names_list.append(name if name is not None else _receiver_path(func))
        names = tuple(names_list)
        names = _interned.setdefault(names, names)
    else:
        names = ()
    responses = record[13]  # R.RESPONSES
    if not responses:
        results: Any = ()
    elif record[14]:  # R.RAISED: send_robust's receivers that raised (error texts vary: not interned)
        raised = record[14]  # R.RAISED
        results = tuple(
            [(error_text(r),) if i in raised else type(r).__qualname__ for i, (_, r) in enumerate(responses)]
        )
    else:
        for _, response in responses:
            if response is not None:
                results = tuple(map(_qualname, map(type, map(_second, responses))))
                results = _interned.setdefault(results, results)
                break
        else:  # what receivers return most often
            results = _nones.get(len(responses)) or _none_results(len(responses))
    asynchronous: Any = record[15]  # R.ASYNC
    if asynchronous:
        from ..introspect.naming import cached_receiver_path

        asynchronous = tuple(
            [
                (i, cached_receiver_path(r), start, end, thread, error_text(exc), type(res).__qualname__)
                for i, r, start, end, thread, exc, res in asynchronous
            ]
        )
    else:
        asynchronous = ()
    error = record[9]  # R.ERROR
    if details:
        found = details_of(named, details)
        found = _interned.setdefault(found, found)
    else:
        found = ()
    # The numbers in one bytes object: a kept send is two objects (and its pk), not a tuple of tuples
    # of ints. Dropping the oldest send of a full ring buffer then frees two objects long out of the
    # CPU's caches, not twenty; and bytes and tuples of strings are never walked by the collector.
    times = record[11]  # R.TIMES
    ids = record[18]  # R.CALL_IDS
    count = 7 + len(times) + len(ids)
    encode = _encoders.get(count)
    if encode is None:
        encode = _encoders[count] = struct.Struct(f"{count}Q").pack
    # fmt: off
    numbers = encode(record[0], record[1] or 0, record[7], record[8],  # R.ID, R.PARENT, R.START, R.END
                     record[6], record[12], len(times), *times, *ids)  # R.THREAD, R.CALL_THREAD
    return (path, label, record[5], shape, names, results, model, found, numbers,  # R.METHOD
            pk, None if error is None else error_text(error), asynchronous)
    # fmt: on


_encoders: dict[int, Any] = {}
_decoders: dict[int, Any] = {}


#: A kept send's fields (pack's answer): the kwargs' shape (or, with capture_values, their texts) is KWARGS.
KWARGS = 3


def unpack(send: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return a kept send (pack's answer) as its fields: tracer.Tracer._events' layout.

    (id, parent, path, sender label, method, start, end, thread, error text,
    kwargs, call thread, receiver names, times, call ids, results, async
    calls, (model label, pk) or None, details)
    """
    path, label, method, kwargs, names, results, model, details, numbers, pk, error, asynchronous = send
    size = len(numbers) // 8
    decode = _decoders.get(size)
    if decode is None:
        decode = _decoders[size] = struct.Struct(f"{size}Q").unpack
    values = decode(numbers)
    sid, parent, start, end, thread, call_thread, count = values[:7]
    times = values[7 : 7 + count]
    ids = values[7 + count :]
    shown = None if model is None else (model, pk)
    return (sid, parent or None, path, label, method, start, end, thread, error, kwargs, call_thread, names, times,
            ids, results, asynchronous, shown, details)  # fmt: skip


#: The keyword arguments whose values tell sends apart (TraceEvent.details), shown as safe text, by the
#: name of the Django signal that has them (sorted). Only Django's own signals have them: their arguments
#: of those names mean what details_of takes them for; a custom signal's `action` or `using` could hold anything.
DETAIL_SIGNALS: dict[str, tuple[str, ...]] = {
    "pre_save": ("raw", "update_fields", "using"),
    "post_save": ("created", "raw", "update_fields", "using"),
    "pre_delete": ("origin", "using"),
    "post_delete": ("origin", "using"),
    "m2m_changed": ("action", "pk_set", "using"),
    "pre_migrate": ("using",),
    "post_migrate": ("using",),
}


def detail_names(signal: Any) -> tuple[str, ...]:
    """Return the details `signal`'s sends have (none for a signal not Django's own), once per signal."""
    module = sys.modules.get("django.db.models.signals")
    if module is not None:
        for name, details in DETAIL_SIGNALS.items():
            if signal is getattr(module, name, None):
                return details
    return ()


_SCALARS = (bool, str)
_COLLECTIONS = (frozenset, set, list, tuple)


def details_of(named: dict[str, Any], names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The details of a send: names and safe scalars only, read by type (nothing of the program runs).

    A bool or a str as it is (created, raw, action, using), update_fields as
    its sorted names, pk_set as its size (the pks are not shown), origin as
    its model's label (a model instance's, or a QuerySet's model's).
    """
    found = []
    for name in names:
        if name not in named:
            continue
        value = named[name]
        kind = type(value)
        if kind in _SCALARS:
            text = str(value)
        elif value is None:
            text = "None"
        elif name == "update_fields" and kind in _COLLECTIONS:
            text = ",".join(sorted(str(field) for field in value if type(field) is str))
        elif name == "pk_set" and kind in _COLLECTIONS:
            text = str(len(value))
        elif name == "origin":
            model = vars(value).get("model") if _is_queryset(value) else kind
            label = model_label(model) if issubclass(type(model), type) else None
            text = label or f"<{kind.__qualname__}>"
        else:
            text = f"<{kind.__qualname__}>"
        found.append((name, text))
    return tuple(found)


def _is_queryset(value: Any) -> bool:
    from django.db.models.query import QuerySet

    return issubclass(type(value), QuerySet)


def _accelerated() -> Any:
    """The C accelerator (tracing/_accel.c, built by setup.py), handed this module's caches.

    None when it is not built (no C compiler at install), when
    SIGNALSCOPE_PURE_PYTHON is set, and on a free-threaded Python.
    """
    if os.environ.get("SIGNALSCOPE_PURE_PYTHON") or sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None  # (the C code relies on the GIL: a free-threaded build uses the Python)
    try:
        from . import _accel  # type: ignore[attr-defined]
    except ImportError:
        return None
    _accel.configure(
        senders=_senders, instances=_instances, values=_values, models=_models, receivers=_receivers,
        shapes=_shapes, interned=_interned, nones=_nones, sender_text=sender_text, shape=_shape,
        model_entry=_model_entry, receiver_path=_receiver_path, pk_text=pk_text, none_results=_none_results,
        error_text=error_text, details_of=details_of, pack_py=pack_py, unseen=_UNSEEN,
    )  # fmt: skip
    return _accel


accel = _accelerated()
pack: Any = pack_py if accel is None else accel.pack

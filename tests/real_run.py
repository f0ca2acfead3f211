"""Run a fixture scenario for real and print, as JSON, the tree of signal sends it made and what each receiver wrote.

    python real_run.py PROJECT_DIR SCENARIO

Independent of signalscope (it imports none of it): the project is set up on an
in-memory SQLite database made with ``migrate --run-syncdb``, the scenario makes
its data, and only its measured part runs with the recorder on. The recorder
wraps ``Signal.send`` and ``Signal.send_robust`` at class level, and
``Signal._live_receivers`` so that, inside a recorded send only, each receiver
Django calls is a thin wrapper that records the call and calls it: Django's own
send loop runs unchanged, and each response is handed back with the receiver
Django connected, not the wrapper. Every INSERT, UPDATE and DELETE statement
(``connection.execute_wrapper``) is attached to the innermost receiver running
when it is executed; a callback a receiver gave ``transaction.on_commit`` counts
as that receiver's (its writes are marked ``after_commit``).

Output: {"scenario", "django", "sends": [send...], "writes": [write...]}, where
``writes`` are the scenario's own (made outside any receiver) and

    send  = {"signal", "path", "sender", "action"?, "created"?, "receivers": [call...]}
    call  = {"receiver", "writes": [write...], "sends": [send...]}
    write = {"verb": "INSERT" | "UPDATE" | "DELETE", "model", "m2m"?, "after_commit"?}

``path`` is "module:name" of the module defining the signal; ``sender`` a model's
label, "module:qualname" of a class or function, else its repr; ``action`` is
m2m_changed's, ``created`` post_save's. A receiver is named as signalscope names
it: a partial by the function it wraps, a bound method "module:Class.method", a
function decorated with functools.wraps by the function it decorates, a
callable object "module:Class.__call__". ``m2m`` lists, for a many-to-many
through model, the labels of the models its relation joins.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import json
import os
import re
import sys
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Imported before anything creates a signal, so that each one's creating module is known.
from django.dispatch import Signal

MODEL_SIGNALS = "django.db.models.signals"
WRITE = re.compile(
    r"""^\s*(?P<verb>INSERT|UPDATE|DELETE|REPLACE)\b(?:\s+OR\s+\w+)?\s+(?:INTO\s+|FROM\s+)?(?:ONLY\s+)?"""
    r"""[`"\[]?(?P<table>[^\s`"\]\(]+)""",
    re.IGNORECASE,
)


# --- what is recorded --------------------------------------------------------------------------


@dataclass
class Call:
    """One receiver's call; the root of the tree is a Call too (the scenario's own code)."""

    receiver: str
    writes: list[dict[str, Any]] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"receiver": self.receiver, "writes": self.writes, "sends": [s.json() for s in self.sends]}


@dataclass
class Send:
    signal: Signal
    name: str
    path: str
    sender: str
    details: dict[str, Any]
    receivers: list[Call] = field(default_factory=list)
    wrapped: bool = False  # its receivers were handed to Django wrapped

    def json(self) -> dict[str, Any]:
        return {
            "signal": self.name,
            "path": self.path,
            "sender": self.sender,
            **self.details,
            "receivers": [c.json() for c in self.receivers],
        }


@dataclass(frozen=True)
class Frame:
    """What runs now: a send (between its receivers) or a receiver's call, maybe in its on_commit callback."""

    node: Send | Call
    after_commit: bool = False


ROOT = Call("<scenario>")
CURRENT: contextvars.ContextVar[Frame | None] = contextvars.ContextVar("real_run_current", default=None)


def current() -> Frame:
    return CURRENT.get() or Frame(ROOT)


# --- names ---------------------------------------------------------------------------------------

ORIGINS: weakref.WeakKeyDictionary[Signal, str] = weakref.WeakKeyDictionary()
_original_init = Signal.__init__


def _remember_origin(self: Signal, *args: Any, **kwargs: Any) -> None:
    """Signal.__init__ while the project is set up: note the module whose code created the signal."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is self:
        frame = frame.f_back  # a subclass's __init__ calling super().__init__()
    if frame is not None:
        ORIGINS[self] = str(frame.f_globals.get("__name__", ""))
    _original_init(self, *args, **kwargs)


class SignalNames:
    """Each signal's "module:name", found by scanning sys.modules; the module that created it wins."""

    def __init__(self) -> None:
        self.known: weakref.WeakKeyDictionary[Signal, tuple[str, str]] = weakref.WeakKeyDictionary()
        self.holders: dict[int, list[tuple[str, str]]] = {}

    def _scan(self) -> None:
        self.holders = {}
        for module_name, module in list(sys.modules.items()):
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for attr, value in list(namespace.items()):
                if isinstance(value, Signal):
                    self.holders.setdefault(id(value), []).append((module_name, attr))

    def __call__(self, signal: Signal) -> tuple[str, str]:
        """(name, path) of `signal`."""
        if signal in self.known:
            return self.known[signal]
        if id(signal) not in self.holders:
            self._scan()
        holders = self.holders.get(id(signal), [])
        origin = ORIGINS.get(signal)
        if type(signal).__module__ == MODEL_SIGNALS and origin is None:
            origin = MODEL_SIGNALS
        defining = [h for h in holders if h[0] == origin]
        if not defining:  # not seen being created: the likeliest definer of the modules holding it
            defining = sorted(holders, key=lambda h: (not h[0].endswith("signals"), h[0].count("."), h))
        if defining:
            module, attr = defining[0]
            found = (attr, f"{module}:{attr}")
        else:
            found = ("?", f"{origin or '?'}:?")
        self.known[signal] = found
        return found


def receiver_name(receiver: Any) -> str:
    """The receiver named as signalscope names it: "module:qualname" of the function that runs."""
    target = receiver
    for _ in range(100):
        if isinstance(target, functools.partial):
            target = target.func
        elif inspect.ismethod(target):
            target = target.__func__
        elif "__wrapped__" in getattr(target, "__dict__", {}):
            target = target.__wrapped__
        else:
            break
    if not (inspect.isfunction(target) or inspect.isbuiltin(target)):
        target = type(target).__call__  # a callable object
        target = getattr(target, "__func__", target)
    module = getattr(target, "__module__", None) or "?"
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}:{qualname}"


def sender_label(sender: Any) -> str:
    if isinstance(sender, type):
        meta = getattr(sender, "_meta", None)
        label = getattr(meta, "label", None)
        if isinstance(label, str):
            return label
        return f"{sender.__module__}:{sender.__qualname__}"
    if inspect.isfunction(sender) or inspect.ismethod(sender):
        return f"{sender.__module__}:{sender.__qualname__}"
    return repr(sender)


# --- the recorder --------------------------------------------------------------------------------


class Tables:
    """Model label of each database table, and what a many-to-many through table joins."""

    def __init__(self) -> None:
        from django.apps import apps

        self.labels: dict[str, str] = {}
        self.joins: dict[str, list[str]] = {}
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy:  # its table is its concrete model's
                continue
            self.labels[model._meta.db_table] = model._meta.label
            self.labels.setdefault(model._meta.db_table.lower(), model._meta.label)
        for model in apps.get_models():
            for relation in model._meta.local_many_to_many:
                through = relation.remote_field.through
                if isinstance(through, type):
                    joined = {model._meta.label, relation.related_model._meta.label}
                    label = through._meta.label
                    self.joins[label] = sorted({*self.joins.get(label, []), *joined})

    def write(self, sql: str) -> dict[str, Any] | None:
        match = WRITE.match(sql)
        if match is None:
            return None
        verb = match["verb"].upper()
        table = match["table"].rpartition(".")[2]
        model = self.labels.get(table) or self.labels.get(table.lower()) or f"<table {table}>"
        write: dict[str, Any] = {"verb": "INSERT" if verb == "REPLACE" else verb, "model": model}
        if model in self.joins:
            write["m2m"] = self.joins[model]
        return write


class Recorder:
    def __init__(self) -> None:
        self.names = SignalNames()
        self.tables = Tables()

    # Signal.send and Signal.send_robust
    def sending(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        @functools.wraps(original)
        def send(self: Signal, sender: Any, **named: Any) -> Any:
            name, path = recorder.names(self)
            details: dict[str, Any] = {}
            if name == "m2m_changed" and "action" in named:
                details["action"] = named["action"]
            if name == "post_save" and "created" in named:
                details["created"] = named["created"]
            node = Send(self, name, path, sender_label(sender), details)
            parent = current().node
            (parent if isinstance(parent, Call) else ROOT).sends.append(node)
            token = CURRENT.set(Frame(node))
            try:
                responses = original(self, sender, **named)
            finally:
                CURRENT.reset(token)
            return [(getattr(r, "real_run_receiver", r), response) for r, response in responses]

        return send

    # Signal._live_receivers: a list on Django 4.2, (sync, async) on 5.0+
    def resolving(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        @functools.wraps(original)
        def live_receivers(self: Signal, sender: Any) -> Any:
            found = original(self, sender)
            node = current().node
            if not isinstance(node, Send) or node.signal is not self or node.wrapped:
                return found  # has_listeners(), or a send we don't record (asend)
            node.wrapped = True
            if isinstance(found, tuple):
                sync, asynchronous = found
                return [recorder.wrap(r, node) for r in sync], [recorder.wrap_async(r, node) for r in asynchronous]
            return [recorder.wrap(r, node) for r in found]

        return live_receivers

    def wrap(self, receiver: Any, send: Send) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            call = Call(receiver_name(receiver))
            send.receivers.append(call)
            token = CURRENT.set(Frame(call))
            try:
                return receiver(*args, **kwargs)
            finally:
                CURRENT.reset(token)

        return self._disguise(recorded, receiver)

    def wrap_async(self, receiver: Any, send: Send) -> Callable[..., Any]:
        async def recorded(*args: Any, **kwargs: Any) -> Any:
            call = Call(receiver_name(receiver))
            send.receivers.append(call)
            token = CURRENT.set(Frame(call))
            try:
                return await receiver(*args, **kwargs)
            finally:
                CURRENT.reset(token)

        return self._disguise(recorded, receiver)

    @staticmethod
    def _disguise(recorded: Any, receiver: Any) -> Any:
        recorded.real_run_receiver = receiver
        # send_robust logs a failing receiver by its __qualname__
        recorded.__qualname__ = getattr(receiver, "__qualname__", type(receiver).__qualname__)
        return recorded

    # connection.execute_wrapper
    def execute(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        write = self.tables.write(sql) if isinstance(sql, str) else None
        if write is not None:
            frame = current()
            if frame.after_commit:
                write["after_commit"] = True
            (frame.node if isinstance(frame.node, Call) else ROOT).writes.append(write)
        return execute(sql, params, many, context)

    # connection.on_commit
    def committing(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def on_commit(func: Callable[[], Any], *args: Any, **kwargs: Any) -> Any:
            owner = current().node
            if not isinstance(owner, Call) or owner is ROOT:
                return original(func, *args, **kwargs)

            @functools.wraps(func)
            def callback() -> Any:
                token = CURRENT.set(Frame(owner, after_commit=True))
                try:
                    return func()
                finally:
                    CURRENT.reset(token)

            return original(callback, *args, **kwargs)

        return on_commit

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """The measured part of a scenario."""
        from django.db import DEFAULT_DB_ALIAS, connections

        connection = connections[DEFAULT_DB_ALIAS]
        saved = {name: Signal.__dict__[name] for name in ("send", "send_robust", "_live_receivers")}
        Signal.send = self.sending(saved["send"])  # type: ignore[method-assign]
        Signal.send_robust = self.sending(saved["send_robust"])  # type: ignore[method-assign]
        Signal._live_receivers = self.resolving(saved["_live_receivers"])  # type: ignore[method-assign]
        connection.on_commit = self.committing(connection.on_commit)  # type: ignore[method-assign]
        try:
            with connection.execute_wrapper(self.execute):
                yield
        finally:
            for name, value in saved.items():
                setattr(Signal, name, value)
            del connection.on_commit


# --- scenarios -----------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


def _user(username: str = "ada") -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)


def shop_create_user(recorder: Recorder) -> None:
    from django.contrib.auth.models import User

    with recorder.recording():
        User.objects.create(username="ada")


def shop_delete_user(recorder: Recorder) -> None:
    """A user with a profile and an order of two lines (User -> Order -> OrderLine, both CASCADE)."""
    from django.contrib.auth.models import User
    from orders.models import Order, OrderLine, Product, Tag

    user = User.objects.create(username="ada")  # its receivers make the Profile
    pen = Product.objects.create(name="Pen", price="2.50", stock=5)
    ink = Product.objects.create(name="Ink", price="4.00", stock=5)
    order = Order.objects.create(customer=user)
    OrderLine.objects.create(order=order, product=pen, quantity=2)
    OrderLine.objects.create(order=order, product=ink, quantity=1)
    order.tags.add(Tag.objects.create(name="gift"))
    user = User.objects.get(pk=user.pk)
    with recorder.recording():
        user.delete()


def shop_on_commit(recorder: Recorder) -> None:
    """The recorder's own check: a receiver's on_commit callback, run when the atomic block ends, is the receiver's."""
    from django.db import transaction
    from django.db.models.signals import post_save
    from orders.models import Product, Tag

    def tag_when_committed(sender: type, instance: Any, **kwargs: Any) -> None:
        transaction.on_commit(lambda: Tag.objects.create(name=f"new-{instance.pk}"))

    post_save.connect(tag_when_committed, sender=Product, dispatch_uid="real_run.tag_when_committed")
    with recorder.recording(), transaction.atomic():
        Product.objects.create(name="Pen", price="2.50")


def cascade_pay_invoice(recorder: Recorder) -> None:
    from billing.models import Invoice, Payment
    from inventory.models import Stock

    Stock.objects.create(sku="A-1", level=10)
    invoice = Invoice.objects.create(number="F-1", status="paid")  # paid: the loop is not taken
    with recorder.recording():
        Payment.objects.create(invoice=invoice, amount=10)


def thirdparty_create(recorder: Recorder) -> None:
    from django.contrib.auth import get_user_model

    with recorder.recording():
        get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)


def thirdparty_save(recorder: Recorder) -> None:
    """An existing Product (history-tracked, versioned, audited) renamed and saved."""
    from store.models import Product, Tag

    product = Product.objects.create(name="Lamp", price="19.90")
    product.tags.add(Tag.objects.create(name="new"))
    product = Product.objects.get(pk=product.pk)
    with recorder.recording():
        product.name = "Desk lamp"
        product.save()


def thirdparty_delete(recorder: Recorder) -> None:
    """A user with what each app hangs on one: Profile, Token, Orders, EmailAddress -> EmailConfirmation, ..."""
    from allauth.account.models import EmailAddress, EmailConfirmation
    from allauth.usersessions.models import UserSession
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from guardian.shortcuts import assign_perm
    from store.models import Order, Product

    user = _user()  # its receivers make the Profile and the Token
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    EmailConfirmation.create(address)
    UserSession.objects.create(user=user, ip="127.0.0.1", session_key="k" * 32, user_agent="real_run")
    product = Product.objects.create(name="Lamp", price="19.90")
    Order.objects.create(user=user, product=product, quantity=2)
    Order.objects.create(user=user, product=product, quantity=1)
    assign_perm("store.change_product", user, product)
    user.groups.add(Group.objects.create(name="staff"))
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Product),
        object_id=str(product.pk),
        object_repr=str(product),
        action_flag=ADDITION,
    )
    user = type(user).objects.get(pk=user.pk)
    with recorder.recording():
        user.delete()


def thirdparty_m2m_add(recorder: Recorder) -> None:
    from store.models import Product, Tag

    product = Product.objects.create(name="Lamp", price="19.90")
    tag = Tag.objects.create(name="new")
    product = Product.objects.get(pk=product.pk)
    with recorder.recording():
        product.tags.add(tag)


def thirdparty_order_placed(recorder: Recorder) -> None:
    from store.models import Order, Product
    from store.signals import order_placed

    user = _user()
    product = Product.objects.create(name="Lamp", price="19.90")
    order = Order.objects.get(pk=Order.objects.create(user=user, product=product, quantity=2).pk)
    with recorder.recording():
        order_placed.send(sender=Order, order=order)


SCENARIOS: dict[str, dict[str, Callable[[Recorder], None]]] = {
    "shop": {"create-user": shop_create_user, "delete-user": shop_delete_user, "on-commit": shop_on_commit},
    "cascade": {"pay-invoice": cascade_pay_invoice},
    "thirdparty": {
        "create": thirdparty_create,
        "save": thirdparty_save,
        "delete": thirdparty_delete,
        "m2m-add": thirdparty_m2m_add,
        "order-placed": thirdparty_order_placed,
    },
}


def settings_module(project: str) -> str:
    with open(os.path.join(project, "manage.py")) as handle:
        match = re.search(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""", handle.read())
    if match is None:
        raise SystemExit(f"no DJANGO_SETTINGS_MODULE in {project}/manage.py")
    return match[1]


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    project, scenario = os.path.abspath(sys.argv[1]), sys.argv[2]
    run = SCENARIOS.get(os.path.basename(project), {}).get(scenario)
    if run is None:
        raise SystemExit(f"unknown scenario {scenario!r} for {project}")
    sys.path.insert(0, project)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module(project)
    import django
    from django.conf import settings

    for database in settings.DATABASES.values():  # never a file in the fixture folder
        database["NAME"] = ":memory:"
    Signal.__init__ = _remember_origin  # type: ignore[method-assign]
    try:
        django.setup()
        from django.core.management import call_command

        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    finally:
        Signal.__init__ = _original_init  # type: ignore[method-assign]
    recorder = Recorder()
    run(recorder)
    out = {
        "scenario": scenario,
        "django": django.get_version(),
        "sends": [s.json() for s in ROOT.sends],
        "writes": ROOT.writes,
    }
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

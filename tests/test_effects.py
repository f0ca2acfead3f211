"""graph.effects: what receivers' code writes, read with ast, on small modules written for each case.

No Django is needed: the scan takes plain records (connections, models) and
files, so each idiom a history or audit app uses is pinned here in a few
lines, and the impact tree's conditions are evaluated on them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from signalscope.graph.effects import scan_effects
from signalscope.graph.impact import evaluate
from signalscope.model import Connection, ReceiverRef, SenderRef
from signalscope.model.cascade import EffectRef, ModelRef

POST_SAVE = "django.db.models.signals:post_save"
M2M_CHANGED = "django.db.models.signals:m2m_changed"
MODELS = (
    ModelRef("shop.Order", "shop.models", "Order", relations=(("customer", "shop.Customer"),)),
    ModelRef(
        "shop.Customer",
        "shop.models",
        "Customer",
        m2m=(("tags", "shop.Customer_tags"),),
        managers=(
            ("objects", "shop.Customer", "django.db.models.manager:Manager"),
            ("history", "shop.HistoricalCustomer", "history.manager:HistoryManager"),
        ),
    ),
    ModelRef("shop.Customer_tags", "shop.models", "Customer_tags", is_auto_created=True),
    ModelRef("shop.HistoricalCustomer", "shop.models", "HistoricalCustomer"),
    ModelRef(
        "audit.Entry", "audit.models", "Entry", managers=(("objects", "audit.Entry", "audit.models:EntryManager"),)
    ),
)


def scan(
    tmp_path: Path,
    files: dict[str, str],
    receivers: list[tuple[str, str | None]],
    *,
    signal: str = POST_SAVE,
    **options: Any,
) -> list[EffectRef]:
    """Write `files` (module name -> source) and scan the `receivers` ((path, model sender)) connected to `signal`."""
    modules = {}
    for name, source in files.items():
        path = tmp_path / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        modules[name] = str(path)
    connections = [
        Connection(
            signal,
            SenderRef("model", sender) if sender else SenderRef("any", None),
            0,
            ReceiverRef(path, None, None, "method" if "." in path.partition(":")[2] else "function"),
        )
        for path, sender in receivers
    ]
    return list(
        scan_effects(
            connections,
            modules=modules,
            models=MODELS,
            signals=[POST_SAVE, M2M_CHANGED, "shop.signals:placed"],
            **options,
        )
    )


def brief(effects: list[EffectRef]) -> list[tuple[Any, ...]]:
    ordered = sorted(effects, key=lambda e: (e.receiver, e.sender or "", e.step))
    return [(e.kind, e.target, e.sender, e.condition, e.is_after_commit) for e in ordered]


MODELS_PY = """
from django.db import models

class Order(models.Model): pass
class Customer(models.Model): pass
"""


def test_conditions_on_signal_arguments_and_early_returns(tmp_path: Path) -> None:
    effects = scan(
        tmp_path,
        {
            "shop.models": MODELS_PY,
            "shop.signals": """
            from .models import Customer, Order

            def on_create(sender, instance, created, **kwargs):
                if kwargs.get("raw"):
                    return
                if created:
                    Customer.objects.create()
                else:
                    instance.save()
                if instance.pk:  # not a signal argument: kept as written, undecided
                    Order.objects.create()
                for line in instance.lines:  # a loop's body runs when there is an item
                    line.delete()
            """,
        },
        [("shop.signals:on_create", "shop.Order")],
    )
    assert brief(effects) == [
        ("create", "shop.Customer", "shop.Order", "not raw and created", False),
        ("save", "shop.Order", "shop.Order", "not raw and (not created)", False),
        ("create", "shop.Order", "shop.Order", "not raw and instance.pk", False),
        ("unresolved", None, "shop.Order", "not raw and instance.lines", False),
    ]
    assert evaluate("not raw and created", {"raw": False, "created": True}) is True
    assert evaluate("not raw and (not created)", {"raw": False, "created": True}) is False
    assert evaluate("created and instance.pk", {"created": False}) is False
    assert evaluate("created and instance.pk", {"created": True}) is None  # unknown: kept, shown
    assert evaluate("action in ('post_add', 'post_remove')", {"action": "pre_add"}) is False
    assert evaluate("update_fields is None", {"update_fields": None}) is True


def test_the_bound_objects_values_decide_branches_and_adding_is_djangos_flag(tmp_path: Path) -> None:
    effects = scan(
        tmp_path,
        {
            "shop.models": MODELS_PY,
            "history.models": """
            from shop.models import Customer, Order

            class Records:
                def post_delete(self, instance, **kwargs):
                    if self.cascade_delete_history:
                        Customer.objects.all().delete()
                    else:
                        Order.objects.create()

                def pre_save(self, instance, **kwargs):
                    if not instance._state.adding and instance.pk is not None:
                        Customer.objects.create()
            """,
        },
        [("history.models:Records.post_delete", "shop.Order"), ("history.models:Records.pre_save", "shop.Order")],
        bindings={("history.models:Records.post_delete", "shop.Order"): {"self.cascade_delete_history": False}},
    )
    assert brief(effects) == [
        ("create", "shop.Order", "shop.Order", None, False),
        ("create", "shop.Customer", "shop.Order", "not adding and instance.pk is not None", False),
    ]
    assert evaluate("not adding and instance.pk is not None", {"adding": True}) is False


def test_calls_through_a_module_and_a_function_level_import_are_followed(tmp_path: Path) -> None:
    located: list[str] = []

    def locate(name: str) -> str | None:
        located.append(name)
        return str(tmp_path / "shop" / "services.py") if name == "shop.services" else None

    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "services.py").write_text(
        "from .models import Customer\n\ndef make_note():\n    Customer.objects.create()\n"
    )
    files = {
        "shop.models": MODELS_PY,
        "shop.signals": """
            from shop import helpers

            def on_save(sender, instance, **kwargs):
                from .services import make_note
                make_note()
                helpers.audit(instance)
                instance.owner.objects.assign_perm("x", instance)

            def deep(sender, instance, **kwargs):
                helpers.audit(instance)
            """,
        "shop.helpers": """
            def audit(instance):
                instance.save()
            """,
    }
    effects = scan(tmp_path, files, [("shop.signals:on_save", "shop.Order")], locate=locate)
    assert [(e.kind, e.target, e.via) for e in sorted(effects, key=lambda e: e.step)] == [
        ("create", "shop.Customer", "shop.services:make_note"),
        ("save", "shop.Order", "shop.helpers:audit"),
        ("unresolved", None, None),  # a custom manager method of an untyped model may write
    ]
    assert "shop.services" in located
    deep = scan(tmp_path, files, [("shop.signals:deep", "shop.Order")], depth=0)
    assert [(e.kind, e.note) for e in deep] == [
        ("unresolved", "calls shop.helpers:audit, which may write: read deeper with --follow-calls")
    ]


def test_on_commit_effects_are_marked_and_atomic_blocks_are_not(tmp_path: Path) -> None:
    effects = scan(
        tmp_path,
        {
            "shop.models": MODELS_PY,
            "shop.signals": """
            from functools import partial
            from django.db import transaction
            from .models import Customer, Order

            def later(order):
                order.save()

            def on_save(sender, instance, **kwargs):
                with transaction.atomic():
                    Customer.objects.create()
                transaction.on_commit(lambda: Order.objects.create())
                transaction.on_commit(partial(later, instance))
            """,
        },
        [("shop.signals:on_save", "shop.Order")],
    )
    assert brief(effects) == [
        ("create", "shop.Customer", "shop.Order", None, False),
        ("create", "shop.Order", "shop.Order", None, True),
        ("save", "shop.Order", "shop.Order", None, True),
    ]


def test_a_history_apps_bound_method_and_its_manager_name(tmp_path: Path) -> None:
    # simple-history's shape: the receiver is a bound method of a per-model object whose
    # manager_name names the model's history manager; the historical row is manager.model(...).
    effects = scan(
        tmp_path,
        {
            "history.models": """
            class Records:
                def post_save(self, instance, created, **kwargs):
                    if not kwargs.get("raw", False):
                        self.create_record(instance)

                def create_record(self, instance):
                    manager = getattr(instance, self.manager_name)
                    row = manager.model(history_type="+")
                    row.save()
            """,
        },
        [("history.models:Records.post_save", "shop.Customer")],
        bindings={("history.models:Records.post_save", "shop.Customer"): {"self.manager_name": "history"}},
    )
    assert brief(effects) == [("save", "shop.HistoricalCustomer", "shop.Customer", "not raw", False)]
    assert effects[0].via == "history.models:Records.create_record"


def test_an_audit_apps_custom_manager_get_model_and_setting(tmp_path: Path) -> None:
    # auditlog's shape: the entry model comes from apps.get_model(a setting's label, default), and the
    # write is a method of the model's custom manager.
    effects = scan(
        tmp_path,
        {
            "audit.models": """
            from django.db import models

            class EntryManager(models.Manager):
                def log_create(self, instance, **kwargs):
                    return self.create(**kwargs)

            class Entry(models.Model):
                objects = EntryManager()
            """,
            "audit": """
            from django.apps import apps as django_apps
            from django.conf import settings

            def get_entry_model():
                name = getattr(settings, "AUDIT_ENTRY_MODEL", "audit.Entry")
                return django_apps.get_model(name, require_ready=False)
            """,
            "audit.receivers": """
            from audit import get_entry_model
            from django.apps import apps

            def log_create(sender, instance, created, **kwargs):
                if created:
                    Entry = get_entry_model()
                    Entry.objects.log_create(instance)
                apps.get_model("shop", "Order").objects.create()
            """,
        },
        [("audit.receivers:log_create", "shop.Customer"), ("audit.receivers:log_create", "shop.Order")],
        settings={"AUDIT_ENTRY_MODEL": "audit.Entry"},
    )
    assert brief(effects) == [
        ("create", "audit.Entry", "shop.Customer", "created", False),
        ("create", "shop.Order", "shop.Customer", None, False),
        ("create", "audit.Entry", "shop.Order", "created", False),
        ("create", "shop.Order", "shop.Order", None, False),
    ]


def test_star_imports_resolve(tmp_path: Path) -> None:
    effects = scan(
        tmp_path,
        {
            "shop.models": MODELS_PY,
            "shop.signals": """
            from .models import *

            def on_save(sender, instance, **kwargs):
                Customer.objects.create()
            """,
        },
        [("shop.signals:on_save", "shop.Order")],
    )
    assert brief(effects) == [("create", "shop.Customer", "shop.Order", None, False)]


def test_m2m_changed_types_the_instance_as_the_forward_model(tmp_path: Path) -> None:
    effects = scan(
        tmp_path,
        {
            "shop.signals": """
            def tags_changed(sender, instance, action, **kwargs):
                if action == "post_add":
                    instance.history.create()
            """,
        },
        [("shop.signals:tags_changed", "shop.Customer_tags")],
        signal=M2M_CHANGED,
    )
    assert brief(effects) == [
        ("create", "shop.HistoricalCustomer", "shop.Customer_tags", "action == 'post_add'", False)
    ]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("x = kwargs['obj']\n    x.save()", "unresolved"),
        ("kwargs['model'].objects.bulk_create([])", "unresolved"),
        ("getattr(instance, kwargs['field']).save()", "unresolved"),
        ("getattr(instance, 'customer').save()", "save"),
    ],
)
def test_what_cant_be_typed_stays_unresolved(tmp_path: Path, code: str, kind: str) -> None:
    effects = scan(
        tmp_path,
        {"shop.signals": f"def on_save(sender, instance, **kwargs):\n    {code}\n"},
        [("shop.signals:on_save", "shop.Order")],
    )
    assert [e.kind for e in effects] == [kind]


def test_unread_receivers_say_why(tmp_path: Path) -> None:
    unread: dict[str, str] = {}
    scan(tmp_path, {"shop.signals": "x = 1\n"}, [("shop.signals:gone", "shop.Order")], unread=unread)
    assert unread == {"shop.signals:gone": "its definition isn't in its module's source"}

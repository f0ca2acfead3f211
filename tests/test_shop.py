"""The demo project: the seed's User -> Profile example and the orders app's receivers."""

from __future__ import annotations

from typing import Any

from helpers import django_version, one, receivers

REQUIRED_TOP = {"signalscope", "django", "settings", "signals"}
REQUIRED_SIGNAL = {"name", "path", "category", "receivers"}
REQUIRED_RECEIVER = {"receiver", "sender", "dispatch_uid", "file", "line", "weak", "is_async", "dead", "pending"}


def test_json_has_the_documented_shape(shop: dict[str, Any]) -> None:
    import django

    import signalscope

    assert shop.keys() >= REQUIRED_TOP
    assert shop["schema"] == 1
    assert shop["signalscope"] == signalscope.__version__
    assert shop["django"] == django.get_version()
    assert shop["settings"] == "shop.settings"
    assert shop["settings_source"] == "manage.py"
    for signal in shop["signals"]:
        assert signal.keys() >= REQUIRED_SIGNAL
        for r in signal["receivers"]:
            assert r.keys() >= REQUIRED_RECEIVER


def test_seed_example_user_profile(shop: dict[str, Any]) -> None:
    post_save = [r for r in receivers(shop, "post_save") if r["sender"] == "auth.User"]
    assert [(r["receiver"], r["file"], r["line"], r["position"]) for r in post_save] == [
        ("accounts.signals:create_user_profile", "accounts/signals.py", 8, 0),
        ("accounts.signals:save_user_profile", "accounts/signals.py", 14, 1),
    ]
    for r in post_save:
        assert (r["weak"], r["is_async"], r["dead"], r["pending"], r["dispatch_uid"]) == (
            True,
            False,
            False,
            False,
            None,
        )
        assert r["kind"] == "function"


def test_signals_are_named_where_defined_and_categorised(shop: dict[str, Any]) -> None:
    by_path = {s["path"]: s for s in shop["signals"]}
    # accounts.signals imports post_save too: the defining module must win.
    assert "accounts.signals:post_save" not in by_path
    expected = {
        "django.db.models.signals:post_save": ("post_save", "model", True),
        "django.db.models.signals:m2m_changed": ("m2m_changed", "model", True),
        "django.db.models.signals:post_migrate": ("post_migrate", "migration", False),
        "django.core.signals:request_started": ("request_started", "request", False),
        "django.contrib.auth.signals:user_logged_in": ("user_logged_in", "auth", False),
        "django.db.backends.signals:connection_created": ("connection_created", "database", False),
        "orders.signals:order_placed": ("order_placed", "custom", False),
    }
    for path, (name, category, caching) in expected.items():
        signal = by_path[path]
        assert (signal["name"], signal["category"], signal["use_caching"]) == (name, category, caching)
    # Django's 20 that exist after setup (template_rendered needs django.test,
    # the 6.0 task signals need django.tasks) plus order_placed.
    assert len(shop["signals"]) == 21


def test_orders_receivers_of_every_kind(shop: dict[str, Any]) -> None:
    rows = receivers(shop)
    r = one(rows, receiver="orders.receivers:stamp_order_number")
    assert (r["signal"], r["sender"]) == ("django.db.models.signals:pre_save", "orders.Order")
    r = one(rows, receiver="orders.receivers:notify_warehouse")
    assert (r["dispatch_uid"], r["sender"]) == ("orders.notify_warehouse", "orders.Order")
    r = one(rows, receiver="orders.receivers:release_stock")
    assert r["signal"].endswith(":pre_delete")
    # lazy string sender, resolved once the model registered
    r = one(rows, receiver="orders.receivers:recalculate_total")
    assert (r["signal"], r["sender"], r["pending"]) == (
        "django.db.models.signals:post_delete",
        "orders.OrderLine",
        False,
    )
    r = one(rows, receiver="orders.receivers:tags_changed")
    assert (r["signal"], r["sender"]) == ("django.db.models.signals:m2m_changed", "orders.Order_tags")
    for name, signal in [
        ("merge_guest_cart", "user_logged_in"),
        ("clear_cart_cache", "user_logged_out"),
        ("count_failed_login", "user_login_failed"),
        ("start_request_timer", "request_started"),
        ("flush_order_metrics", "request_finished"),
    ]:
        r = one(rows, receiver=f"orders.receivers:{name}")
        assert r["signal"].endswith(":" + signal) and r["sender"] is None and r["sender_kind"] == "any"
    r = one(rows, receiver="orders.receivers:create_default_shipping_methods")
    assert (r["sender"], r["sender_kind"]) == ("<AppConfig: orders>", "object")
    r = one(rows, receiver="orders.receivers:send_order_confirmation")
    assert (r["is_async"], r["signal"], r["sender"]) == (True, "orders.signals:order_placed", None)
    r = one(rows, receiver="orders.receivers:invalidate_cache")
    assert (r["kind"], r["weak"], r["sender"], r["line"]) == ("partial", False, "orders.Product", 100)
    r = one(rows, receiver="orders.receivers:AuditTrail.__call__")
    assert (r["kind"], r["weak"], r["sender"], r["line"]) == ("callable", True, "orders.Order", 114)
    r = one(rows, receiver="orders.receivers:touch_search_index")
    assert (r["sender"], r["position"]) == (None, 0)


def test_receivers_come_in_django_call_order(shop: dict[str, Any]) -> None:
    rows = receivers(shop, "order_placed")
    # the any-sender receiver was connected first, so it runs first for Order too
    assert [(r["receiver"].split(":")[1], r["sender"], r["position"]) for r in rows] == [
        ("send_order_confirmation", None, 0),
        ("award_loyalty_points", "orders.Order", 1),
    ]
    post_migrate = receivers(shop, "post_migrate")
    django_ones = [r for r in post_migrate if r["receiver"].startswith("django.")]
    mine = one(post_migrate, receiver="orders.receivers:create_default_shipping_methods")
    assert mine["position"] == len(django_ones)


def test_django_receivers_are_listed(shop: dict[str, Any]) -> None:
    rows = receivers(shop)
    r = one(rows, receiver="django.contrib.auth.models:update_last_login")
    assert (r["dispatch_uid"], r["file"]) == ("update_last_login", "django/contrib/auth/models.py")
    assert one(rows, receiver="django.db:reset_queries")["signal"] == "django.core.signals:request_started"
    r = one(rows, receiver="django.contrib.contenttypes.management:inject_rename_contenttypes_operations")
    assert r["sender"] == "<AppConfig: contenttypes>"
    if django_version() >= (5, 1):
        r = one(rows, receiver="django.db.models.options:Options.setting_changed")
        assert r["kind"] == "method"

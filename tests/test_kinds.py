"""Every receiver kind Django accepts, read from fixtures/kinds on the installed Django."""

from __future__ import annotations

from typing import Any

from helpers import FIXTURES, one, receivers, signalscope

R = "catalog.receivers:"


def test_function_connected_to_two_signals(kinds: dict[str, Any]) -> None:
    rows = [r for r in receivers(kinds) if r["receiver"] == R + "author_changed"]
    assert sorted(r["signal"].split(":")[1] for r in rows) == ["post_save", "pre_save"]
    assert {(r["kind"], r["line"], r["sender"]) for r in rows} == {("function", 12, "catalog.Author")}


def test_bound_method(kinds: dict[str, Any]) -> None:
    r = one(receivers(kinds), receiver=R + "Indexer.on_save")
    assert (r["kind"], r["weak"], r["sender"], r["line"]) == ("method", True, "catalog.Book", 18)


def test_classmethod_and_staticmethod(kinds: dict[str, Any]) -> None:
    r = one(receivers(kinds), receiver=R + "Stats.bump")
    assert (r["kind"], r["line"], r["sender"]) == ("classmethod", 27, "catalog.Author")
    r = one(receivers(kinds), receiver=R + "Stats.touch")
    assert (r["kind"], r["line"], r["signal"]) == ("staticmethod", 31, "django.db.models.signals:pre_save")


def test_nested_function_and_strong_lambda(kinds: dict[str, Any]) -> None:
    r = one(receivers(kinds), receiver=R + "make_handler.<locals>.handler")
    assert (r["kind"], r["weak"], r["line"]) == ("function", False, 41)
    r = one(receivers(kinds), receiver=R + "<lambda>", sender="catalog.Author")
    assert (r["kind"], r["weak"], r["line"], r["dead"]) == ("lambda", False, 50, False)


def test_wrapped_function_points_at_the_original(kinds: dict[str, Any]) -> None:
    r = one(receivers(kinds), receiver=R + "book_deleted")
    assert (r["file"], r["line"]) == ("catalog/receivers.py", 62)


def test_one_function_under_two_dispatch_uids(kinds: dict[str, Any]) -> None:
    rows = [r for r in receivers(kinds) if r["receiver"] == R + "audit"]
    assert [(r["dispatch_uid"], r["position"]) for r in rows] == [("catalog.audit.1", 1), ("('catalog', 2)", 2)]


def test_pending_lazy_sender_with_a_typo(kinds: dict[str, Any]) -> None:
    r = one(receivers(kinds), receiver=R + "on_author")
    assert (r["pending"], r["sender"], r["sender_kind"], r["weak"], r["dead"]) == (
        True,
        "catalog.autor",
        "pending",
        True,
        False,
    )
    assert r["signal"] == "django.db.models.signals:post_save"


def test_m2m_through_sender(kinds: dict[str, Any]) -> None:
    r = one(receivers(kinds), receiver=R + "authors_changed")
    assert (r["sender"], r["sender_kind"]) == ("catalog.Book_authors", "model")


def test_async_function_and_async_partial(kinds: dict[str, Any]) -> None:
    rows = receivers(kinds, "catalog.signals:audited")
    assert [(r["kind"], r["is_async"], r["weak"], r["dispatch_uid"]) for r in rows] == [
        ("function", True, True, None),
        ("partial", True, False, "catalog.partial-async"),
    ]
    signal = next(s for s in kinds["signals"] if s["path"] == "catalog.signals:audited")
    assert (signal["class"], signal["category"]) == ("catalog.signals:AuditSignal", "custom")


def test_class_attribute_signal_and_class_sender(kinds: dict[str, Any]) -> None:
    (r,) = receivers(kinds, "catalog.signals:Inventory.restocked")
    assert (r["receiver"], r["sender"], r["sender_kind"]) == (R + "on_restock", "catalog.signals:Inventory", "object")
    signal = next(s for s in kinds["signals"] if s["path"] == "catalog.signals:Inventory.restocked")
    assert signal["name"] == "restocked"


def test_string_sender_callable_instance_and_dead_lambda(kinds: dict[str, Any]) -> None:
    rows = receivers(kinds, "catalog.signals:stock_changed")
    summary = [(r["receiver"], r["kind"], r["sender"], r["weak"], r["dead"], r["position"]) for r in rows]
    assert summary == [
        (R + "Notifier.__call__", "callable", None, False, False, 0),
        ("<dead>", "dead", None, True, True, 1),
        # Django keeps only id("warehouse"): no live object can be matched to it.
        (R + "on_warehouse", "function", "<unidentified sender>", True, False, 0),
    ]
    dead = rows[1]
    assert (dead["file"], dead["line"], dead["dispatch_uid"]) == (None, None, None)


def test_receiver_connected_in_urls_needs_url_loading(kinds: dict[str, Any]) -> None:
    r = one(receivers(kinds), receiver="kinds.urls:log_request_end")
    assert (r["dispatch_uid"], r["file"]) == ("kinds.urls.log_request_end", "kinds/urls.py")
    without = signalscope("list", "--json", "--no-urls", "--project", str(FIXTURES / "kinds"))
    assert without.returncode == 0, without.stderr
    assert not [r for r in receivers(without.json()) if r["receiver"] == "kinds.urls:log_request_end"]


def test_signal_kept_in_a_container_is_found_unnamed(kinds: dict[str, Any]) -> None:
    (signal,) = [s for s in kinds["signals"] if s["path"].startswith("<unnamed>:")]
    assert (signal["path"], signal["name"], signal["category"]) == ("<unnamed>:Signal#1", "<unnamed Signal>", "unnamed")
    assert [r["receiver"] for r in signal["receivers"]] == [R + "on_archived"]

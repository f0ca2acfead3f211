"""`--sender <user model>` keeps the auth signals Django sends with it: user_logged_in and user_logged_out.

django.contrib.auth's login() and logout() send them with
``sender=user.__class__`` (the user model); authenticate() sends
user_login_failed with ``sender=__name__``, the string "django.contrib.auth".
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES, python_snippet, receivers, signalscope

SHOP = str(FIXTURES / "shop")
LOGGED_IN = "django.contrib.auth.signals:user_logged_in"
LOGGED_OUT = "django.contrib.auth.signals:user_logged_out"
LOGIN_FAILED = "django.contrib.auth.signals:user_login_failed"


def _order(data: dict[str, Any], signal: str) -> list[tuple[int, str, str | None]]:
    return [(r["position"], r["receiver"], r["sender"]) for r in receivers(data, signal)]


@pytest.mark.parametrize("label", ["auth.User", "AUTH.user"])
def test_the_user_model_sends_user_logged_in_and_out(label: str) -> None:
    result = signalscope("list", "--json", "--project", SHOP, "--sender", label)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["user_model"] == "auth.User"
    assert _order(data, LOGGED_IN) == [
        (0, "django.contrib.auth.models:update_last_login", None),
        (1, "orders.receivers:merge_guest_cart", None),
    ]
    assert _order(data, LOGGED_OUT) == [(0, "orders.receivers:clear_cart_cache", None)]
    assert not receivers(data, LOGIN_FAILED)  # sent by the module name, not the user model
    assert "post_save" in {s["name"] for s in data["signals"]}


def test_user_login_failed_has_the_module_name_as_sender() -> None:
    data = signalscope("list", "--json", "--project", SHOP, "--sender", "'django.contrib.auth'").json()
    assert [s["name"] for s in data["signals"]] == ["user_login_failed"]
    assert _order(data, LOGIN_FAILED) == [(0, "orders.receivers:count_failed_login", None)]


def test_another_model_sends_no_auth_signal() -> None:
    data = signalscope("list", "--json", "--project", SHOP, "--sender", "orders.Order").json()
    assert not {LOGGED_IN, LOGGED_OUT, LOGIN_FAILED} & {s["path"] for s in data["signals"]}


def test_the_order_is_the_one_django_calls_for_a_send_from_the_user_model(tmp_path: Path) -> None:
    # A receiver for the user model between two for any sender: Django calls them in connect order.
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", root, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    with (root / "accounts" / "signals.py").open("a", encoding="utf-8") as handle:
        handle.write(
            textwrap.dedent(
                """

                from django.contrib.auth.signals import user_logged_in, user_logged_out


                @receiver(user_logged_in, sender=User)
                def greet_user(sender, **kwargs):
                    pass


                @receiver(user_logged_out, sender=User)
                def part_with_user(sender, **kwargs):
                    pass
                """
            )
        )
    code = textwrap.dedent(
        f"""
        import json
        from signalscope import api
        session = api.Session(api.ProjectOptions(project={str(root)!r}))
        listed = session.list(api.Filters(signals=("user_logged_in", "user_logged_out"), sender="auth.User"))
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        def called(signal):
            live = signal._live_receivers(get_user_model())
            if isinstance(live, tuple):  # Django 5.0+: (sync, async)
                live = [*live[0], *live[1]]
            return [f"{{r.__module__}}:{{r.__qualname__}}" for r in live]

        print(json.dumps({{
            "listed": {{s.path: [(c.position, c.receiver.path) for c in listed.connections_of(s.path)]
                       for s in listed.signals}},
            "django": {{"{LOGGED_IN}": called(user_logged_in), "{LOGGED_OUT}": called(user_logged_out)}},
        }}))
        """
    )
    found = json.loads(python_snippet(code))
    for signal in (LOGGED_IN, LOGGED_OUT):
        listed = found["listed"][signal]
        assert [position for position, _ in listed] == list(range(len(listed)))
        assert [path for _, path in listed] == found["django"][signal], signal
    assert [path for _, path in found["listed"][LOGGED_IN]] == [
        "django.contrib.auth.models:update_last_login",
        "accounts.signals:greet_user",
        "orders.receivers:merge_guest_cart",
    ]


def test_a_custom_user_model_is_the_sender(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "members").mkdir(parents=True)
    (root / "site_cfg").mkdir()
    (root / "manage.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_cfg.settings")\n', encoding="utf-8"
    )
    (root / "site_cfg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "site_cfg" / "settings.py").write_text(
        textwrap.dedent(
            """
            SECRET_KEY = "test-only"
            INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "members"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
            AUTH_USER_MODEL = "members.Member"
            USE_TZ = True
            """
        ),
        encoding="utf-8",
    )
    (root / "members" / "__init__.py").write_text("", encoding="utf-8")
    (root / "members" / "models.py").write_text(
        textwrap.dedent(
            """
            from django.contrib.auth.models import AbstractUser
            from django.contrib.auth.signals import user_logged_out
            from django.dispatch import receiver


            class Member(AbstractUser):
                pass


            @receiver(user_logged_out)
            def goodbye(sender, **kwargs):
                pass
            """
        ),
        encoding="utf-8",
    )
    result = signalscope("list", "--json", "--sender", "members.member", cwd=root)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["user_model"] == "members.Member"
    assert _order(data, LOGGED_IN) == [(0, "django.contrib.auth.models:update_last_login", None)]
    assert _order(data, LOGGED_OUT) == [(0, "members.models:goodbye", None)]
    other = signalscope("list", "--json", "--sender", "contenttypes.ContentType", cwd=root).json()
    assert not {LOGGED_IN, LOGGED_OUT} & {s["path"] for s in other["signals"]}


def test_old_registry_files_without_the_new_fields_still_read() -> None:
    from signalscope.model import dumps, loads, to_dict

    data = json.loads(signalscope("list", "--json", "--project", SHOP).stdout)
    assert data["load_steps"] == ["setup", "urls", "application"]
    data.pop("load_steps")
    data.pop("user_model")
    smap = loads(json.dumps(data))
    assert (smap.load_steps, smap.user_model) == ((), None)
    assert to_dict(loads(dumps(smap))) == to_dict(smap)


def test_graph_and_impact_send_the_auth_signals_from_the_user_model() -> None:
    graph = signalscope("graph", "--project", SHOP, "--sender", "auth.User", "-f", "json")
    assert graph.returncode == 0, graph.stderr
    data = graph.json()
    states = {n["id"]: n for n in data["nodes"] if n["kind"] == "state"}
    logged_in = next(i for i, n in states.items() if n["signal"] == LOGGED_IN)
    assert states[logged_in]["sender"] == "auth.User"
    sent_by = {e["source"] for e in data["edges"] if e["target"] == logged_in and e["kind"] == "sends"}
    assert sent_by == {"sender:auth.User"}
    called = [e["target"] for e in data["edges"] if e["source"] == logged_in and e["kind"] == "connected"]
    assert called == [
        "receiver:django.contrib.auth.models:update_last_login",
        "receiver:orders.receivers:merge_guest_cart",
    ]
    impact = signalscope("impact", "--project", SHOP, "--signal", "user_logged_in", "--sender", "auth.User")
    assert impact.returncode == 0, impact.stderr
    assert "user_logged_in(auth.User)" in impact.stdout
    assert "orders.receivers:merge_guest_cart" in impact.stdout

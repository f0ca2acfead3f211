"""Groups and details: sends grouped by the request or test they were made in, and the kwargs that tell sends apart."""

from __future__ import annotations

import json

from helpers import TESTS, python_snippet

PRELUDE = f"""
import sys, json; sys.path.insert(0, {str(TESTS)!r})
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField", SECRET_KEY="groups", ROOT_URLCONF="__main__",
    ALLOWED_HOSTS=["*"], MIDDLEWARE=[],
)
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.http import HttpResponse
from django.urls import path
from django.contrib.auth.models import Group, User
from signalscope.tracing import Tracer
from signalscope.tracing.groups import _patched
def view(request, **kw):
    User.objects.create(username="u" + str(User.objects.count()))
    return HttpResponse("ok", status=201)
async def aview(request, **kw):
    return HttpResponse("ok", status=202)
def boom(request):
    raise ValueError("no")
def plain(request, **kw):
    return HttpResponse("ok", status=203)
urlpatterns = [path("reset/<uidb64>/<token>/", view), path("a/<int:pk>/", aview), path("boom/", boom),
               path("p/<token>/", plain)]
def row(e):
    return [e.kind, e.label if e.kind not in ("send", "call") else e.signal.rpartition(":")[2], e.parent]
"""


def run(code: str) -> list[object]:
    return [json.loads(line) for line in python_snippet(PRELUDE + code).splitlines()]


def test_requests_group_their_sends_with_the_request_line_and_status_and_a_token_hidden() -> None:
    (events, restored) = run(
        """
from django.test import Client, AsyncClient
import asyncio
with Tracer(groups=True) as t:
    Client().get("/reset/MQ/abc-123-secret/?next=/x")
    asyncio.run(AsyncClient().get("/a/3/"))
    Client(raise_request_exception=False).get("/boom/")
    Client().get("/nowhere/")
print(json.dumps([row(e) for e in t.log().events if e.kind != "call"]))
print(json.dumps(_patched == []))
"""
    )
    groups = [e for e in events if e[0] == "request"]
    assert [g[1] for g in groups] == [
        "GET /reset/MQ/<redacted>/ 201",
        "GET /a/3/ 202",
        "GET /boom/ 500",
        "GET /nowhere/ 404",
    ]
    assert all(g[2] is None for g in groups)
    # Each request's own sends hang under it: request_started, the view's saves, request_finished.
    first_id = None
    for _kind, name, parent in events:
        if name == "request_started" and first_id is None:
            first_id = parent
    assert first_id is not None
    under_first = [name for kind, name, parent in events if parent == first_id]
    assert under_first[0] == "request_started" and under_first[-1] == "request_finished"
    assert "post_save" in under_first
    assert "abc-123-secret" not in json.dumps(events)
    assert restored is True  # the wrappers went with the tracer


def test_a_request_inside_a_test_is_a_group_inside_the_test_s_group() -> None:
    (events,) = run(
        """
import unittest
from django.test import Client
class T(unittest.TestCase):
    def test_it(self):
        Client().get("/reset/a/b/")
    def test_fails(self):
        Group.objects.create(name="g")
        self.fail("no")
with Tracer(groups=True) as t:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(T)
    unittest.TextTestRunner(stream=open("/dev/null", "w")).run(suite)
print(json.dumps([row(e) + [e.outcome] for e in t.log().events if e.kind != "call"]))
"""
    )
    by_label = {e[1]: e for e in events if e[0] in ("test", "request", "setup")}
    failing = by_label["__main__.T.test_fails"]
    assert failing[3] == "error" and by_label["__main__.T.test_it"][3] == "ok"
    request = by_label["GET /reset/a/<redacted>/ 201"]
    assert request[0] == "request"
    assert "setUpClass __main__.T" in by_label and "tearDownClass __main__.T" in by_label


def test_details_tell_sends_apart_and_show_no_pk() -> None:
    (details,) = run(
        """
from django.db.models.signals import m2m_changed
def heard(sender, **kwargs): pass
m2m_changed.connect(heard)  # Django sends m2m_changed only to a listener
with Tracer() as t:
    user = User.objects.create(username="ada")
    user.save(update_fields=["username", "email"])
    g1, g2 = Group.objects.create(name="a"), Group.objects.create(name="b")
    user.groups.add(g1, g2)
    User.objects.filter(pk=user.pk).delete()
    from django.dispatch import Signal
    custom = Signal()
    custom.connect(heard)
    custom.send(sender=None, action="s3cr3t-token", using="s3cr3t", created=True)  # its names mean anything
print(json.dumps([[e.signal.rpartition(":")[2], dict(e.details)] for e in t.log().events if e.kind == "send"]))
"""
    )
    saves = [d for name, d in details if name == "post_save"]
    assert saves[0]["created"] == "True" and saves[0]["update_fields"] == "None" and saves[0]["raw"] == "False"
    user_saves = [d for name, d in details if name == "post_save" and d.get("update_fields") == "email,username"]
    assert user_saves and user_saves[0]["created"] == "False"
    m2m = [d for name, d in details if name == "m2m_changed"]
    assert [(d["action"], d["pk_set"]) for d in m2m] == [("pre_add", "2"), ("post_add", "2")]
    deletes = [d for name, d in details if name == "pre_delete"]
    assert deletes and all(d["origin"] == "auth.User" for d in deletes)
    assert all(d["using"] == "default" for _, d in details if "using" in d)
    assert details[-1] == ["custom", {}] and "s3cr3t" not in json.dumps(details)


def test_asgi_requests_are_groups_too() -> None:
    """Django's own ASGIHandler, driven as an ASGI server drives it (Django 4.2 sends request_started in a thread)."""
    (labels,) = run(
        """
import asyncio
from django.core.handlers.asgi import ASGIHandler
async def serve(path):
    handler = ASGIHandler()
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [],
             "server": ("testserver", 80), "client": ("127.0.0.1", 1), "scheme": "http", "asgi": {"version": "3.0"}}
    sent = []
    queue = [{"type": "http.request", "body": b"", "more_body": False}]
    async def receive():
        if queue:
            return queue.pop()
        await asyncio.sleep(3600)
    async def send(message):
        sent.append(message)
    await handler(scope, receive, send)
    return sent[0]["status"]
with Tracer(groups=True) as t:
    statuses = [asyncio.run(serve("/p/tok/")), asyncio.run(serve("/a/4/"))]
events = t.log().events
groups = {e.id: e.label for e in events if e.kind == "request"}
inside = sorted({groups.get(e.parent) for e in events if e.kind == "send" and "request_" in e.signal})
print(json.dumps([statuses, sorted(groups.values()), inside]))
"""
    )
    statuses, groups, inside = labels
    assert statuses == [203, 202]
    assert groups == ["GET /a/4/ 202", "GET /p/<redacted>/ 203"]
    assert inside == groups  # request_started and request_finished of each are in its group

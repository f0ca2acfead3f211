"""What a trace records: no credential pk by default, values only when asked for, redacted deeply,
and never by running the program's own code (no query from a repr)."""

from __future__ import annotations

import json

from helpers import python_snippet

# A real project in a fresh process: sessions (a str pk that is a credential), a UUID-pk model.
PRELUDE = """
import json, uuid
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    SECRET_KEY="trace-secret-tests",
)
django.setup()
from django.core.management import call_command
call_command("migrate", run_syncdb=True, verbosity=0)
from django.db.models.signals import post_save, pre_delete
from django.dispatch import Signal
from signalscope.tracing import Tracer
from signalscope.render.trace import render_trace_json
"""


def snippet(code: str) -> str:
    return python_snippet(PRELUDE + code)


def test_a_credential_pk_never_reaches_a_default_trace() -> None:
    out = snippet(
        """
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth.models import Group
def heard(sender, **kw): pass
post_save.connect(heard)
with Tracer() as t:
    store = SessionStore()
    store["who"] = "ada"
    store.create()
    Group.objects.create(name="staff")
key = store.session_key
text = render_trace_json(t.log())
assert key and key not in text, "the session key is in the trace"
shown = [dict(e.kwargs)["instance"] for e in t.log().events if e.kind == "send" and e.signal.endswith("post_save")]
print(json.dumps(shown))
"""
    )
    assert json.loads(out) == ["sessions.Session(pk=<str>)", "auth.Group(pk=1)"]


def test_an_opentelemetry_span_gets_no_credential_pk() -> None:
    out = snippet(
        """
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from signalscope.tracing import otel
from django.contrib.sessions.backends.db import SessionStore
memory = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(memory))
def heard(sender, **kw): pass
post_save.connect(heard)
otel.instrument(provider)
store = SessionStore(); store.create()
otel.uninstrument()
attrs = [dict(s.attributes) for s in memory.get_finished_spans()]
assert store.session_key not in json.dumps(attrs, default=str)
print(json.dumps(sorted({a.get("django.signal.instance", "") for a in attrs} - {""})))
"""
    )
    assert json.loads(out) == ["sessions.Session(pk=<str>)"]


def test_a_uuid_pk_is_kept_and_a_meta_without_pk_is_recorded_by_type() -> None:
    out = snippet(
        """
from django.contrib.auth.models import Group
ping = Signal()
class Meta: label = "graphene.Node"
class Node:  # graphene-style: a _meta, no pk
    _meta = Meta()
class WithUuid:
    pass
group = Group(pk=7)
def heard(sender, **kw): pass
ping.connect(heard)
with Tracer() as t:
    ping.send(sender=None, instance=Node())
    ping.send(sender=None, instance=group)
    ping.send(sender=None, instance=uuid.UUID(int=5))
events = [e for e in t.log().events if e.kind == "send"]
print(json.dumps([dict(e.kwargs)["instance"] for e in events]))
"""
    )
    assert json.loads(out) == ["Node", "auth.Group(pk=7)", "UUID"]


def test_capture_values_redacts_deeply() -> None:
    out = snippet(
        """
from django.test.signals import setting_changed
ping = Signal()
def heard(sender, **kw): pass
ping.connect(heard); setting_changed.connect(heard)
environ = {
    "PATH_INFO": "/login/", "HTTP_COOKIE": "sessionid=abc123cookie", "HTTP_AUTHORIZATION": "Bearer tok-999",
    "DATABASE_URL": "postgres://app:dbpass777@db:5432/app", "nested": [{"password": "pw-555", "ok": 1}],
}
with Tracer(capture_values=True) as t:
    ping.send(sender=None, environ=environ, api_token="tok-1", amount=5, note=b"plain")
    setting_changed.send(sender=None, setting="SECRET_KEY", value="sk-4444", enter=True)
    setting_changed.send(sender=None, setting="STRIPE_API_KEY", value="sk-4445", enter=True)
    setting_changed.send(sender=None, setting="DATABASES", value={"default": {"PASSWORD": "pw-666"}}, enter=True)
    setting_changed.send(sender=None, setting="DEBUG", value=True, enter=True)
text = render_trace_json(t.log())
for secret in ("abc123cookie", "tok-999", "dbpass777", "pw-555", "tok-1", "sk-4444", "sk-4445", "pw-666"):
    assert secret not in text, secret
print(json.dumps([dict(e.kwargs) for e in t.log().events if e.kind == "send"]))
"""
    )
    first, secret_key, api_key, databases, debug = json.loads(out)
    assert first["api_token"] == "<redacted>" and first["amount"] == "5" and first["note"] == "b'plain'"
    assert "'HTTP_COOKIE': <redacted>" in first["environ"]
    assert "'HTTP_AUTHORIZATION': <redacted>" in first["environ"]
    assert "'postgres://app:<redacted>@db:5432/app'" in first["environ"]
    assert "'PATH_INFO': '/login/'" in first["environ"]
    assert "[{'password': <redacted>, 'ok': 1}]" in first["environ"]
    assert secret_key["value"] == "<redacted>" and api_key["value"] == "<redacted>"
    assert databases["value"] == "{'default': {'PASSWORD': <redacted>}}"
    assert debug["value"] == "True"


def test_capture_values_runs_no_query_and_no_repr_of_the_program() -> None:
    out = snippet(
        """
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
def heard(sender, **kw): pass
pre_delete.connect(heard, sender=Group)
class Loud:
    def __repr__(self): raise AssertionError("the tracer called the program's __repr__")
ping = Signal(); ping.connect(heard)
def deleting(traced):
    Group.objects.bulk_create([Group(name=f"g{i}") for i in range(3)])
    with CaptureQueriesContext(connection) as queries:
        if traced:
            with Tracer(capture_values=True) as t:
                Group.objects.filter(name__startswith="g").delete()
                ping.send(sender=None, thing=Loud(), manager=Group.objects)
        else:
            Group.objects.filter(name__startswith="g").delete()
    return len(queries), (t.log() if traced else None)
untraced, _ = deleting(False)
traced, log = deleting(True)
origins = sorted({dict(e.kwargs).get("origin") for e in log.events if e.kind == "send"} - {None})
things = [dict(e.kwargs) for e in log.events if e.kind == "send" and "thing" in dict(e.kwargs)]
print(json.dumps([untraced, traced, origins, things[0]["thing"], things[0]["manager"]]))
"""
    )
    untraced, traced, origins, thing, manager = json.loads(out)
    assert traced == untraced
    assert origins == ["<QuerySet of auth.Group>"]
    assert thing == "<__main__.Loud>"
    assert manager == "<GroupManager of auth.Group>"


def test_the_pk_policy() -> None:
    import uuid

    from signalscope.tracing.values import pk_text

    assert pk_text(42) == "42"
    assert pk_text(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert pk_text("a3f9session") == "<str>"
    assert pk_text(True) == "<bool>"
    assert pk_text(None) == "None"  # not saved yet


def test_capture_values_keeps_row_values_and_string_pks_out() -> None:
    # pre_init's args are a row's columns (Model.from_db): the session key and the session's data.
    out = snippet(
        """
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db.models.signals import pre_init
def heard(sender, **kw): pass
pre_init.connect(heard)
store = SessionStore(); store["who"] = "ada"; store.create()
with Tracer(capture_values=True, exclude=()) as t:
    loaded = Session.objects.get(pk=store.session_key)
text = render_trace_json(t.log())
assert store.session_key not in text and loaded.session_data not in text
print(json.dumps([dict(e.kwargs) for e in t.log().events if e.kind == "send" and e.signal.endswith(":pre_init")]))
"""
    )
    (pre_init,) = json.loads(out)
    assert pre_init["args"] == "(<str>, <str>, <datetime>)"


def test_pk_sets_follow_the_pk_policy() -> None:
    from signalscope.tracing.values import captured_kwargs

    shown = dict(captured_kwargs({"pk_set": {"slug-secret", 3}, "action": "post_add", "args": ("a",)}))
    assert shown == {"pk_set": "{3, <str>}", "action": "'post_add'", "args": "(<str>,)"}

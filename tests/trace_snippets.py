"""Code run in fresh processes by test_trace.py: a minimal configured Django and helpers."""

__all__ = ["ORIGINALS", "Signal", "Tracer", "assert_restored"]

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    SECRET_KEY="trace-tests",
)
django.setup()

from django.dispatch import Signal  # noqa: E402

from signalscope.tracing import Tracer  # noqa: E402

ORIGINALS = {
    name: Signal.__dict__.get(name) for name in ("send", "send_robust", "asend", "asend_robust", "_live_receivers")
}


def assert_restored():
    for name, original in ORIGINALS.items():
        assert Signal.__dict__.get(name) is original, f"Signal.{name} was not restored"

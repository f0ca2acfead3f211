"""The Django app's AppConfig: it registers signalscope's rules as system checks (tag "signals")."""

from __future__ import annotations

from django.apps import AppConfig


class SignalscopeConfig(AppConfig):
    name = "signalscope.contrib.django"
    label = "signalscope"
    verbose_name = "signalscope"

    def ready(self) -> None:
        from django.core import checks

        from .checks import signal_checks

        # Deployment-independent and cheap enough for every `manage.py check`, but it
        # reads source: only when asked for all checks or the "signals" tag.
        checks.register(signal_checks, "signals")

"""signalscope's rules as Django system checks (tag "signals")."""

from __future__ import annotations

from typing import Any

from django.core import checks

from ...model.check import RULES


def signal_checks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Run `signalscope check`'s rules on this (set-up) project; one CheckMessage per finding."""
    from ... import api
    from ...errors import SignalscopeError

    try:
        findings = api.Session.of(api.load_project()).check()
    except SignalscopeError as exc:
        return [checks.Warning(f"signalscope could not check the signals: {exc.message}", id="signalscope.W000")]
    messages: list[checks.CheckMessage] = []
    for finding in findings:
        rule = RULES[finding.rule]
        level = checks.Error if rule.severity == "error" else checks.Warning
        where = f"{finding.file}:{finding.line}: " if finding.file else ""
        number = finding.rule[2:]  # SS001 -> 001
        messages.append(
            level(
                f"{where}{finding.message}",
                hint=f"{rule.title} ({finding.rule}). {rule.fix}",
                obj=finding.receiver or finding.signal or "signals",
                id=f"signalscope.{'E' if rule.severity == 'error' else 'W'}{number}",
            )
        )
    return messages

"""signalscope's rules as Django system checks (tag "signals"): Warnings, or Errors as SIGNALSCOPE says."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from django.core import checks

from ...model.check import RULES, SEVERITIES

#: The key of the SIGNALSCOPE setting that turns findings into checks.Error: None, "error" or "warning".
FAIL_ON_KEY = "CHECKS_FAIL_ON"
#: The id of the Warning given when signalscope itself could not check (its error, or a bug in it).
COULD_NOT_CHECK = "signalscope.W000"
#: The id of the Warning given for a SIGNALSCOPE setting that signalscope cannot use.
BAD_SETTING = "signalscope.W100"


def signal_checks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Run `signalscope check`'s rules on this (set-up) project; one CheckMessage per finding.

    Findings are Warnings, so that they never stop `migrate`, `runserver` or
    `test` (Django's commands stop on Errors only); SIGNALSCOPE["CHECKS_FAIL_ON"]
    makes those at or above a severity Errors, for CI. The id is the rule's
    (signalscope.E001 for SS001, W for a warning rule) whatever the level, so
    SILENCED_SYSTEM_CHECKS works the same either way. Never raises: a bad
    setting and any exception while checking are each one Warning.
    """
    try:
        fail_on, problem = _fail_on()
    except Exception as exc:  # a debugging tool must not stop the project: nothing escapes a system check
        fail_on, problem = None, _could_not_check(exc)
    messages = [problem] if problem is not None else []
    try:
        messages.extend(_finding_messages(fail_on))
    except Exception as exc:
        messages.append(_could_not_check(exc))
    return messages


def _finding_messages(fail_on: str | None) -> list[checks.CheckMessage]:
    """Run the rules and return one message per finding, an Error when its severity is at or above `fail_on`."""
    from ... import api

    findings = api.Session.of(api.load_project()).check()
    floor = len(SEVERITIES) if fail_on is None else SEVERITIES.index(fail_on)
    messages: list[checks.CheckMessage] = []
    for finding in findings:
        rule = RULES[finding.rule]
        level = checks.Error if SEVERITIES.index(rule.severity) >= floor else checks.Warning
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


def _fail_on() -> tuple[str | None, checks.CheckMessage | None]:
    """Read SIGNALSCOPE["CHECKS_FAIL_ON"]: the severity, or None and a Warning saying what is wrong with it."""
    from django.conf import settings

    config = getattr(settings, "SIGNALSCOPE", None)
    if config is None:
        return None, None
    if not isinstance(config, Mapping):
        return None, _bad_setting(f"SIGNALSCOPE must be a dict, not {type(config).__name__} {config!r}")
    if FAIL_ON_KEY not in config:
        close = difflib.get_close_matches(FAIL_ON_KEY, [str(key) for key in config], n=1)
        if close:  # CHECK_FAIL_ON would otherwise change nothing, silently: the findings would not fail CI
            return None, _bad_setting(f"SIGNALSCOPE has the key {close[0]!r}, not {FAIL_ON_KEY!r}", [FAIL_ON_KEY])
        return None, None
    value = config[FAIL_ON_KEY]
    if value is None or value in SEVERITIES:
        return value, None
    choices = ", ".join(repr(s) for s in (*reversed(SEVERITIES), None))
    close = [s for s in SEVERITIES if isinstance(value, str) and value.strip().lower() == s]
    return None, _bad_setting(f"SIGNALSCOPE[{FAIL_ON_KEY!r}] is {value!r}, not one of {choices}", close)


def _bad_setting(problem: str, close: list[str] | None = None) -> checks.Warning:
    """Return the Warning for a SIGNALSCOPE that signalscope cannot use; `close` is what it may have meant."""
    meant = f"Did you mean {close[0]!r}? " if close else ""
    return checks.Warning(
        f"{problem}: signalscope's findings stay Warnings.",
        hint=f'{meant}Use SIGNALSCOPE = {{"{FAIL_ON_KEY}": "error"}} (findings of error rules become Errors), '
        '"warning" (every finding becomes an Error) or None (all stay Warnings, the default).',
        obj="settings.SIGNALSCOPE",
        id=BAD_SETTING,
    )


def _could_not_check(exc: Exception) -> checks.Warning:
    """Return the one Warning that stands for `exc`, raised while checking: its message, or its type for a bug."""
    from ...errors import SignalscopeError

    if isinstance(exc, SignalscopeError):
        return checks.Warning(
            f"signalscope could not check the signals: {exc.message}", hint=exc.hint, id=COULD_NOT_CHECK
        )
    return checks.Warning(
        f"signalscope could not check the signals: {type(exc).__name__}: {exc}",
        hint="This is a bug in signalscope; `signalscope check --traceback` shows where. Please report it.",
        id=COULD_NOT_CHECK,
    )

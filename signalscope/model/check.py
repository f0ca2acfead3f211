"""Findings of `signalscope check` and the rules that make them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RULES", "SEVERITIES", "Finding", "Rule", "at_or_above"]

#: Severities, mildest first.
SEVERITIES = ("warning", "error")


@dataclass(frozen=True, slots=True)
class Rule:
    """A check: its stable id, severity, title, and the documentation of why and how to fix."""

    id: str
    severity: str
    title: str
    why: str
    fix: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "SS001",
            "error",
            "receiver declared but never connected",
            "A function decorated with @receiver (or passed to .connect() in its module) is not connected "
            "to any signal: it never runs. Usually its module is never imported, because the app's "
            "AppConfig.ready() does not import it.",
            "Import the module in the app's AppConfig.ready() (e.g. `from . import signals`), and make sure "
            "INSTALLED_APPS names that AppConfig.",
        ),
        Rule(
            "SS002",
            "error",
            "duplicate connection",
            "The same function is connected more than once to the same signal and sender, so it runs "
            "several times per send: double emails, double charges. Causes: a module imported under two "
            "names, connect() in a loop or in a function called twice, different dispatch_uids.",
            "Connect it once, with one dispatch_uid, from a module imported once (from AppConfig.ready()).",
        ),
        Rule(
            "SS003",
            "error",
            "dead or doomed weak receiver",
            "Signals hold receivers by weak reference by default. A lambda or a function defined inside "
            "another function is garbage-collected as soon as nothing else holds it, and then silently "
            "never runs (or runs until a garbage collection, then stops).",
            "Connect a module-level function, or pass weak=False.",
        ),
        Rule(
            "SS004",
            "error",
            "unresolved lazy sender",
            "A sender given as 'app_label.ModelName' waits until that model is registered. A typo, or an "
            "app that is not installed, means it waits forever: the receiver never runs and Django says "
            "nothing.",
            "Fix the label (or import the model class and pass it), or install the app.",
        ),
        Rule(
            "SS005",
            "warning",
            "cascade cycle",
            "A receiver writes a model whose signal leads, directly or through other receivers, back to "
            "the receiver itself. Unless a condition stops it, that is infinite recursion; even guarded, "
            "it runs the chain twice.",
            "Write with QuerySet.update() (which sends no signal), guard the write, or use update_fields "
            "and check it in the receiver.",
        ),
        Rule(
            "SS006",
            "warning",
            "receiver on every sender of a hot signal",
            "pre_init and post_init are sent for every model instance created or loaded (every row of "
            "every query); pre_save and post_save for every save of every model. A receiver with no "
            "sender runs on all of them, which costs time on every query or save in the project.",
            "Pass sender= the model it is about.",
        ),
        Rule(
            "SS007",
            "error",
            "sender that never sends this signal",
            "The receiver listens for a sender that Django never uses for that signal: m2m_changed is "
            "sent with the many-to-many field's through model as sender, not the model that has the "
            "field. The receiver never runs.",
            "Use the through model as sender, e.g. sender=Order.tags.through.",
        ),
    )
}


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem found: where, which rule, and a message that says what to do."""

    file: str | None  # relative to its sys.path entry, like ReceiverRef.file; None when unknown
    line: int | None
    rule: str  # "SS001"
    message: str
    signal: str | None = None  # the signal's path, when one is involved
    receiver: str | None = None  # the receiver's path, when one is involved
    # `file` relative to the repository root (the folder holding ``.git`` above the project), POSIX
    # style: where CI annotations and code scanning look for it. None when no repository holds it.
    repo_file: str | None = None

    @property
    def shown_file(self) -> str | None:
        """Return the file to show: relative to the repository root when one holds it, else `file`."""
        return self.repo_file if self.repo_file is not None else self.file

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity


def at_or_above(findings: Iterable[Finding], level: str) -> list[Finding]:
    """Return the findings whose severity is `level` or worse."""
    floor = SEVERITIES.index(level)
    return [f for f in findings if SEVERITIES.index(f.severity) >= floor]

"""The SignalscopeError tree: every failure a user can cause, with its exit code and a hint."""

from __future__ import annotations

__all__ = [
    "RERUN_FOR_TRACEBACK",
    "IntrospectionError",
    "MissingExtra",
    "OutputError",
    "ProjectLoadError",
    "SettingsNotFound",
    "SignalscopeError",
    "StdoutClosed",
    "TraceError",
    "UnknownFormat",
    "UnknownName",
    "UsageError",
    "sentence",
]

#: How a hint ends when the whole traceback would help: shown as a plain full stop with --traceback,
#: which has printed it (cli.main).
RERUN_FOR_TRACEBACK = "; rerun with --traceback to see the whole traceback."


def sentence(message: str) -> str:
    """Return `message` ending in one full stop, as every error message is shown.

    Messages end in text signalscope doesn't write (an exception's, git's),
    which may have a full stop of its own or none: a message ending in "."
    (not "..", whose extra stops go), "?", "!" or an ellipsis is kept; a ":",
    ";" or "," at its end becomes the full stop; anything else gets one.
    """
    text = message.rstrip()
    if text.endswith(("...", "…")):
        return text
    if text.endswith("."):
        return text.rstrip(".") + "."
    if text.endswith(("?", "!")):
        return text
    if text.endswith((":", ";", ",")):
        return text[:-1].rstrip() + "."
    return text + "."


class SignalscopeError(Exception):
    """Base of every error signalscope reports to a user without a traceback.

    `message` says what went wrong, `hint` what to do about it. `exit_code`
    is what the command line exits with (2: usage or project-load error).
    """

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UsageError(SignalscopeError):
    """The command line or API call itself is wrong."""


class UnknownName(UsageError):
    """A signal, model, app or receiver name matches nothing; carries close matches."""

    def __init__(self, what: str, name: str, choices: list[str] | tuple[str, ...]) -> None:
        import difflib

        self.what = what
        self.name = name
        self.suggestions = difflib.get_close_matches(name, sorted(set(choices)), n=3, cutoff=0.6)
        hint = None
        if self.suggestions:
            hint = "Did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(f"Unknown {what} {name!r}.", hint=hint)


class SettingsNotFound(SignalscopeError):
    """No settings module could be determined for the project."""


class ProjectLoadError(SignalscopeError):
    """The settings module or the project's code failed to import or set up."""


class IntrospectionError(SignalscopeError):
    """Django's dispatcher holds something signalscope cannot read."""


class UnknownFormat(UsageError):
    """An output format nobody registered."""


class MissingExtra(SignalscopeError):
    """An optional dependency (Python package or program) is not installed."""


class OutputError(SignalscopeError):
    """An output file could not be written."""


class StdoutClosed(OutputError):
    """stdout's reader went away (``| head``): the output was not all written, and that needs no message."""


class TraceError(SignalscopeError):
    """Tracing could not be started or stopped."""

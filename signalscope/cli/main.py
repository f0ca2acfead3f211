"""The entry point: run the typer app and turn signalscope's errors into exit codes.

Exit codes: 0 ok; 1 findings or failed assertions; 2 usage or project-load
errors; 70 an internal error (a bug: the traceback is shown with --traceback).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

from .._files import stdout_error
from ..errors import RERUN_FOR_TRACEBACK, SignalscopeError, StdoutClosed, sentence
from .console import error

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "exit_as_program",
    "main",
    "reporting_errors",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70


@contextlib.contextmanager
def reporting_errors(*, show_traceback: bool = False) -> Iterator[None]:
    """Turn exceptions raised in the block into a message on stderr and an exit code.

    A SignalscopeError prints its message and hint and exits with its
    `exit_code`, but a closed stdout (``| head``) exits quietly; anything
    else is a bug in signalscope: exit 70.
    """
    import typer

    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except SignalscopeError as exc:
        raise typer.Exit(_report(exc, show_traceback=show_traceback)) from None
    except KeyboardInterrupt:
        error("signalscope: interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        message = sentence(f"signalscope: internal error: {type(exc).__name__}: {exc}")
        if show_traceback:
            traceback.print_exc()
            error(message)
        else:
            error(f"{message}\nThis is a bug in signalscope; rerun with --traceback and report it.")
        raise typer.Exit(EXIT_INTERNAL) from None


def _report(exc: SignalscopeError, *, show_traceback: bool) -> int:
    """Print `exc`'s message and hint on stderr (nothing for a closed stdout); return its exit code.

    This is where every error message is shown, so this is where it gets its one full stop (`sentence`).
    """
    if show_traceback:
        traceback.print_exc()
    if not isinstance(exc, StdoutClosed):
        error(f"signalscope: error: {sentence(exc.message)}")
        if exc.hint:
            hint = exc.hint
            if show_traceback and hint.endswith(RERUN_FOR_TRACEBACK):  # it is printed above
                hint = hint[: -len(RERUN_FOR_TRACEBACK)] + "."
            error(hint)
    return exc.exit_code


def main(argv: list[str] | None = None) -> None:
    """Run the command line (console script `signalscope`)."""
    from .app import app

    args = argv if argv is not None else sys.argv[1:]
    # typer builds every command's options on each run; when the command is
    # named, build only that one (every root option is a flag, so the first
    # word that is not an option is the command). `signalscope --help` and
    # shell completion name no command and still see them all.
    named = next((arg for arg in args if not arg.startswith("-")), None)
    if any(command.name == named for command in app.registered_commands):
        app.registered_commands = [command for command in app.registered_commands if command.name == named]
    try:
        app(args=args, prog_name="signalscope")
    except SignalscopeError as exc:  # --version's output, written while the options are parsed
        sys.exit(_report(exc, show_traceback=False))
    except OSError as exc:  # --help's, written by rich; each command's own output fails in reporting_errors
        sys.exit(_report(stdout_error(exc), show_traceback=False))


def exit_as_program(status: int) -> None:
    """Exit with a traced program's `status`; -N (tracing.runner.INTERRUPTED) ends this process by signal N.

    Python ends a program stopped by an uncaught KeyboardInterrupt by killing
    itself with SIGINT, once its traceback is printed and its threads and atexit
    handlers are done: a shell then sees the signal and stops a script too,
    where an exit status of 130 would have it carry on. The report is written by then.
    """
    import signal

    import typer

    if status >= 0:
        raise typer.Exit(status)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing left to keep
            stream.flush()
    if os.name == "posix":
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    # Where no signal can end it (Windows), python exits with STATUS_CONTROL_C_EXIT, else 128 + N.
    raise typer.Exit(0xC000013A if os.name == "nt" else 128 - status)

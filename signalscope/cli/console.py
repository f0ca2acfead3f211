"""Terminal facts for the CLI: colour, width, progress; all decided here, once."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

__all__ = ["error", "is_tty", "progress", "say_written", "use_color", "width", "write_output", "write_stdout"]

from .._files import is_descriptor, write_output, write_stdout  # the last two re-exported for the commands


def is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_color(stream: TextIO) -> bool:
    """Return whether to colour `stream`: a terminal, no NO_COLOR, not TERM=dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return is_tty(stream)


def width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


@contextlib.contextmanager
def progress(message: str) -> Iterator[Callable[[str], None]]:
    """Show a spinner with `message` on stderr while the block runs, on a terminal only.

    The block gets a function that replaces the message, to name each step
    that takes time as it starts ("Laying out 2,000 nodes with Graphviz…").
    """
    if not is_tty(sys.stderr) or os.environ.get("TERM") == "dumb":
        yield lambda message: None
        return
    from rich.console import Console

    console = Console(file=sys.stderr, no_color=not use_color(sys.stderr))
    with console.status(message, spinner="dots") as status:
        yield lambda message: status.update(message)


def say_written(path: str | None, *, quiet: bool, detail: str = "") -> None:
    """Say on stderr that the file `path` was written: one "signalscope: wrote PATH" line, `detail` after it.

    Nothing with `quiet`, and nothing for stdout or a descriptor named as is
    (``-``, /dev/stderr): the output itself is there to see.
    """
    if not quiet and not is_descriptor(path):
        error(f"signalscope: wrote {path}" + (f" ({detail})" if detail else ""))


def error(message: str) -> None:
    """Write `message` on stderr, each line with its control characters escaped.

    Messages quote names from the project and from the command line (an
    unknown sender, a file that failed to import, the error it raised): they
    are shown, never obeyed by the terminal.
    """
    from ..model.escaping import escape_controls

    lines = message.rstrip("\n").split("\n")
    try:
        sys.stderr.write("\n".join(escape_controls(line) for line in lines) + "\n")
        sys.stderr.flush()
    except OSError:  # stderr is full or closed: nowhere to say it; the exit code still does
        pass

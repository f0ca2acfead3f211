"""Terminal facts for the CLI: colour, width, progress; all decided here, once."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from typing import TextIO

__all__ = ["error", "is_tty", "progress", "use_color", "width", "write_output", "write_stdout"]


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
def progress(message: str) -> Iterator[None]:
    """Show a spinner with `message` on stderr while the block runs, on a terminal only."""
    if not is_tty(sys.stderr) or os.environ.get("TERM") == "dumb":
        yield
        return
    from rich.console import Console

    console = Console(file=sys.stderr, no_color=not use_color(sys.stderr))
    with console.status(message, spinner="dots"):
        yield


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def write_output(path: str | None, data: str | bytes) -> None:
    """Write `data` to the file `path` atomically, or to stdout when `path` is None or "-".

    The file appears whole or not at all: the data goes to a temporary file
    beside it, renamed over it at the end; on failure the temporary file is
    removed. Binary data is not written to a terminal.

    Raises OutputError.
    """
    import tempfile

    from ..errors import OutputError

    if path is None or path == "-":
        if isinstance(data, bytes):
            if is_tty(sys.stdout):
                raise OutputError(
                    "Not writing binary image data to a terminal.", hint="Name a file with -o, e.g. -o signals.png."
                )
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            write_stdout(data)
        return
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    tmp = None
    try:
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=".signalscope-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
        # mkstemp makes the file private (0600); give it a new file's usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(
            f"Can't write {path}: {reason}.", hint="Check that the folder exists and is writable."
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def error(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()

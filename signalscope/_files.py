"""Writing output files: atomically, or to stdout."""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["write_output"]


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def write_output(path: str | None, data: str | bytes) -> None:
    """Write `data` to the file `path` atomically, or to stdout when `path` is None or "-".

    The file appears whole or not at all: the data goes to a temporary file
    beside it, renamed over it at the end; on failure the temporary file is
    removed. Binary data is not written to a terminal.

    Raises OutputError.
    """
    import tempfile

    from .errors import OutputError

    if path is None or path == "-":
        if isinstance(data, bytes):
            if _is_tty(sys.stdout):
                raise OutputError(
                    "Not writing binary image data to a terminal.", hint="Name a file with -o, e.g. -o signals.png."
                )
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
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

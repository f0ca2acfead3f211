"""Writing output files: atomically for regular files, straight through for devices, FIFOs and stdout.

The one rule, for every file signalscope writes (``-o`` of every command,
report folders, snapshots, the pytest plugin's files):

- ``-`` (or None) is stdout; ``/dev/stdout``, ``/dev/stderr`` and
  ``/dev/fd/N`` are written to that descriptor as it is, never reopened
  (reopening a redirected stdout would truncate what the shell appended to);
- a symlink is followed: its target is written, the link stays a link;
- a new file, or an existing regular file, is written atomically: a
  temporary file beside it, renamed over it at the end, with the existing
  file's mode (and, where allowed, owner and group) kept;
- a regular file with other hard links is rewritten in place, so that every
  name still shows the same file;
- a character device or a FIFO is written straight through;
- anything else (a folder, a block device, a socket) is refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .errors import OutputError

__all__ = [
    "LazyOutputStream",
    "check_output",
    "check_output_folder",
    "is_descriptor",
    "make_folder",
    "open_output_stream",
    "stdout_error",
    "write_output",
    "write_output_chunks",
    "write_stdout",
]

_FD_ALIASES = {"/dev/stdout": 1, "/dev/stderr": 2}


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _error(path: str, reason: str, hint: str | None = "Check that the folder exists and is writable.") -> Exception:
    from .errors import OutputError

    return OutputError(f"Can't write {path}: {reason}.", hint=hint)


def _descriptor(path: str) -> int | None:
    """The descriptor `path` names as is (/dev/stdout, /dev/fd/3, /proc/self/fd/3), or None."""
    if path in _FD_ALIASES:
        return _FD_ALIASES[path]
    for prefix in ("/dev/fd/", "/proc/self/fd/"):
        if path.startswith(prefix) and path[len(prefix) :].isdigit():
            return int(path[len(prefix) :])
    return None


def is_descriptor(path: str | None) -> bool:
    """Return whether `path` is stdout ("-", None) or names a descriptor as it is (/dev/stderr, /dev/fd/3)."""
    return path is None or path == "-" or _descriptor(path) is not None


def _kind(target: str) -> tuple[str, os.stat_result | None]:
    """Classify what `target` (symlinks resolved) is: new, regular, stream, or refused."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return "new", None
    except OSError as exc:  # a symlink loop, a folder that can't be searched
        raise _error(target, exc.strerror or str(exc)) from exc
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return "regular", info
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream", info
    return "refused", info


def _classify(path: str) -> tuple[str, str, os.stat_result | None]:
    """Resolve `path`'s symlinks; return the target, its kind (new, regular, stream) and its stat.

    Raises OutputError for what is never written: a folder, a block device, a socket.
    """
    target = os.path.realpath(path)
    kind, info = _kind(target)
    if kind == "refused":
        assert info is not None
        raise _refusal(path, info)
    if path.endswith(("/", os.sep)):  # realpath drops the slash: `-o out.json/` would write out.json
        raise _error(path, "it ends in a slash but names no folder", hint="Name a file, or - for stdout.")
    return target, kind, info


def _refusal(path: str, info: os.stat_result) -> Exception:
    mode = info.st_mode
    what = (
        "it is a folder"
        if stat.S_ISDIR(mode)
        else "it is a block device"
        if stat.S_ISBLK(mode)
        else "it is a socket"
        if stat.S_ISSOCK(mode)
        else "it is not a regular file"
    )
    return _error(path, what, hint="Name a regular file, a new file, or - for stdout.")


def check_output(path: str | None) -> None:
    """Check, before any work, that `path` could be written; do nothing to it.

    Raises OutputError when it names a folder, a block device or a socket,
    or when its folder is missing or not writable.
    """
    if path is None or path == "-" or _descriptor(path) is not None:
        return
    target, kind, _ = _classify(path)
    if kind == "stream":
        return
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        # Name the folder as given; through a symlink, the folder its target is missing.
        shown = folder if os.path.islink(path) else (os.path.dirname(path) or ".")
        raise _error(path, f"there is no folder {shown}")
    if kind == "new" and not os.access(folder, os.W_OK):
        raise _error(path, "its folder is not writable")
    if kind == "regular" and not os.access(target, os.W_OK):
        raise _error(path, "it is not writable")


def write_output(path: str | None, data: str | bytes) -> None:
    """Write `data` to `path` by the module's rule, or to stdout when `path` is None or "-".

    A regular file appears whole or not at all; on failure nothing is left
    behind. Binary data is not written to a terminal.

    Raises OutputError.
    """
    write_output_chunks(path, (data,))


def write_output_chunks(path: str | None, chunks: Iterable[str | bytes]) -> None:
    """Write `chunks`, each as it comes, to `path` by the module's rule (None or "-": stdout).

    What write_output does with their text joined, without ever holding it
    whole: a regular file is written to a temporary file beside it, renamed
    over it once the last chunk is written, so it appears whole or not at
    all; an error while the chunks are made (the renderer's, raised
    through) or written leaves nothing behind, and an existing file as it
    was. A FIFO, a device or stdout gets each chunk as it comes (and, on
    such an error, what came before it).

    Raises OutputError, and what taking the chunks raises.
    """
    if path is None or path == "-" or _descriptor(path) == 1:
        for data in chunks:
            write_stdout(data)
        return
    fd = _descriptor(path)
    if fd is not None:
        if fd == 2:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
        for data in chunks:
            _write_fd(path, fd, _bytes(data))
        return
    target, kind, info = _classify(path)
    if kind == "stream" or (kind == "regular" and info is not None and info.st_nlink > 1):
        _write_in_place(path, target, chunks)
        return
    _write_atomically(path, target, chunks, info)


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def write_stdout(data: str | bytes) -> None:
    """Write `data` to stdout and flush it.

    Text that stdout's encoding can't represent (→ on a cp1252 stream) is
    written with JSON's ``\\uXXXX`` escapes: JSON output stays JSON and no
    name is lost. The stream itself is left as it is (a traced program
    shares it). Binary data is not written to a terminal. When the
    write fails, descriptor 1 is pointed at os.devnull, so that the flush
    at exit doesn't fail again.

    Raises StdoutClosed when the reader has gone (``| head``), OutputError
    for any other failure (a full disk).
    """
    from .errors import OutputError

    stream = sys.stdout
    try:
        if isinstance(data, bytes):
            if _is_tty(stream):
                raise OutputError(
                    "Not writing binary image data to a terminal.", hint="Name a file with -o, e.g. -o signals.png."
                )
            stream.buffer.write(data)
            stream.buffer.flush()
        else:
            stream.write(_encodable(data, stream))
            stream.flush()
    except OSError as exc:
        raise stdout_error(exc) from exc


def stdout_error(exc: OSError) -> OutputError:
    """Return the OutputError for `exc`, raised writing to stdout; point stdout at os.devnull.

    Python flushes stdout again at exit, which would fail again ("Exception
    ignored ... BrokenPipeError"); on os.devnull what is left in its buffers
    goes quietly. A closed pipe is StdoutClosed, which needs no message.
    """
    from .errors import OutputError, StdoutClosed

    stream = sys.stdout
    if stream is sys.__stdout__ and stream is not None:  # a replaced stdout (a test's capture) is not ours
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
    if isinstance(exc, BrokenPipeError):
        return StdoutClosed("stdout was closed before all the output was written.")
    return OutputError(f"Can't write to stdout: {exc.strerror or exc}.")


_ESCAPES = "signalscope.json_escapes"
_NOTED: list[str] = []  # the encodings whose escapes have been noted on stderr


def _json_escapes(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: each character as JSON writes it, ``\\uXXXX`` (a surrogate pair past U+FFFF)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for char in exc.object[exc.start : exc.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), exc.end


def _encodable(text: str, stream: TextIO) -> str:
    """Return `text`, what `stream` can't encode in it escaped by _json_escapes (noted once on stderr)."""
    import codecs

    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding, getattr(stream, "errors", None) or "strict")
        return text
    except LookupError:  # an encoding or error handler Python doesn't know: let the stream say so
        return text
    except UnicodeEncodeError:
        pass
    try:
        codecs.lookup_error(_ESCAPES)
    except LookupError:
        codecs.register_error(_ESCAPES, _json_escapes)
    if encoding not in _NOTED:
        _NOTED.append(encoding)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(
                f"signalscope: note: stdout's encoding ({encoding}) can't show some characters: they are written "
                "as \\uXXXX escapes (PYTHONIOENCODING=utf-8 shows them).\n"
            )
            sys.stderr.flush()
    return text.encode(encoding, _ESCAPES).decode(encoding)


def _write_fd(path: str, fd: int, payload: bytes) -> None:
    try:
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError as exc:
        raise _error(path, exc.strerror or str(exc), hint=None) from exc


def _write_in_place(path: str, target: str, chunks: Iterable[str | bytes]) -> None:
    # O_TRUNC is ignored by character devices and FIFOs; a hard-linked file is
    # rewritten under all its names. No O_CREAT: this never makes a new file.
    try:
        fd = os.open(target, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _error(path, exc.strerror or str(exc)) from exc
    try:
        for data in chunks:
            _write_fd(path, fd, _bytes(data))
    finally:
        os.close(fd)


def _write_atomically(path: str, target: str, chunks: Iterable[str | bytes], existing: os.stat_result | None) -> None:
    import tempfile

    folder = os.path.dirname(target)
    tmp = None
    try:
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=".signalscope-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            for data in chunks:
                out.write(_bytes(data))
        if existing is not None:  # keep the file's mode, and its owner where allowed
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            if (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):
                    os.chown(tmp, existing.st_uid, existing.st_gid)
        else:  # mkstemp makes the file private (0600); give it a new file's usual mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise _error(path, exc.strerror or str(exc)) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def open_output_stream(path: str) -> IO[str]:
    """Open `path` for text written as it comes (trace's jsonl), by the module's rule.

    A stream can't be atomic: an existing regular file is truncated in
    place (keeping its mode, owner and links), as the shell's ``>`` does.
    Call check_output first, before the work that produces the stream.

    Raises OutputError.
    """
    fd = _descriptor(path)
    if fd is not None:
        return open(os.dup(fd), "w", encoding="utf-8", closefd=True)
    target, _, _ = _classify(path)
    try:
        return open(target, "w", encoding="utf-8")
    except OSError as exc:
        raise _error(path, exc.strerror or str(exc)) from exc


class LazyOutputStream:
    """A text stream to `target` (None or "-": stdout) opened at the first write, for output made as a program runs.

    Opened late, so that a program that can't start leaves an existing file
    as it was. A failed write (a closed pipe, a full disk) stops the writing
    quietly: the program it reports on runs on.
    """

    def __init__(self, target: str | None) -> None:
        self.target = target
        self._stream: IO[str] | TextIO | None = None
        self._owned = False
        self.is_broken = False

    def _open(self) -> IO[str] | TextIO:
        if self._stream is None:
            if self.target in (None, "-"):
                self._stream = sys.stdout
            else:
                self._stream = open_output_stream(self.target)
                self._owned = True
        return self._stream

    def write(self, text: str | bytes) -> None:
        """Write `text` and flush; after a failure, write nothing more."""
        if self.is_broken or not text:
            return
        try:
            stream = self._open()
            stream.write(text if isinstance(text, str) else text.decode("utf-8"))
            stream.flush()
        except Exception:  # a closed pipe (| head), a full disk: stop writing, let the program run on
            self.is_broken = True

    def close(self, *, ran: bool) -> None:
        """Close the file; when the program `ran` and wrote nothing, create it empty. Raises OutputError."""
        try:
            if ran:
                self._open()
        finally:
            if self._owned and self._stream is not None:
                self._stream.close()


def check_output_folder(folder: str, name: str) -> None:
    """Check, before any work, that the file `name` can be written into `folder` (made later if missing).

    Raises OutputError: `folder` is something other than a folder, or the file can't be written.
    """
    from .errors import OutputError

    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputError(f"Can't write the report into {folder}: it is not a folder.")
    if os.path.isdir(folder):  # a new one is made, with its parents, once the output is ready
        check_output(os.path.join(folder, name))


def make_folder(folder: str) -> None:
    """Make `folder` and its parents if missing. Raises OutputError."""
    from .errors import OutputError

    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Can't create {folder}: {exc.strerror or exc}.") from exc

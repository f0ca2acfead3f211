"""Graphviz's dot program, run to draw DOT text as svg or png: the render package's only subprocess."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["DOT_TIMEOUT", "require_dot", "run_graphviz"]

#: How long Graphviz's dot may take, in seconds (SIGNALSCOPE_DOT_TIMEOUT overrides it).
DOT_TIMEOUT = 300.0


def require_dot(fmt: str) -> str:
    """Return the path of Graphviz's `dot`, which drawing `fmt` needs.

    Checked before any work (the CLI calls it before loading the project),
    so a missing Graphviz fails at once. Raises MissingExtra.
    """
    import shutil

    from ..errors import MissingExtra

    program = shutil.which("dot")
    if program is None:
        raise MissingExtra(
            f"Drawing {fmt} needs Graphviz's dot program, which is not installed.",
            hint="Install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
            "or write a format that needs none: -o graph.dot, -o graph.mmd (Mermaid), -o graph.json.",
        )
    return program


def run_graphviz(dot_text: str, fmt: str, *, timeout: float | None = None) -> bytes:
    """Return `dot_text` drawn by Graphviz's `dot -T<fmt>`.

    `dot` never outlives this call: it is killed on a timeout (`timeout`
    seconds, default $SIGNALSCOPE_DOT_TIMEOUT or DOT_TIMEOUT), on Ctrl-C, and
    when this process gets SIGTERM or SIGHUP (then the signal is passed on to
    this process once dot is gone, so it ends as it would have).

    Raises MissingExtra when `dot` is not on PATH, UsageError when
    $SIGNALSCOPE_DOT_TIMEOUT is not a number, IntrospectionError when dot
    fails or takes too long.
    """
    import signal
    import subprocess
    import threading

    from ..errors import IntrospectionError, UsageError

    program = require_dot(fmt)
    if timeout is None:
        setting = os.environ.get("SIGNALSCOPE_DOT_TIMEOUT", "")
        try:
            timeout = float(setting) if setting else DOT_TIMEOUT
        except ValueError:
            raise UsageError(f"SIGNALSCOPE_DOT_TIMEOUT={setting!r} is not a number of seconds.") from None

    class _Stopped(BaseException):
        def __init__(self, signum: int) -> None:
            self.signum = signum

    def stop(signum: int, frame: Any) -> None:
        raise _Stopped(signum)

    watched: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP) if hasattr(signal, "SIGHUP") else (signal.SIGTERM,)
    previous: dict[int, Any] = {}
    # Python only lets the main thread install signal handlers.
    if threading.current_thread() is threading.main_thread():
        for number in watched:
            previous[number] = signal.signal(number, stop)
    try:
        proc = subprocess.Popen(
            [program, f"-T{fmt}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            out, err = proc.communicate(dot_text.encode("utf-8"), timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise IntrospectionError(
                f"Graphviz's dot did not finish drawing {fmt} in {timeout:g} s, and was stopped.",
                hint="Draw less (--model, --app, --hide-django), "
                "or allow more time with SIGNALSCOPE_DOT_TIMEOUT=SECONDS.",
            ) from None
        except BaseException:  # Ctrl-C, SIGTERM, SIGHUP: dot goes first
            proc.kill()
            proc.wait()
            raise
    except _Stopped as stopped:
        for number, handler in previous.items():
            signal.signal(number, handler)
        previous.clear()
        os.kill(os.getpid(), stopped.signum)  # end as the signal would have ended this process
        raise KeyboardInterrupt from None  # a handler of the program's own let it live on
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if proc.returncode != 0:
        raise IntrospectionError(f"Graphviz's dot failed: {err.decode('utf-8', 'replace').strip()}")
    return out

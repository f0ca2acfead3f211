"""Run a Python program in this process, as ``python PROGRAM ARGS`` or ``python -m MODULE ARGS`` would.

This is what ``signalscope trace -- manage.py migrate`` runs under the
tracer (the way ``coverage run`` does): the program gets its own
``sys.argv``, ``sys.path[0]`` and ``__main__``, and its exit status is
returned, never raised.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError

__all__ = ["find_program", "run_program"]


def find_program(argv: Sequence[str], project: Path | None = None) -> list[str]:
    """Check `argv` names something runnable; return it with the script's path resolved.

    A script is looked for as given, then in `project` (so ``--project
    mysite -- manage.py check`` works from anywhere). Raises UsageError.
    """
    if not argv:
        raise UsageError(
            "Name the program to trace after --.",
            hint="For example: signalscope trace -- manage.py migrate, or -- -m pytest tests/",
        )
    if argv[0] == "-m":
        if len(argv) < 2:
            raise UsageError("-m needs a module name, e.g. -- -m pytest tests/")
        return list(argv)
    script = Path(argv[0])
    if not script.exists() and project is not None and (project / script).exists():
        script = project / script
    if not script.exists():
        where = f" (nor in {project})" if project is not None else ""
        raise UsageError(f"No such program: {argv[0]}{where}.", hint="Give a script's path, or -m and a module name.")
    if script.is_dir() and not (script / "__main__.py").exists():
        raise UsageError(f"{argv[0]} is a folder without __main__.py.")
    return [str(script), *argv[1:]]


def run_program(argv: Sequence[str]) -> int:
    """Run `argv` (from find_program) as the main program and return its exit status.

    SystemExit gives its code (a message is printed to stderr, status 1);
    an exception escaping the program prints its traceback, as Python
    would, and gives 1; KeyboardInterrupt gives 130.
    """
    saved_argv, saved_path, saved_main = sys.argv[:], sys.path[:], sys.modules["__main__"]
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]  # runpy puts the module's file first
            sys.path.insert(0, os.getcwd())
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(argv)
            sys.path.insert(0, str(Path(argv[0]).resolve().parent))
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as exc:
        return _exit_status(exc.code)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # the program's own error: report it as Python would
        _print_program_traceback(exc)
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        sys.modules["__main__"] = saved_main
        for stream in (sys.stdout, sys.stderr):  # the program's output comes before the report
            with contextlib.suppress(Exception):
                stream.flush()
    return 0


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_program_traceback(exc: BaseException) -> None:
    # Leave out the frames of this module and runpy: the traceback starts in the program.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in (__name__, "runpy"):
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(type(exc), exc, tb)))
    sys.stderr.flush()

"""Run a Python program in this process, as ``python PROGRAM ARGS`` or ``python -m MODULE ARGS`` would.

This is what ``signalscope trace -- manage.py migrate`` runs under the
tracer (the way ``coverage run`` does). The program sees what ``python``
would give it: its ``sys.argv`` (the script as given), ``sys.path[0]``, a
fresh ``__main__`` with an absolute ``__file__``, and the ``sys.excepthook``
python would start it with. It ends as CPython ends one: an uncaught
exception goes to ``sys.excepthook`` with the frames python would show,
then its non-daemon threads are waited for and the ``atexit`` handlers run
(all of them, last registered first), so what they send is traced too. Its
exit status is returned, never raised.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import importlib.machinery
import importlib.util
import marshal
import os
import re
import runpy
import shutil
import signal
import sys
import threading
import traceback
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from ..errors import UsageError

__all__ = ["INTERRUPTED", "find_program", "flush_streams", "run_program"]

#: run_program's status for a program ended by an uncaught KeyboardInterrupt: Python ends then
#: by killing itself with SIGINT (so that a shell sees the signal), as subprocess reports it.
INTERRUPTED = -signal.SIGINT


def find_program(argv: Sequence[str], project: Path | None = None) -> list[str]:
    """Check `argv` names something runnable; return it, a script found in `project` given with its path.

    A script is looked for as given (and then kept as given: it is the
    program's ``sys.argv[0]``), then in `project` (so ``--project mysite --
    manage.py check`` works from anywhere). Raises UsageError.
    """
    if not argv:
        raise UsageError(
            "Name the program to trace after --.",
            hint="For example: signalscope trace -- manage.py migrate, or -- -m pytest tests/",
        )
    argv = _without_this_python(argv)
    if argv[0] == "-m":
        if len(argv) < 2:
            raise UsageError("-m needs a module name.", hint="For example: signalscope trace -- -m pytest tests/")
        _check_module(argv[1], project)
        return list(argv)
    script = argv[0]
    if not os.path.exists(script) and project is not None and (project / script).exists():
        script = str(project / script)
    if not os.path.exists(script):
        where = f" (nor in {project})" if project is not None else ""
        raise UsageError(f"No such program: {argv[0]}{where}.", hint="Give a script's path, or -m and a module name.")
    if os.path.isdir(script) and not os.path.exists(os.path.join(script, "__main__.py")):
        raise UsageError(f"{argv[0]} is a folder without __main__.py.")
    if _is_binary_program(script):
        raise UsageError(
            f"{argv[0]} is a compiled program, not a Python script: signalscope trace runs Python programs.",
            hint="Give the Python script (manage.py) or -m and a module name.",
        )
    return [script, *argv[1:]]


#: The names Python's interpreters go by: python, python3, python3.12, python3.13t, python.exe.
_PYTHON_NAME = re.compile(r"python(\d+(\.\d+)?t?)?(\.exe)?", re.IGNORECASE)


def _without_this_python(argv: Sequence[str]) -> Sequence[str]:
    """Take a leading interpreter off `argv` (``-- python manage.py test``) when it is the one running here.

    The program runs in this process, under this interpreter: naming it is
    allowed, as users write the command they would run untraced. Another
    interpreter (another venv's, say) has other packages, and Python's own
    options (``-X dev``, ``-W``) would have to be given to this process: both
    are usage errors that say what to run instead.
    """
    name = argv[0]
    if not _PYTHON_NAME.fullmatch(os.path.basename(name)):
        return argv
    if os.path.isfile(name) and not _is_binary_program(name):
        return argv  # a script of that name
    found = name if os.sep in name or (os.altsep and os.altsep in name) else shutil.which(name)
    if found is None:
        return argv  # find_program says there is no such program
    if not _same_interpreter(found, sys.executable):
        raise UsageError(
            f"{name} is not the Python signalscope runs in ({sys.executable}): "
            "the traced program runs in signalscope's own interpreter.",
            hint=f"Run signalscope with that Python: {name} -m signalscope trace -- {' '.join(argv[1:]) or 'PROGRAM'}",
        )
    rest = argv[1:]
    if not rest:
        raise UsageError(f"Name the program {name} would run.", hint="For example: -- python manage.py test")
    if rest[0].startswith("-") and rest[0] != "-m":
        raise UsageError(
            f"{name} {rest[0]}: Python's own options can't be given to a traced program, which runs in "
            "signalscope's process.",
            hint="Give them to the Python that runs signalscope: python OPTIONS -m signalscope trace -- PROGRAM",
        )
    return rest


def _same_interpreter(one: str, other: str) -> bool:
    """Whether the interpreters at `one` and `other` are one: the same binary, in the same folder (one venv's)."""
    try:
        # Not the binary alone: a venv's python is a link to its base Python's, which has other packages.
        return os.path.samefile(os.path.dirname(os.path.abspath(one)), os.path.dirname(os.path.abspath(other))) and (
            os.path.realpath(one) == os.path.realpath(other) or os.path.samefile(one, other)
        )
    except OSError:
        return False


def _is_binary_program(path: str) -> bool:
    """Whether the file at `path` is a compiled executable (ELF, Mach-O, PE) rather than Python source or a .pyc."""
    if not os.path.isfile(path) or path.endswith(".pyc") or _is_importable_path(path):
        return False
    try:
        with open(path, "rb") as file:
            head = file.read(4)
    except OSError:
        return False
    return head in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe") or head[:2] == b"MZ"


def _check_module(name: str, project: Path | None) -> None:
    """Raise UsageError when no top-level package or module `name` starts with can be found.

    Only the first part is looked for, on the path the program will have (the
    working folder first, and `project`): finding ``a.b`` would import ``a``,
    running the program's code before it starts. Python says the rest.
    """
    import importlib.machinery

    top = name.partition(".")[0]
    if not top or top in sys.modules or top in sys.builtin_module_names:
        return
    path = [os.getcwd(), *([str(project)] if project is not None else []), *sys.path]
    if importlib.machinery.FrozenImporter.find_spec(top) is not None:
        return
    if importlib.machinery.PathFinder.find_spec(top, path) is None:
        raise UsageError(f"No module named {top!r} (from -m {name}).", hint="Install it, or check its name.")


def run_program(argv: Sequence[str]) -> int:
    """Run `argv` (from find_program) as the main program, to its end, and return its exit status.

    The status is the one ``python`` would end with: 0, SystemExit's code
    (a message is printed to stderr, status 1), 1 after an uncaught exception
    was reported by ``sys.excepthook``, or INTERRUPTED (-SIGINT) after an
    uncaught KeyboardInterrupt. Run from the main thread, the program's end
    is Python's: its non-daemon threads are waited for and every ``atexit``
    handler is run (and so not run again at the real exit), so call this
    last in a process, as signalscope trace does. The program's sys.argv,
    sys.path, ``__main__`` and sys.excepthook are put back afterwards.
    """
    saved_argv, saved_path, saved_main = sys.argv[:], sys.path[:], sys.modules["__main__"]
    saved_hook = sys.excepthook
    sys.modules["__main__"] = main = _fresh_main()
    sys.excepthook = _programs_excepthook()
    try:
        status = _run_main(argv, main)
        if threading.current_thread() is threading.main_thread():
            _end_as_python_does()
        return status
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        sys.modules["__main__"] = saved_main
        sys.excepthook = saved_hook
        flush_streams()  # the program's output comes before the report


def _programs_excepthook() -> Any:
    """Return the sys.excepthook python would start the program with: the one in place, not typer's.

    signalscope's command line runs under typer, which puts its own hook in
    place when the command starts, and keeps the one it replaced.
    """
    hook = sys.excepthook
    typer_main = sys.modules.get("typer.main")
    if typer_main is not None and hook is getattr(typer_main, "except_hook", None):
        return getattr(typer_main, "_original_except_hook", sys.__excepthook__)
    return hook


def _fresh_main() -> types.ModuleType:
    # The __main__ python starts with (pylifecycle.c's add_main_module).
    main = types.ModuleType("__main__")
    main.__loader__ = importlib.machinery.BuiltinImporter
    if sys.version_info < (3, 14):  # 3.14 sets no __annotations__ (PEP 649)
        main.__annotations__ = {}
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    return main


def _run_main(argv: Sequence[str], main: types.ModuleType) -> int:
    """Run the program's main body as Modules/main.c does; return its status, an uncaught exception reported."""
    # runpy's own entry point, as python calls it for -m and for a folder or zip file: the
    # same frames in a traceback (python shows them), the code run in sys.modules["__main__"].
    run_as_main = cast(Callable[[str, bool], Any], runpy._run_module_as_main)  # type: ignore[attr-defined]
    is_script = False
    try:
        try:
            if argv[0] == "-m":
                sys.argv = ["-m", *argv[2:]]  # until runpy has found the module: then its file
                if not sys.flags.safe_path:
                    sys.path.insert(0, os.getcwd())
                sys.audit("cpython.run_module", argv[1])
                run_as_main(argv[1], True)
            elif _is_importable_path(argv[0]):  # a folder or zip file with __main__.py
                sys.argv = list(argv)
                sys.path.insert(0, _absolute(argv[0]))
                sys.audit("cpython.run_module", "__main__")
                run_as_main("__main__", False)
            else:
                is_script = True
                sys.argv = list(argv)
                if not sys.flags.safe_path:
                    sys.path.insert(0, str(Path(argv[0]).resolve().parent))  # symlinks resolved, as python does
                _run_script(_absolute(argv[0]), main)
        except SystemExit:
            raise
        except BaseException as exc:  # the program's own error: reported as Python would
            uncaught: BaseException | None = exc
        else:
            uncaught = None
        # Reported once handled (python fetches it first): the hook sees no exception being
        # handled, and one it raises has no context.
        status = 0 if uncaught is None else _report_uncaught(uncaught)
        del uncaught
    except SystemExit as exc:  # python exits from inside here: __file__ stays for atexit
        return _exit_status(exc.code)
    if is_script:  # python takes them back once the script has ended: threads and atexit don't see them
        main.__dict__.pop("__file__", None)
        main.__dict__.pop("__cached__", None)
    return status


def _is_importable_path(path: str) -> bool:
    # How python tells a folder or zip file (run as a sys.path entry) from a script.
    import pkgutil

    return pkgutil.get_importer(path) is not None


def _absolute(path: str) -> str:
    """Make `path` absolute as python makes its script's path: joined to the cwd, not normalized."""
    if os.name == "nt":
        return os.path.abspath(path)
    if path in ("", "."):
        return os.getcwd()
    return path if os.path.isabs(path) else os.getcwd() + os.sep + path


def _run_script(filename: str, main: types.ModuleType) -> None:
    """Run the script at `filename` in `main`, as pythonrun.c's _PyRun_SimpleFileObject."""
    sys.audit("cpython.run_file", filename)
    namespace = main.__dict__
    namespace["__file__"], namespace["__cached__"] = filename, None
    try:
        with open(filename, "rb") as file:
            data = file.read()
        code: types.CodeType
        if filename.endswith(".pyc") or data[:2] == importlib.util.MAGIC_NUMBER[:2]:
            if data[:4] != importlib.util.MAGIC_NUMBER:
                raise RuntimeError("Bad magic number in .pyc file")
            code = marshal.loads(data[16:])
            main.__loader__ = importlib.machinery.SourcelessFileLoader("__main__", filename)
        else:
            main.__loader__ = importlib.machinery.SourceFileLoader("__main__", filename)
            code = compile(data, filename, "exec", dont_inherit=True)
        exec(code, namespace)
    finally:
        flush_streams()  # before an error is reported, as python does


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _report_uncaught(exc: BaseException) -> int:
    """Hand `exc` to sys.excepthook as pythonrun.c's _PyErr_PrintEx does; return the status python ends with."""
    tb = _program_frames(exc.__traceback__)
    exc.__traceback__ = tb
    status = INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 1
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = exc
    hook = getattr(sys, "excepthook", None)
    sys.audit("sys.excepthook", hook, type(exc), exc, tb)
    if hook is None:
        sys.stderr.write("sys.excepthook is missing\n")
        sys.__excepthook__(type(exc), exc, tb)
    else:
        try:
            hook(type(exc), exc, tb)
        except SystemExit:
            raise  # python exits with its code
        except BaseException as failure:
            sys.stderr.write("Error in sys.excepthook:\n")
            failure.__traceback__ = _program_frames(failure.__traceback__)
            sys.__excepthook__(type(failure), failure, failure.__traceback__)
            sys.stderr.write("\nOriginal exception was:\n")
            sys.__excepthook__(type(exc), exc, tb)
    flush_streams()
    return status


def _program_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    # Leave out this module's frames: the traceback starts where python's would.
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    return tb


def _end_as_python_does() -> None:
    """Wait for the program's threads, then run the atexit handlers, as Py_FinalizeEx does first."""
    try:
        # The same call as Python's at exit (threading's own exit hooks, such as
        # concurrent.futures', then a join of every non-daemon thread); Python's
        # second call, at the real exit, returns at once.
        shutdown: Callable[[], None] = getattr(threading, "_shutdown")  # noqa: B009 - private, not in typeshed
        shutdown()
    except BaseException as exc:  # a Ctrl-C while waiting: reported as python does, then on to atexit
        flush_streams()
        frames = "".join(traceback.format_tb(_program_frames(exc.__traceback__)))
        kind = type(exc)
        name = (
            kind.__qualname__
            if kind.__module__ in ("builtins", "__main__")
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        sys.stderr.write(
            f"Exception ignored in: {threading!r}\nTraceback (most recent call last):\n{frames}{name}: {exc}\n"
        )
    atexit._run_exitfuncs()  # every handler, last registered first, as at exit; then none are left


def flush_streams() -> None:
    """Flush stderr and stdout, as python does before it reports an error or ends; a failure is ignored."""
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(Exception):
            stream.flush()

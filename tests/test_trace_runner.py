"""`signalscope trace -- PROGRAM` runs the program as `python PROGRAM` would: each case against plain python."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from helpers import PROGRAM_SETUP, Result, run, signalscope

SETUP = PROGRAM_SETUP

# Facts about how a program was started, as the program sees them (as JSON on stdout).
FACTS = """\
import json, sys, __main__
facts = {k: v for k, v in vars(__main__).items() if k.startswith("__") and k != "__builtins__"}
print(json.dumps({
    "main": {k: v if v is None or isinstance(v, (str, dict)) else type(v).__name__ for k, v in facts.items()},
    "main_keys": list(vars(__main__))[:10],
    "builtins": type(__builtins__).__name__,
    "code": sys._getframe().f_code.co_filename,
    "argv": sys.argv,
    "path0": sys.path[0],
    "default_excepthook": sys.excepthook is sys.__excepthook__,
}, indent=1))
"""


def python(*args: str, cwd: Path) -> Result:
    return run([sys.executable, *args], cwd=cwd)


def traced(*args: str, cwd: Path, out: Path) -> Result:
    """`signalscope trace -f json -o OUT -- ARGS`, its report line left out of stderr."""
    result = signalscope("trace", "-f", "json", "-o", str(out), "--", *args, cwd=cwd)
    lines = result.stderr.splitlines(keepends=True)
    assert lines and lines[-1].startswith("signalscope: wrote "), result.stderr
    return Result(result.returncode, result.stdout, "".join(lines[:-1]))


def sends(out: Path) -> list[str]:
    """The program's own signals sent in the trace written to `out` (short names), in order."""
    events = json.loads(out.read_text())["events"]
    return [e["signal"].split(":")[1] for e in events if e["kind"] == "send" and e["signal"].startswith("__main__:")]


def test_main_file_argv_and_sys_path_are_as_python_sets_them(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "facts.py").write_text(FACTS)
    (tmp_path / "link.py").symlink_to(tmp_path / "sub" / "facts.py")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__main__.py").write_text(FACTS)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "__main__.py").write_text(FACTS)
    (tmp_path / "mod.py").write_text(FACTS)
    for args in [
        ["sub/facts.py", "a", "--b"],
        ["./sub/../sub/facts.py"],
        [str(tmp_path / "sub" / "facts.py")],
        ["link.py"],  # sys.path[0] is the folder the link points into, __file__ the link
        ["app"],
        ["./app/"],
        ["-m", "mod", "x"],
        ["-m", "pkg"],
    ]:
        expected = python(*args, cwd=tmp_path)
        assert expected.returncode == 0, expected.stderr
        result = traced(*args, cwd=tmp_path, out=tmp_path / "t.json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == json.loads(expected.stdout), args
    assert json.loads(expected.stdout)["main"]["__file__"] == str(tmp_path / "pkg" / "__main__.py")


def test_a_crash_prints_the_traceback_python_prints(tmp_path: Path) -> None:
    # Through a traced send and a receiver, then out of the program: the same frames, the same text.
    (tmp_path / "crash.py").write_text(
        SETUP + "def boom(sender, **kwargs):\n"
        "    raise ValueError('mine')\n"
        "ping.connect(boom)\n"
        "def main():\n"
        "    ping.send(sender=None)\n"
        "main()\n"
    )
    for args in [["crash.py"], ["-m", "crash"]]:  # -m: python shows runpy's frames, so does the trace
        expected = python(*args, cwd=tmp_path)
        assert expected.returncode == 1 and expected.stderr.startswith("Traceback (most recent call last):\n")
        result = traced(*args, cwd=tmp_path, out=tmp_path / "t.json")
        assert (result.returncode, result.stderr) == (1, expected.stderr)
        assert sends(tmp_path / "t.json") == ["ping"]


def test_the_programs_excepthook_reports_its_error(tmp_path: Path) -> None:
    (tmp_path / "hooked.py").write_text(
        "import sys, traceback\n"
        "def hook(kind, value, tb):\n"
        "    frames = [f.name for f in traceback.extract_tb(tb)]\n"
        "    print('hook:', kind.__name__, value, frames, value.__traceback__ is tb, file=sys.stderr)\n"
        "    print('last:', sys.last_value is value, file=sys.stderr)\n"
        "sys.excepthook = hook\n"
        "def f():\n"
        "    raise ValueError('mine')\n"
        "f()\n"
    )
    (tmp_path / "broken_hook.py").write_text(
        "import sys\n"
        "def hook(kind, value, tb):\n"
        "    raise RuntimeError('in the hook')\n"
        "sys.excepthook = hook\n"
        "raise ValueError('mine')\n"
    )
    for args in [["hooked.py"], ["-m", "hooked"], ["broken_hook.py"]]:
        expected = python(*args, cwd=tmp_path)
        result = traced(*args, cwd=tmp_path, out=tmp_path / "t.json")
        assert (result.returncode, result.stderr) == (expected.returncode, expected.stderr), args
    assert "hook: ValueError mine ['<module>', 'f'] True\nlast: True\n" in python("hooked.py", cwd=tmp_path).stderr
    assert "Error in sys.excepthook:" in expected.stderr and "Original exception was:" in expected.stderr


@pytest.mark.skipif(os.name != "posix", reason="python ends by SIGINT on POSIX only")
def test_keyboard_interrupt_prints_its_traceback_and_ends_by_sigint(tmp_path: Path) -> None:
    (tmp_path / "stop.py").write_text(
        SETUP + "ping.send(sender=None)\ndef wait():\n    raise KeyboardInterrupt\nwait()\n"
    )
    expected = python("stop.py", cwd=tmp_path)
    # Python prints the traceback, then kills itself with SIGINT (a shell sees 130, and a script stops).
    assert expected.returncode == -signal.SIGINT and expected.stderr.endswith("\nKeyboardInterrupt\n")
    result = traced("stop.py", cwd=tmp_path, out=tmp_path / "t.json")
    assert (result.returncode, result.stderr) == (expected.returncode, expected.stderr)
    assert sends(tmp_path / "t.json") == ["ping"]  # the report was written first
    # A program that exits with 130 itself is not a signal.
    (tmp_path / "exits.py").write_text("raise SystemExit(130)\n")
    assert traced("exits.py", cwd=tmp_path, out=tmp_path / "t.json").returncode == 130


def test_sends_after_the_last_line_are_recorded(tmp_path: Path) -> None:
    # A non-daemon thread, a module-level executor's worker and atexit handlers: python waits for
    # the threads and runs the handlers after the main body, and the trace records what they send.
    program = SETUP + (
        "import atexit, sys, threading, time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "late, pooled, at_exit = Signal(), Signal(), Signal()\n"
        "for s in (late, pooled, at_exit):\n"
        "    s.connect(heard)\n"
        "def later():\n"
        "    time.sleep(0.3)\n"
        "    late.send(sender=None)\n"
        "    print('thread sent', flush=True)\n"
        "def work():\n"
        "    time.sleep(0.2)\n"
        "    pooled.send(sender=None)\n"
        "    print('worker sent', flush=True)\n"
        "def goodbye():\n"
        "    at_exit.send(sender=None)\n"
        "    print('atexit sent, __file__ is', globals().get('__file__'), flush=True)\n"
        "atexit.register(goodbye)\n"
        "threading.Thread(target=later).start()\n"
        "POOL = ThreadPoolExecutor(1)\n"
        "POOL.submit(work)\n"
        "print('main done', flush=True)\n"
    )
    for ending in ["", "raise ValueError('after starting them')\n"]:
        (tmp_path / "late.py").write_text(program + ending)
        expected = python("late.py", cwd=tmp_path)
        assert expected.stdout == "main done\nworker sent\nthread sent\natexit sent, __file__ is None\n"
        result = traced("late.py", cwd=tmp_path, out=tmp_path / "t.json")
        assert sends(tmp_path / "t.json") == ["pooled", "late", "at_exit"]
        assert (result.returncode, result.stdout, result.stderr) == (
            expected.returncode,
            expected.stdout,
            expected.stderr,
        )


def test_the_summary_says_how_many_sends_were_dropped(tmp_path: Path) -> None:
    (tmp_path / "many.py").write_text(SETUP + "for _ in range(12):\n    ping.send(sender=None)\n")
    for fmt in ("summary", "tree"):
        args = ["trace", "-f", fmt, "--max-sends", "5", "--signal", "ping", "--", "many.py"]
        result = signalscope(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "7 older sends were dropped (--max-sends 5): the counts below cover the last 5 only" in result.stderr
        assert "__main__:heard" in result.stderr.rsplit("dropped", 1)[1]  # said above the table

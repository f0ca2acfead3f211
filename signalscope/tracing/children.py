"""Tracing a program's child processes: how they start the tracer, the part each writes, and reading the parts back.

How a child starts tracing (the mechanism, and why this one): while a
program is traced, its environment holds SIGNALSCOPE_TRACE_DIR, a private
folder made for this run, and PYTHONPATH starts with that folder's
``startup`` folder, which holds one file, a ``sitecustomize.py``. Every
Python child that inherits the environment (runserver's autoreloader child,
``multiprocessing``'s spawn and forkserver processes, pytest-xdist's
workers, ``subprocess`` calls of Python) imports it at start-up; it takes
its folder off ``sys.path`` again, starts the tracer when that Python has
signalscope (and notes the child as untraced when it has not), then runs the
sitecustomize it hides, if any (Debian's, say). It works the same for every
kind of install (a wheel, an editable install, a checkout on PYTHONPATH),
writes nothing outside the run's folder, and costs nothing when no trace
runs, since then there is nothing on the path at all. A ``.pth`` file would
have to be installed into site-packages, which editable installs
(setuptools' PEP 660 wheels) leave out, and it would run in every Python
started there. Children started with ``-E``, ``-I`` or ``-S`` ignore it, as
they ignore PYTHONPATH; they are named as untraced.

Forked children (``os.fork``, multiprocessing's fork start method and the
forkserver's children) inherit the tracer: a fork handler makes it start
afresh as the child's. multiprocessing ends such a child with
``os._exit``, so its bootstrap is wrapped, while tracing, to finish the
child's part first.

Each process writes its own part, ``parts/<pid>-<n>.jsonl``: a header line
``{"process": ...}``, one line per send (a JSON array of its events, each
an array of its fields in order: json's C encoder makes it in a few
microseconds, and it runs for every send of a child), and
``{"end": ...}`` once it is complete. Nothing else ever writes to that
file. The traced program's process keeps its own events in memory and
merges the parts when the program has ended (read_parts).
"""

from __future__ import annotations

import atexit
import contextlib
import heapq
import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..model.jsonio import dump_json_line
from ..model.trace import CHUNK_EVENTS, TraceEvent, TraceLog, TraceProcess, TraceStream, in_start_order, make_event
from .imports import forget, when_imported
from .tracer import Tracer

__all__ = ["ENV", "ChildFolder", "ProcessTrace", "child_config", "read_part_streams", "read_parts", "short_argv"]

#: The environment variable that holds the run's folder: set, a Python child traces itself.
ENV = "SIGNALSCOPE_TRACE_DIR"

_SITECUSTOMIZE = '''\
"""signalscope trace: start the tracer in this Python process, a child of a traced program.

This file is on PYTHONPATH only while `signalscope trace` runs; it takes
itself off sys.path, then runs the sitecustomize module it hides, if any.
"""
import os as _os
import sys as _sys

_here = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [entry for entry in _sys.path if _os.path.abspath(entry or ".") != _here]
try:
    from signalscope.tracing.children import start_child as _start_child
except ImportError as _exc:
    _folder = _os.environ.get("SIGNALSCOPE_TRACE_DIR")
    if _folder:
        try:
            with open(_os.path.join(_folder, "untraced", str(_os.getpid())), "w", encoding="utf-8") as _file:
                _file.write(" ".join(_sys.orig_argv[1:]) + "\\n" + "a Python without signalscope: " + _sys.executable)
        except OSError:
            pass
else:

    def _live(options):  # the renderers are the API's to call: imported only when a tree is shown live
        from signalscope.api import live_printer

        return live_printer(options)

    _start_child(_live)
_me = _sys.modules.pop("sitecustomize")
try:
    import sitecustomize  # the one this file hides, if there is one: it takes this one's place
except ImportError as _exc:
    _sys.modules["sitecustomize"] = _me  # importlib reads it back when this file is done
    if _exc.name != "sitecustomize":
        raise
'''


def short_argv(argv: list[str], *, width: int = 80) -> str:
    """Return a command line in short: without the interpreter, at most `width` characters."""
    text = " ".join(argv)
    if "multiprocessing" in text:
        for part, name in (("resource_tracker", "resource tracker"), ("forkserver", "forkserver"),
                           ("spawn_main", "spawn")):  # fmt: skip
            if part in text:
                text = f"multiprocessing {name}"
                break
    if text.startswith("-u -c import sys;exec(eval(sys.stdin"):  # execnet's popen gateway
        text = "execnet worker (pytest-xdist)"
    return text if len(text) <= width else text[: width - 1] + "…"


class ChildFolder:
    """The run's folder, made by the traced program's process: the children's config, start-up file and parts."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="signalscope-trace-"))  # mode 0700: the parts are private
        for name in ("startup", "parts", "untraced"):
            (self.path / name).mkdir()
        (self.path / "startup" / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
        (self.path / "config.json").write_text(json.dumps(config, sort_keys=True), encoding="utf-8")
        self._saved: dict[str, str | None] = {}

    def activate(self, *, pytest: bool) -> None:
        """Put the folder in this process's environment, so that the children it starts trace themselves."""
        changes = {ENV: str(self.path)}
        path = os.environ.get("PYTHONPATH")
        startup = str(self.path / "startup")
        changes["PYTHONPATH"] = startup if not path else startup + os.pathsep + path
        if pytest:  # test groups in pytest and its xdist workers, even with -p no:signalscope
            plugins = os.environ.get("PYTEST_PLUGINS")
            changes["PYTEST_PLUGINS"] = "signalscope.tracing.pytest_groups" + ("," + plugins if plugins else "")
        for name, value in changes.items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value

    def deactivate(self) -> None:
        """Put the environment back as it was."""
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)


def start_child(live_printer: Callable[[dict[str, Any]], Callable[[TraceLog], None]]) -> None:
    """Start tracing this process, a child of a traced program (the run's sitecustomize calls this).

    `live_printer` makes what shows a request's tree as it ends, from the
    config's live options. A child that can't be traced is noted in the
    run's folder, for the traced program's output to name; the child runs on.
    """
    config = child_config()
    if config is None:
        return
    folder = Path(os.environ[ENV])
    try:
        # Tracer's keyword arguments (api.TraceOptions.child_config), JSON's lists made tuples again
        options = {
            name: tuple(value) if isinstance(value, list) else value for name, value in config["options"].items()
        }
        live = config.get("live")
        printer = live_printer(live) if isinstance(live, dict) else None
        ProcessTrace(options, folder, is_child=True, live=printer).start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            argv = " ".join(getattr(sys, "orig_argv", sys.argv)[1:])
            (folder / "untraced" / str(os.getpid())).write_text(
                f"{argv}\n{type(exc).__name__}: {exc}", encoding="utf-8"
            )


def child_config() -> dict[str, Any] | None:
    """Return the config of the trace this process is a child of; None when it is none's."""
    folder = os.environ.get(ENV)
    if not folder:
        return None
    try:
        data = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class _Part:
    """One process's part file: written by that process only, line by line."""

    def __init__(self, folder: Path, process: TraceProcess) -> None:
        name = f"{process.pid}-{time.monotonic_ns()}.jsonl"
        self.file: IO[str] | None = open(folder / "parts" / name, "x", encoding="utf-8")  # noqa: SIM115
        self.file.write(dump_json_line({"process": {"pid": process.pid, "parent": process.parent,
                                                    "argv": process.argv}}))  # fmt: skip
        self.file.flush()
        self._lock = threading.Lock()

    def write(self, events: list[TraceEvent], complete: bool) -> None:
        with self._lock:
            if self.file is None:
                return
            self.file.write(json.dumps([_row(event) for event in events]) + "\n")
            if complete:  # a whole tree: on disk now, since a child may be killed at any time (Pool.terminate)
                self.file.flush()

    def finish(self, notes: list[str]) -> None:
        with self._lock:
            if self.file is None:
                return
            self.file.write(dump_json_line({"end": {"notes": notes}}))
            self.file.close()
            self.file = None

    def abandon(self) -> None:
        """Let go of the file without writing to it (a forked child's copy of its parent's part)."""
        self.file = None


class ProcessTrace:
    """The trace of one process of a traced program: the program's own, or a child's.

    The program's process keeps its events in its Tracer (made with
    `tracer_options`) and hands each to `on_send`; a child streams them to
    its part. Either hands each finished outermost request's events to `live`
    (a request made inside a test is part of the test's tree). A
    child forked from either starts afresh as a child.
    """

    def __init__(
        self,
        tracer_options: dict[str, Any],
        folder: Path,
        *,
        is_child: bool,
        on_send: Callable[[list[TraceEvent], int], None] | None = None,
        live: Callable[[TraceLog], None] | None = None,
        argv: str | None = None,
    ) -> None:
        self.folder = folder
        self.argv = argv if argv is not None else short_argv(list(getattr(sys, "orig_argv", sys.argv)[1:]))
        self.live = live
        self.user_on_send = on_send
        self._live_events: dict[int, list[TraceEvent]] = {}
        self.part: _Part | None = None
        self.spawned: list[str] = []
        # The program's own process hands each send on only to whom asks (turning a send into events
        # costs as much as recording it); a child streams every send to its part.
        wanted = is_child or on_send is not None or live is not None
        options = {**tracer_options, "on_send": self._on_send if wanted else None, "groups": True}
        if is_child:
            options["max_sends"] = 0  # streamed to the part: nothing kept
        self.tracer = Tracer(**options)
        self.is_child = is_child
        self._forked_from: int | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> ProcessTrace:
        """Start tracing this process (and, when it is a child, its part)."""
        global _active
        _active = self
        _install_process_hooks()
        if self.is_child:
            self.part = _Part(self.folder, self._process(parent=os.getppid()))
            atexit.register(self.finish)
            # Once the program imports Django's dispatcher, not before: a child that never does costs nothing more.
            when_imported("django.dispatch", self._start_tracer)
        else:
            self.tracer.start()
        return self

    def _start_tracer(self, module: Any) -> None:
        if _active is not self:
            return
        try:
            self.tracer.start()
        except Exception as exc:  # noted for the traced program's output; the child runs on, untraced
            self.tracer.stop()
            with contextlib.suppress(Exception):
                note = f"{self.argv}\ncould not start tracing: {type(exc).__name__}: {exc}"
                (self.folder / "untraced" / str(os.getpid())).write_text(note, encoding="utf-8")

    def stop(self) -> TraceLog:
        """Stop tracing; return the process's own log (a child's is in its part)."""
        global _active
        log = self.tracer.stop()
        if _active is self:
            _active = None
        return log

    def stop_stream(self) -> TraceStream:
        """Stop tracing; return the process's own log as a stream (Tracer.stream)."""
        global _active
        log = self.tracer.stop_stream()
        if _active is self:
            _active = None
        return log

    def finish(self) -> None:
        """End a child's trace: stop, and complete its part."""
        forget(self._start_tracer)
        if self.tracer.is_started:
            self.stop()
        if self.part is not None:
            notes = [f"spawned {argv}" for argv in self.spawned]
            self.part.finish(notes)

    def forked(self) -> None:
        """Become the trace of a forked child of this process: a part of its own, nothing of the parent's."""
        if self.part is not None:
            self.part.abandon()
            self.part = None
        self.is_child = True
        self.user_on_send = None  # the parent's output stream is the parent's alone
        self.spawned = []
        self._live_events.clear()
        self.tracer.forked(keep=False)
        self.tracer.on_send = self._on_send
        self.part = _Part(self.folder, self._process(parent=os.getppid(), forked=True))
        atexit.register(self.finish)

    def _process(self, *, parent: int | None, forked: bool = False) -> TraceProcess:
        if forked:
            self.argv = f"{self.argv.removesuffix(f' (forked from {self._forked_from})')} (forked from {parent})"
            self._forked_from = parent
        return TraceProcess(os.getpid(), parent, self.argv, False)

    # -- events --------------------------------------------------------------------
    def _on_send(self, events: list[TraceEvent], root: int) -> None:
        complete = bool(events) and events[0].id == root
        if self.part is not None:
            self.part.write(events, complete)
        elif self.user_on_send is not None:
            self.user_on_send(events, root)
        if self.live is None:
            return
        if not events:
            self._live_events.pop(root, None)
            return
        self._live_events.setdefault(root, []).extend(events)
        if complete:
            done = self._live_events.pop(root)
            if events[0].kind == "request" and events[0].parent is None:  # a server's, not a test client's
                self.live(TraceLog(events=tuple(sorted(done, key=lambda e: (e.start_ns, e.id)))))


_active: ProcessTrace | None = None
_hooks_installed = False


def _after_fork_in_child() -> None:
    # Another thread may have held a lock of the tracer's at the fork: the child's copy would stay locked.
    from . import groups, imports, recorder, tracer

    recorder._lock = threading.Lock()
    groups._lock = threading.Lock()
    imports._lock = threading.RLock()
    tracer._names_lock = threading.Lock()
    trace = _active
    if trace is not None and (trace.tracer.is_started or trace.is_child):  # a child may still wait for Django
        trace.forked()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # Which programs this process started, to name those that did not trace themselves.
    trace = _active
    if trace is None or event != "subprocess.Popen":
        return
    command = args[1]
    if isinstance(command, str | bytes | os.PathLike):
        text = os.fsdecode(command)
    else:
        try:
            text = " ".join(os.fsdecode(part) for part in command)
        except TypeError:
            return
    trace.spawned.append(text)


def _install_process_hooks() -> None:
    """Install, once per process, the fork handler, the audit hook and the multiprocessing bootstrap wrapper.

    Neither a fork handler nor an audit hook can be removed: both do nothing
    once the trace is over.
    """
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
    sys.addaudithook(_audit)
    when_imported("multiprocessing.process", _wrap_bootstrap)


def _wrap_bootstrap(process: Any) -> None:
    original = process.BaseProcess._bootstrap

    def _bootstrap(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            trace = _active
            if trace is not None and trace.is_child:
                trace.finish()  # multiprocessing ends a forked child with os._exit: no atexit

    process.BaseProcess._bootstrap = _bootstrap


def read_parts(folder: Path, spawned_here: Sequence[str] = ()) -> tuple[list[TraceLog], list[str]]:
    """Return the logs of the parts in `folder`, and notes on what could not be traced or was cut short.

    `spawned_here` are the programs the caller's own process started
    (ProcessTrace.spawned): those that wrote no part are named too.

    A part that has no end line was cut short (its process was killed, or
    ended with os._exit); the lines it holds are kept, its last one only
    when whole.
    """
    logs: list[TraceLog] = []
    notes: list[str] = []
    spawned: list[str] = list(spawned_here)  # the programs the caller's own process started
    argvs: list[str] = []
    stopped: list[TraceProcess] = []
    for path in sorted((folder / "parts").glob("*.jsonl")):
        process: TraceProcess | None = None
        events: list[TraceEvent] = []
        finished = False
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                break  # the last line of a part cut short
            try:
                if type(data) is list:
                    events.extend(_event(row) for row in data)
                elif "process" in data and process is None:
                    head = data["process"]
                    process = TraceProcess(int(head["pid"]), head["parent"], str(head["argv"]), False)
                elif "end" in data:
                    finished = True
                    spawned.extend(str(note).removeprefix("spawned ") for note in data["end"].get("notes", ()))
            except (TypeError, ValueError, KeyError, AttributeError):
                break  # not a line this module wrote
        if process is None:
            continue
        process = TraceProcess(process.pid, process.parent, process.argv, finished)
        argvs.append(process.argv)
        if not finished and events:
            stopped.append(process)
        events.sort(key=lambda e: (e.start_ns, e.id))
        logs.append(TraceLog(events=tuple(_dedupe(events)), processes=(process,)))
    return logs, notes + _part_notes(folder, stopped, spawned, argvs)


def read_part_streams(
    folder: Path, spawned_here: Sequence[str] = (), *, max_sends: int
) -> tuple[list[TraceStream], list[str]]:
    """Return what read_parts returns, each part's log as a TraceStream, keeping the last `max_sends` sends of them all.

    The parts are read line by line, once: of all their sends, the
    `max_sends` that ended last are kept (with their receiver calls, and
    every group), as a tracer's ring buffer keeps them, and the others are
    counted in the streams' `dropped`. The kept lines are copied, in start
    order, to a temporary file of the streams' own (deleted when they are),
    so `folder` can be removed at once; each reading of a stream reads its
    lines back from there, a chunk of events at a time.
    """
    notes: list[str] = []
    spawned: list[str] = list(spawned_here)
    argvs: list[str] = []
    stopped: list[TraceProcess] = []
    serial = itertools.count()
    latest: list[tuple[int, int, int, int, int, int]] = []  # (end, serial, part, offset, start, id): a heap
    groups: list[tuple[int, int, int, int]] = []  # (part, offset, start, id)
    parts: list[tuple[Path, TraceProcess, int]] = []  # each part, its process, and its sends
    for path in sorted((folder / "parts").glob("*.jsonl")):
        found = _scan_part(path, len(parts), max_sends, serial, latest, groups)
        if found is None:
            continue
        process, finished, spawns, sends, has_events = found
        spawned.extend(spawns)
        argvs.append(process.argv)
        if not finished and has_events:
            stopped.append(process)
        parts.append((path, process, sends))
    kept: list[list[tuple[int, int, int]]] = [[] for _ in parts]  # each part's (start, id, offset)
    kept_sends = [0 for _ in parts]
    for _, _, part, offset, start, event_id in latest:
        kept[part].append((start, event_id, offset))
        kept_sends[part] += 1
    for part, offset, start, event_id in groups:
        kept[part].append((start, event_id, offset))
    del latest, groups
    # The streams' own, made in the run's folder: the OS deletes it once it is closed. Not in the
    # default temporary folder: the program may have moved that and removed it at its exit (Django's
    # runtests.py sets tempfile.tempdir to a folder of its own and deletes it in an atexit handler).
    store = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115
    streams: list[TraceStream] = []
    for (path, process, sends), lines, sends_kept in zip(parts, kept, kept_sends, strict=True):
        lines.sort()
        begin = store.tell()
        with path.open("rb") as handle:
            for _, _, offset in lines:
                handle.seek(offset)
                store.write(handle.readline().rstrip(b"\n") + b"\n")
        streams.append(
            TraceStream(_part_chunks(store, begin, store.tell()), dropped=sends - sends_kept, processes=(process,))
        )
    store.flush()
    # Closed when the last stream's chunks go (quietly: a file left to the collector warns).
    readers = [stream._chunks for stream in streams]
    if not readers:
        store.close()
    remaining = [len(readers)]

    def release() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            store.close()

    for reader in readers:
        weakref.finalize(reader, release)
    # And at the exit, whatever still holds a stream: the program's atexit handlers (the weak
    # references' own among them) ran when it ended, so this one is registered after them.
    atexit.register(store.close)
    return streams, notes + _part_notes(folder, stopped, spawned, argvs)


def _part_notes(folder: Path, stopped: list[TraceProcess], spawned: list[str], argvs: list[str]) -> list[str]:
    """The notes on the processes of `folder` that were cut short, not traced or never wrote a part."""
    notes = []
    if stopped:
        pids = ", ".join(f"{process.pid} ({process.argv})" for process in stopped)
        many = len(stopped) != 1
        notes.append(
            f"{len(stopped)} process{'es were' if many else ' was'} stopped before {'they' if many else 'it'} "
            f"ended {'their' if many else 'its'} trace (killed, as Pool.terminate() does, or os._exit): {pids}; "
            "a send in progress then is not in the trace"
        )
    for path in sorted((folder / "untraced").iterdir()):
        try:
            argv, _, why = path.read_text(encoding="utf-8").partition("\n")
        except OSError:
            continue
        notes.append(f"not traced: {short_argv(argv.split())} ({why})")
    return notes + _untraced_spawns(spawned, argvs)


def _scan_part(
    path: Path,
    part: int,
    max_sends: int,
    serial: Iterator[int],
    latest: list[tuple[int, int, int, int, int, int]],
    groups: list[tuple[int, int, int, int]],
) -> tuple[TraceProcess, bool, list[str], int, bool] | None:
    """Read the part at `path` line by line, for read_part_streams: what it keeps goes into `latest` and `groups`.

    Each send's line is pushed on `latest`, a heap of the `max_sends` that
    ended last (of every part read so far), each group's line onto `groups`,
    by where it starts in the file. Return the part's process, whether it
    ended its trace, the programs it says it spawned, its sends, and whether
    it holds any event; None for a file with no process line.
    """
    process: TraceProcess | None = None
    finished = False
    spawns: list[str] = []
    sends = 0
    has_events = False
    try:
        handle = path.open("rb")
    except OSError:
        return None
    with handle:
        while True:
            offset = handle.tell()
            line = handle.readline()
            if not line:
                break
            try:
                data = json.loads(line)
            except ValueError:
                break  # the last line of a part cut short
            try:
                if type(data) is list:
                    events = [_event(row) for row in data]
                    if not events:
                        continue
                    has_events = True
                    first = min(events, key=lambda e: (e.start_ns, e.id))
                    send = next((event for event in events if event.kind == "send"), None)
                    if send is None:
                        groups.append((part, offset, first.start_ns, first.id))
                        continue
                    sends += 1
                    entry = (send.start_ns + send.duration_ns, next(serial), part, offset, first.start_ns, first.id)
                    if len(latest) < max_sends:
                        heapq.heappush(latest, entry)
                    elif max_sends and entry > latest[0]:
                        heapq.heapreplace(latest, entry)
                elif "process" in data and process is None:
                    head = data["process"]
                    process = TraceProcess(int(head["pid"]), head["parent"], str(head["argv"]), False)
                elif "end" in data:
                    finished = True
                    spawns.extend(str(note).removeprefix("spawned ") for note in data["end"].get("notes", ()))
            except (TypeError, ValueError, KeyError, AttributeError):
                break  # not a line this module wrote
    if process is None:
        return None
    return TraceProcess(process.pid, process.parent, process.argv, finished), finished, spawns, sends, has_events


def _part_chunks(store: IO[bytes], begin: int, end: int) -> Callable[[], Iterator[list[TraceEvent]]]:
    """Return the chunks of one part's kept lines, from `begin` to `end` in `store`, for its TraceStream."""

    def runs() -> Iterator[list[TraceEvent]]:
        position = begin
        while position < end:
            store.seek(position)
            line = store.readline()
            position += len(line)
            events = [_event(row) for row in json.loads(line)]
            events.sort(key=lambda e: (e.start_ns, e.id))
            yield events

    def chunks() -> Iterator[list[TraceEvent]]:
        seen: set[int] = set()  # a part holds each event once; read_parts drops a second copy too
        chunk: list[TraceEvent] = []
        for event in in_start_order(runs()):
            if event.id in seen:
                continue
            seen.add(event.id)
            chunk.append(event)
            if len(chunk) == CHUNK_EVENTS:
                yield chunk
                chunk = []
        yield chunk

    return chunks


def _row(event: TraceEvent) -> tuple[Any, ...]:
    """Return `event` as the part's line holds it: its fields, in order."""
    return (event.id, event.parent, event.kind, event.signal, event.sender, event.receiver, event.method,
            event.start_ns, event.duration_ns, event.thread, event.is_async, event.outcome, event.error,
            event.result_type, event.kwargs, event.details, event.label, event.process)  # fmt: skip


def _event(row: Any) -> TraceEvent:
    """Return the event _row wrote as `row`. Raises TypeError or ValueError for anything else."""
    if type(row) is not list or len(row) != 18:
        raise ValueError("not an event's row")
    fields = list(row)
    for index in (14, 15):  # kwargs and details: pairs
        fields[index] = tuple((str(name), str(value)) for name, value in fields[index])
    return make_event(*fields)


def _dedupe(events: list[TraceEvent]) -> list[TraceEvent]:
    seen: set[int] = set()
    kept = []
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            kept.append(event)
    return kept


def _untraced_spawns(spawned: list[str], traced: list[str]) -> list[str]:
    """Name the programs started with subprocess that wrote no part: not Python, or ignoring PYTHONPATH."""
    left = list(traced)
    missing = []
    for command in spawned:
        words = command.split()
        tail = " ".join(words[1:])
        match = next((argv for argv in left if argv == short_argv(words[1:]) or (tail and argv.startswith(tail))), None)
        if match is not None:
            left.remove(match)
        else:
            missing.append(short_argv(words, width=60))
    if not missing:
        return []
    counts: dict[str, int] = {}
    for command in missing:
        counts[command] = counts.get(command, 0) + 1
    named = "; ".join(command + (f" ×{n}" if n > 1 else "") for command, n in sorted(counts.items()))
    plural = len(missing) != 1
    return [
        f"not traced: {len(missing)} child program{'s' if plural else ''} that {'are' if plural else 'is'} "
        f"not Python, or a Python that ignores PYTHONPATH: {named}"
    ]

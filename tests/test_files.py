"""Output files: never replace what is not a regular file; keep an existing file's mode and links.

No test here touches the machine's own devices: device nodes are made with
mknod in a temporary folder (as root only), FIFOs with mkfifo.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from pathlib import Path

import pytest
from helpers import FIXTURES, run, signalscope

from signalscope._files import check_output, open_output_stream, write_output
from signalscope.errors import OutputError

needs_root = pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="mknod needs root")


@needs_root
def test_a_character_device_is_written_through_not_replaced(tmp_path: Path) -> None:
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a null device of our own
    write_output(str(node), "digraph {}\n")
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert not list(tmp_path.glob(".signalscope-*"))


@needs_root
def test_the_cli_repro_leaves_the_device_a_device(tmp_path: Path) -> None:
    node = tmp_path / "n"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = signalscope("graph", "--project", str(FIXTURES / "shop"), "-f", "dot", "-o", str(node))
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(node.lstat().st_mode)


@needs_root
def test_a_block_device_is_refused_and_left_alone(tmp_path: Path) -> None:
    node = tmp_path / "disk"
    # A loop-device number that no driver answers here: even a wrong write could not reach a disk.
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 250))
    with pytest.raises(OutputError, match="block device"):
        check_output(str(node))
    with pytest.raises(OutputError, match="block device"):
        write_output(str(node), "x")
    assert stat.S_ISBLK(node.lstat().st_mode)


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_output(str(fifo), "through the pipe\n")
    reader.join(10)
    assert got == ["through the pipe\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    target = tmp_path / "real.dot"
    target.write_text("old\n")
    link = tmp_path / "link.dot"
    link.symlink_to(target)
    write_output(str(link), "new\n")
    assert link.is_symlink()
    assert target.read_text() == "new\n"


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    write_output(str(link), "{}\n")
    assert link.is_symlink()
    assert (tmp_path / "made.json").read_text() == "{}\n"


def test_an_existing_files_mode_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "private.json"
    target.write_text("old\n")
    target.chmod(0o600)
    write_output(str(target), "new\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "new\n"


def test_a_new_file_gets_the_usual_mode(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_output(str(tmp_path / "new.txt"), "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_a_hard_linked_file_keeps_its_links(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    first.write_text("old\n")
    second = tmp_path / "b.json"
    os.link(first, second)
    write_output(str(first), "new\n")
    assert second.read_text() == "new\n"
    assert first.stat().st_ino == second.stat().st_ino


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="folder"):
        write_output(str(tmp_path), "x")
    with pytest.raises(OutputError, match="no folder"):
        check_output(str(tmp_path / "missing" / "x.json"))


def test_dev_stdout_is_the_descriptor_not_a_reopened_file(tmp_path: Path) -> None:
    # Reopening /dev/stdout (-> /proc/self/fd/1 -> the file) with O_TRUNC would wipe what
    # the shell appended to it, and os.replace would swap the file for a new one.
    out = tmp_path / "out.txt"
    out.write_text("kept\n")
    code = "from signalscope._files import write_output; write_output('/dev/stdout', 'added\\n')"
    with out.open("a") as handle:
        proc = __import__("subprocess").run([sys.executable, "-c", code], stdout=handle, check=False)
    assert proc.returncode == 0
    assert out.read_text() == "kept\nadded\n"


def test_a_stream_truncates_in_place(tmp_path: Path) -> None:
    target = tmp_path / "trace.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    inode = target.stat().st_ino
    with open_output_stream(str(target)) as stream:
        stream.write("new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_ino == inode
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_trace_jsonl_to_an_old_file_with_a_missing_program_keeps_the_file(tmp_path: Path) -> None:
    old = tmp_path / "old.jsonl"
    old.write_text('{"kept": true}\n')
    result = signalscope("trace", "-f", "jsonl", "-o", str(old), "--", str(tmp_path / "nosuch.py"))
    assert result.returncode == 2, result.stderr
    assert "No such program" in result.stderr
    assert old.read_text() == '{"kept": true}\n'


def test_trace_output_is_checked_before_the_program_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "prog.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    result = signalscope("trace", "-f", "json", "-o", str(tmp_path / "missing" / "t.json"), "--", str(script))
    assert result.returncode == 2
    assert "no folder" in result.stderr
    assert not marker.exists()


def test_commands_check_output_before_loading(tmp_path: Path) -> None:
    # A folder given as -o: an error at once, whatever the project (this one does not exist).
    folder = str(tmp_path)
    for args in (["graph", "-f", "dot", "-o", folder], ["check", "-o", folder], ["snapshot", "-o", folder]):
        result = run([sys.executable, "-m", "signalscope", *args, "--project", str(tmp_path / "none")])
        assert result.returncode == 2
        assert "it is a folder" in result.stderr, (args, result.stderr)


def _fake_dot(folder: Path, body: str) -> dict[str, str]:
    """A `dot` on PATH that records its pid and then runs `body` (shell)."""
    import shutil

    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text(f"#!/bin/sh\necho $$ > {folder / 'dot.pid'}\n{body}\n")
    script.chmod(0o755)
    from helpers import clean_env

    python_dir = os.path.dirname(shutil.which("python3") or sys.executable)
    return clean_env(PATH=f"{bin_dir}:{os.path.dirname(sys.executable)}:{python_dir}:/usr/bin:/bin")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (its parent has not reaped it yet).
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True


def test_sigterm_during_graph_stops_graphviz(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    env = _fake_dot(tmp_path, "exec sleep 60")
    args = ["graph", "--project", str(FIXTURES / "shop"), "-o", str(tmp_path / "g.svg")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "signalscope", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    pid_file = tmp_path / "dot.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    dot_pid = int(pid_file.read_text())
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert proc.returncode == -signal.SIGTERM
    deadline = time.monotonic() + 10
    while _alive(dot_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(dot_pid), "Graphviz's dot was left running"
    assert not (tmp_path / "g.svg").exists()


def test_a_slow_dot_is_stopped_with_a_clear_message(tmp_path: Path) -> None:
    env = _fake_dot(tmp_path, "exec sleep 60")
    env["SIGNALSCOPE_DOT_TIMEOUT"] = "1"
    out = tmp_path / "g.svg"
    result = run(
        [sys.executable, "-m", "signalscope", "graph", "--project", str(FIXTURES / "shop"), "-o", str(out)], env=env
    )
    assert result.returncode == 2, result.stderr
    assert "did not finish drawing svg in 1 s" in result.stderr
    assert "SIGNALSCOPE_DOT_TIMEOUT" in result.stderr
    assert not _alive(int((tmp_path / "dot.pid").read_text()))
    assert not out.exists()


def test_a_trailing_slash_never_writes_the_file_before_it(tmp_path: Path) -> None:
    # realpath("x.json/") is x.json: the shell's `>` refuses it ("Not a directory"), and so must -o.
    existing = tmp_path / "existing.json"
    existing.write_text("KEEP\n")
    result = signalscope("check", "--project", str(FIXTURES / "shop"), "-o", f"{existing}/")
    assert result.returncode == 2 and "ends in a slash" in result.stderr, result.stderr
    assert existing.read_text() == "KEEP\n"
    script = tmp_path / "prog.py"
    script.write_text("pass\n")
    result = signalscope("trace", "-f", "json", "-o", f"{tmp_path / 'newdir'}/", "--", str(script))
    assert result.returncode == 2 and "ends in a slash" in result.stderr, result.stderr
    assert not (tmp_path / "newdir").exists()


def test_a_missing_module_leaves_the_jsonl_file_alone(tmp_path: Path) -> None:
    old = tmp_path / "old.jsonl"
    old.write_text("KEEP\n")
    result = signalscope("trace", "-f", "jsonl", "-o", str(old), "--", "-m", "nosuchmodule_here", cwd=tmp_path)
    assert result.returncode == 2 and "No module named 'nosuchmodule_here'" in result.stderr, result.stderr
    assert old.read_text() == "KEEP\n"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "found_here.py").write_text("print('ran')\n")
    found = signalscope("trace", "-f", "summary", "--pythonpath", str(tmp_path / "lib"), "--", "-m", "found_here")
    assert found.returncode == 0 and found.stdout == "ran\n", found.stderr


def test_a_dangling_symlink_names_the_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "nowhere" / "x.json")
    with pytest.raises(OutputError, match=f"there is no folder {tmp_path / 'nowhere'}"):
        check_output(str(tmp_path / "link"))

"""Where findings' files are in the repository: its root, found by walking up to ``.git``, and paths relative to it.

CI reads paths relative to the repository's root: GitHub's annotations and
code scanning resolve them from the checkout, so a project in ``backend/``
has its findings in ``backend/billing/signals.py``, not ``billing/signals.py``.
git itself is not run: a ``.git`` entry (a folder, or the file a worktree or
submodule has) marks the root.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

from ..model.check import Finding

__all__ = ["find_repository_root", "relative_to_root", "with_repo_files"]


def find_repository_root(start: str | os.PathLike[str]) -> Path | None:
    """Return the nearest folder at or above `start` that holds a ``.git`` entry, or None."""
    folder = Path(os.path.abspath(start))
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


def relative_to_root(file: str, search_roots: Sequence[str], root: Path) -> str | None:
    """Return `file` (relative to one of `search_roots`, longest first, or absolute) relative to `root`.

    The search root is the one that holds a file of that name, as the
    loader chose it (the longest that holds it). None when the file is not
    found or not under `root`.
    """
    if os.path.isabs(file):
        candidates: Iterable[str] = (file,)
    else:
        parts = PurePosixPath(file).parts
        candidates = (os.path.join(base, *parts) for base in search_roots)
    top = os.path.abspath(root)
    for candidate in candidates:
        if not os.path.isfile(candidate):
            continue
        for path, base in ((os.path.abspath(candidate), top), (os.path.realpath(candidate), os.path.realpath(top))):
            if path.startswith(base.rstrip(os.sep) + os.sep):
                return Path(os.path.relpath(path, base)).as_posix()
        return None
    return None


def with_repo_files(findings: Iterable[Finding], search_roots: Sequence[str], root: Path | None) -> list[Finding]:
    """Return `findings` with `repo_file` set: each file relative to the repository `root` (None: unchanged)."""
    if root is None:
        return list(findings)
    known: dict[str, str | None] = {}
    located = []
    for finding in findings:
        if finding.file is not None:
            if finding.file not in known:
                known[finding.file] = relative_to_root(finding.file, search_roots, root)
            finding = replace(finding, repo_file=known[finding.file])
        located.append(finding)
    return located

"""`signalscope check`: find signal wiring bugs in a loaded project's registry and source.

The rules (model/check.py documents each) read the live registry, the
dependency graph's cascade states and, for SS001 and SS003, the project's
source with `ast` (nothing is imported or run). Pure functions of their
inputs: the API gathers them from the loaded project. SS001 and SS002 see
through decorators: a receiver behind one without functools.wraps is its
wrapper, matched to the function it wraps by `CheckInput.wrapped`. SS005's
loops are in loops.py; where findings' files are in the repository, in paths.py.
"""

from __future__ import annotations

import difflib
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model import Connection, ReceiverRef
from ..model.cascade import CascadeMap
from ..model.check import RULES, Finding, at_or_above
from .declared import Declaration, WeakConnect, scan_sources
from .loops import find_loops
from .paths import find_repository_root, with_repo_files

if TYPE_CHECKING:
    from ..loader import Project

__all__ = ["AppInfo", "CheckInput", "at_or_above", "gather_input", "run_checks", "scan_sources"]

#: Signals sent so often that a receiver for every sender costs on every query or save.
HOT_SIGNALS = {
    "pre_init": "every model instance created or loaded (every row of every query)",
    "post_init": "every model instance created or loaded (every row of every query)",
    "pre_save": "every save of every model",
    "post_save": "every save of every model",
}


@dataclass(frozen=True)
class AppInfo:
    """An installed app of the project: where its code is and which AppConfig to fix."""

    label: str
    module: str  # "billing"
    config: str  # "billing.apps.BillingConfig"
    config_file: str | None  # "billing/apps.py"


@dataclass
class CheckInput:
    """Everything the rules read."""

    cmap: CascadeMap
    apps: list[AppInfo]
    declarations: list[Declaration] = field(default_factory=list)
    weak_connects: list[WeakConnect] = field(default_factory=list)
    imported: frozenset[str] = frozenset()  # module names imported in the process (sys.modules)
    project_modules: frozenset[str] = frozenset()  # the project's own modules
    # The functions each connection's receiver wraps (introspect's scan_wrapped), where it wraps any.
    wrapped: Mapping[Connection, tuple[ReceiverRef, ...]] = field(default_factory=dict)
    # The repository root findings' files are shown relative to (None: as they are), and the
    # sys.path folders those files are relative to, longest first (loader.Project.search_roots).
    root: Path | None = None
    search_roots: tuple[str, ...] = ()


def run_checks(data: CheckInput, *, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Finding]:
    """Run the rules (all, or those in `select`, minus `ignore`); findings sorted by file, line, rule.

    Each finding's `repo_file` is its file relative to `data.root`, when that holds it.
    """
    chosen = set(select) or set(RULES)
    chosen -= set(ignore)
    findings: list[Finding] = []
    for rule_id, rule in sorted(_RULE_FUNCTIONS.items()):
        if rule_id in chosen:
            findings.extend(rule(data))
    located = with_repo_files(set(findings), data.search_roots, data.root)
    return sorted(located, key=lambda f: (f.shown_file or "~", f.line or 0, f.rule, f.message))


def _short(path: str) -> str:
    return path.rsplit(":", 1)[-1]


def _module_of(path: str) -> str:
    return path.split(":", 1)[0]


def _at_receiver(conn: Any, rule: str, message: str) -> Finding:
    """A finding at the receiver of `conn` (its file and line), naming its signal and receiver."""
    return Finding(conn.receiver.file, conn.receiver.line, rule, message, conn.signal, conn.receiver.path)


def _ss001(data: CheckInput) -> list[Finding]:
    connected = {conn.receiver.path for conn in data.cmap.registry.connections}
    # Behind a decorator without functools.wraps, what is connected is the wrapper.
    connected.update(ref.path for refs in data.wrapped.values() for ref in refs)
    findings = []
    for decl in data.declarations:
        path = f"{decl.module}:{decl.qualname}"
        if path in connected:
            continue
        app = _app_of(decl.module, data.apps)
        how = "decorated with @receiver" if decl.how == "decorator" else "passed to .connect()"
        if decl.module not in data.imported:
            where = f"{app.config}.ready()" + (f" ({app.config_file})" if app.config_file else "") if app else "ready()"
            cause = f"{decl.module} is never imported: import it in {where}"
        else:
            cause = f"{decl.module} is imported, but the code that connects it never ran"
        findings.append(
            Finding(
                decl.file, decl.line, "SS001", f"{decl.qualname} is {how} but never connected: {cause}.", None, path
            )
        )
    return findings


def _app_of(module: str, apps: list[AppInfo]) -> AppInfo | None:
    matches = [app for app in apps if module == app.module or module.startswith(app.module + ".")]
    return max(matches, key=lambda app: len(app.module)) if matches else None


def _ss002(data: CheckInput) -> list[Finding]:
    groups: dict[tuple[object, ...], list[Connection]] = defaultdict(list)
    for conn in data.cmap.registry.connections:
        r = conn.receiver
        # A partial's bound arguments may make each connection different on purpose: not judged.
        if conn.is_dead or r.file is None or r.kind == "partial":
            continue
        # Django keys a bound method by (id(its object), id(its function)) and never connects one key
        # twice: two such connections without a dispatch_uid are bound to two objects, each running once
        # (Django 5.1+ binds Options.setting_changed to every swappable model's _meta; storages bind theirs).
        # A callable instance is keyed by id() too: two instances of one class are two receivers.
        if r.kind in ("method", "callable") and conn.dispatch_uid is None:
            continue
        # Wrappers made by one decorator share their code: the same receiver wraps the same functions.
        inner = tuple((w.file, w.line, _short(w.path)) for w in data.wrapped.get(conn, ()))
        key = (conn.signal, conn.sender.kind, conn.sender.label, r.file, r.line, _short(r.path), inner)
        groups[key].append(conn)
    declared = {f"{d.module}:{d.qualname}" for d in data.declarations}
    findings = []
    for conns in groups.values():
        if len(conns) < 2:
            continue
        first = conns[0]
        signal, label, where = first.signal, first.sender.label, first.receiver
        uids = sorted({c.dispatch_uid for c in conns if c.dispatch_uid is not None})
        paths = sorted({c.receiver.path for c in conns})
        path = paths[0]
        detail = []
        # Connected as a wrapper without functools.wraps: named and placed as the function it declares.
        wrapped = next((w for w in data.wrapped.get(first, ()) if w.path in declared), None)
        if wrapped is not None and where.path not in declared:
            detail.append("connected as " + " and ".join(paths))
            where, path = wrapped, wrapped.path
        elif len(paths) > 1:
            detail.append("imported as " + " and ".join(paths))
        if uids:
            detail.append("dispatch_uid " + ", ".join(repr(u) for u in uids))
        sender = f" for {label}" if label else ""
        message = (
            f"{_short(where.path)} is connected {len(conns)} times to {_short(signal)}{sender}"
            + (f" ({'; '.join(detail)})" if detail else "")
            + f": it runs {len(conns)} times per send."
        )
        findings.append(Finding(where.file, where.line, "SS002", message, signal, path))
    return findings


def _ss003(data: CheckInput) -> list[Finding]:
    # Only connects the source shows to be doomed. A dead entry found in Django's lists with no such
    # connect is not a finding: nothing names its code, and Django's own short-lived objects leave
    # them (a temporary FileSystemStorage connects a bound method to setting_changed weakly: run by
    # the staticfiles system check, it made `manage.py check` fail). Django sweeps them at the next send.
    findings = []
    for weak in data.weak_connects:
        findings.append(
            Finding(
                weak.file,
                weak.line,
                "SS003",
                f"{weak.what} is connected to {weak.signal} by weak reference (the default): nothing else "
                "holds it, so it is garbage-collected and never runs (with DEBUG on, Django's cache of the "
                "receivers' signatures can keep it alive: it runs in development, not in production); "
                "connect a module-level function or pass weak=False.",
            )
        )
    return findings


def _ss004(data: CheckInput) -> list[Finding]:
    labels = [m.label for m in data.cmap.models]
    by_lower = {label.lower(): label for label in labels}
    findings = []
    for conn in data.cmap.registry.connections:
        if not conn.is_pending:
            continue
        wanted = conn.sender.label or "?"
        close = difflib.get_close_matches(wanted.lower(), list(by_lower), n=1, cutoff=0.6)
        hint = f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
        app = wanted.split(".", 1)[0]
        why = (
            "no installed model has that label"
            if any(label.split(".", 1)[0].lower() == app.lower() for label in labels)
            else f"no installed app is labelled {app!r}"
        )
        findings.append(
            _at_receiver(
                conn,
                "SS004",
                f"{_short(conn.receiver.path)} waits for sender {wanted!r} on {_short(conn.signal)}, which never "
                f"resolves: {why}{hint}. It never runs.",
            )
        )
    return findings


def _ss005(data: CheckInput) -> list[Finding]:
    findings = []
    for loop in find_loops(data.cmap):
        closing = loop.steps[-1][0]
        path = []
        for state, steps in zip(loop.states, loop.steps, strict=True):
            path.append(_state_name(state))
            path.append(" or ".join(dict.fromkeys(_short(step.receiver) for step in steps)))
        path.append(_state_name(loop.states[0]))
        findings.append(
            Finding(
                closing.effect.file,
                closing.effect.line,
                "SS005",
                f"`{closing.effect.text}` in {_short(closing.receiver)} closes a cascade loop: "
                f"{' → '.join(path)}. No condition on the way stops it: write with QuerySet.update(), "
                "or guard a write (`if created:`, update_fields).",
                closing.before[0],
                closing.receiver,
            )
        )
    return findings


def _state_name(state: tuple[str, str | None]) -> str:
    return f"{_short(state[0])}({state[1] if state[1] is not None else '<unknown sender>'})"


def _ss006(data: CheckInput) -> list[Finding]:
    findings = []
    for conn in data.cmap.registry.connections:
        name = _short(conn.signal)
        if conn.sender.kind != "any" or name not in HOT_SIGNALS or conn.is_dead:
            continue
        if _module_of(conn.receiver.path) not in data.project_modules:
            continue  # Django's or a library's: not the project's to fix
        findings.append(
            _at_receiver(
                conn,
                "SS006",
                f"{_short(conn.receiver.path)} receives {name} from every sender: it runs for "
                f"{HOT_SIGNALS[name]}. Pass sender= the model it is about.",
            )
        )
    return findings


def _ss007(data: CheckInput) -> list[Finding]:
    through: dict[str, list[tuple[str, str]]] = defaultdict(list)  # model -> (attribute, through label)
    throughs = set()
    for model in data.cmap.models:
        for attribute, label in model.m2m:
            through[model.label].append((attribute, label))
            throughs.add(label)
    findings = []
    for conn in data.cmap.registry.connections:
        if _short(conn.signal) != "m2m_changed" or conn.sender.kind != "model" or conn.is_pending:
            continue
        label = conn.sender.label or ""
        if label in throughs:
            continue
        options = [f"{label.split('.')[1]}.{attr}.through" for attr, _ in sorted(through.get(label, []))]
        suggestion = f" (here: sender={' or '.join(options)})" if options else ""
        findings.append(
            _at_receiver(
                conn,
                "SS007",
                f"{_short(conn.receiver.path)} listens to m2m_changed from {label}, which never sends it: "
                f"m2m_changed's sender is the many-to-many field's through model{suggestion}. It never runs.",
            )
        )
    return findings


_RULE_FUNCTIONS = {
    "SS001": _ss001,
    "SS002": _ss002,
    "SS003": _ss003,
    "SS004": _ss004,
    "SS005": _ss005,
    "SS006": _ss006,
    "SS007": _ss007,
}


def gather_input(
    project: Project,
    cmap: CascadeMap,
    wrapped: Mapping[Connection, tuple[ReceiverRef, ...]],
    *,
    root: str | os.PathLike[str] | None = None,
) -> CheckInput:
    """Return what the rules read about the set-up `project`, given its cascade map and wrapped receivers.

    The project's source is read with `ast` (nothing is imported or run).
    Findings' files are shown relative to `root`, by default the repository
    root: the nearest folder above the project's (manage.py's, else the
    first --pythonpath) that holds a ``.git`` entry (paths.find_repository_root).
    """
    import sys

    from ..introspect.project import project_apps, project_modules

    apps = project_apps(project)
    declarations, weak = scan_sources([(a.module, a.folder, a.root) for a in apps])
    return CheckInput(
        cmap,
        [AppInfo(a.label, a.module, a.config, a.config_file) for a in apps],
        declarations,
        weak,
        frozenset(sys.modules),
        frozenset(project_modules(project)),
        wrapped=wrapped,
        root=_repository_root(project, root),
        search_roots=project.search_roots,
    )


def _repository_root(project: Project, root: str | os.PathLike[str] | None) -> Path | None:
    if root is not None:
        return Path(os.path.abspath(root))
    start = project.root if project.root is not None else next(iter(project.added_paths), None)
    return find_repository_root(start) if start is not None else None

"""The operations every front end (CLI, pytest plugin, Django app) calls."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence

from .errors import UnknownName
from .introspect import scan
from .loader import Project, load_project
from .model import CascadeMap, Connection, SignalMap, SignalRef, call_order_for_sender

__all__ = ["list_receivers", "load", "load_project", "match_signals", "scan", "select"]


def load(
    *,
    settings: str | None = None,
    project: str | os.PathLike[str] | None = None,
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    urls: bool = True,
) -> SignalMap:
    """Set up a Django project as manage.py would and return its signal registry.

    `settings`, `project`, `pythonpath` and `urls` are as for `load_project`.
    Django can be set up once per process: load one project per process.

    Raises SettingsNotFound, ProjectLoadError, UsageError and IntrospectionError.
    """
    return scan(load_project(settings=settings, project=project, pythonpath=tuple(pythonpath), urls=urls))


def match_signals(smap: SignalMap, name: str) -> list[SignalRef]:
    """Return the signals called `name`: a name ("post_save") or a path, with ':' or '.'.

    Raises UnknownName, with close matches, when none is.
    """
    wanted = name.strip()
    found = [s for s in smap.signals if wanted in (s.name, s.path, s.path.replace(":", "."))]
    if not found:
        raise UnknownName("signal", name, [s.name for s in smap.signals] + [s.path for s in smap.signals])
    return found


def _sender_matches(conn: Connection, label: str) -> bool:
    # A receiver for any sender runs for this one too.
    return conn.sender.is_any or (conn.sender.label or "").lower() == label


def select(
    smap: SignalMap,
    *,
    signals: Iterable[str] = (),
    sender: str | None = None,
    app: str | None = None,
    receiver: str | None = None,
    hide_django: bool = False,
) -> SignalMap:
    """Return the part of `smap` the filters let through; no filter keeps everything.

    `signals`: names or paths of signals to keep. `sender`: an
    "app_label.ModelName" label or another sender label; keeps receivers
    connected for that sender and, on the signals it can send (those it has
    receivers of its own on; for a model, also the model signals), those
    for any sender, renumbered and ordered as Django calls them for a send
    from it.
    `app`: an app label; keeps receivers defined in that app's modules.
    `receiver`: a glob over receiver paths ("accounts.*", "*:create_*").
    `hide_django`: drop receivers defined inside Django itself.
    A signal is kept when named in `signals`, or when, with any other filter
    given, some of its receivers pass.

    Raises UnknownName for a signal, sender or app that is not in `smap`.
    """
    signal_names = list(signals)
    kept_signals = list(smap.signals)
    if signal_names:
        paths = {s.path for name in signal_names for s in match_signals(smap, name)}
        kept_signals = [s for s in kept_signals if s.path in paths]
    conns = [c for c in smap.connections if c.signal in {s.path for s in kept_signals}]
    narrowed = False
    if sender is not None:
        label = sender.strip().lower()
        known = smap.model_labels() + [c.sender.label for c in smap.connections if c.sender.label]
        if label not in {k.lower() for k in known}:
            raise UnknownName("sender", sender, known)
        own_signals = {c.signal for c in conns if not c.sender.is_any and _sender_matches(c, label)}
        if label in {m.lower() for m in smap.model_labels()}:
            own_signals |= {s.path for s in smap.signals if s.category == "model"}
        conns = call_order_for_sender([c for c in conns if c.signal in own_signals and _sender_matches(c, label)])
        narrowed = True
    if app is not None:
        modules = {a.label: a.module for a in smap.apps}
        if app not in modules:
            raise UnknownName("app label", app, list(modules))
        prefix = modules[app]
        conns = [c for c in conns if _module_of(c) == prefix or _module_of(c).startswith(prefix + ".")]
        narrowed = True
    if receiver is not None:
        conns = [c for c in conns if fnmatch.fnmatchcase(c.receiver.path, receiver)]
        narrowed = True
    if hide_django:
        conns = [c for c in conns if not _is_django(c)]
        narrowed = True
    if narrowed and not signal_names:
        used = {c.signal for c in conns}
        kept_signals = [s for s in kept_signals if s.path in used]
    return SignalMap(
        signalscope=smap.signalscope,
        django=smap.django,
        settings=smap.settings,
        settings_source=smap.settings_source,
        signals=tuple(kept_signals),
        connections=tuple(conns),
        apps=smap.apps,
    )


def _module_of(conn: Connection) -> str:
    return conn.receiver.path.split(":", 1)[0]


def _is_django(conn: Connection) -> bool:
    module = _module_of(conn)
    return module == "django" or module.startswith("django.")


def cascade_map(project: Project, *, depth: int = 2) -> CascadeMap:
    """Scan the loaded `project` and read its receivers' code for what they write.

    Only the project's own modules are read (with `ast`: nothing is imported
    or run); `depth` levels of calls into its other functions are followed.

    Raises IntrospectionError.
    """
    import sys

    from django.conf import settings

    from .graph.effects import scan_effects
    from .introspect.models import scan_models

    registry = scan(project)
    models = scan_models()
    modules = {}
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if filename and project.is_project_file(filename):
            modules[name] = filename
    user_model = str(getattr(settings, "AUTH_USER_MODEL", "")) or None
    if user_model:
        user_model = next((m.label for m in models if m.label.lower() == user_model.lower()), user_model)
    effects = scan_effects(
        registry.connections,
        modules=modules,
        models=models,
        signals=[s.path for s in registry.signals],
        user_model=user_model,
        depth=depth,
        relpath=project.relpath,
    )
    return CascadeMap(registry=registry, models=models, effects=effects)


def list_receivers(
    project: Project,
    *,
    signals: Iterable[str] = (),
    sender: str | None = None,
    app: str | None = None,
    receiver: str | None = None,
    hide_django: bool = False,
) -> SignalMap:
    """Scan the loaded `project` and apply `select`'s filters.

    Raises UnknownName and IntrospectionError.
    """
    return select(scan(project), signals=signals, sender=sender, app=app, receiver=receiver, hide_django=hide_django)

"""Queries on a SignalMap: the signals a name means, and the part of the registry filters let through."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..errors import UnknownName
from . import Connection, SignalMap, SignalRef, call_order_for_sender

__all__ = [
    "FIXED_SENDERS",
    "MIGRATE_SIGNALS",
    "USER_MODEL_SIGNALS",
    "app_modules",
    "match_signals",
    "owning_app",
    "select",
]

#: pre_migrate's and post_migrate's senders are AppConfigs, one send per app.
MIGRATE_SIGNALS = frozenset({"django.db.models.signals:pre_migrate", "django.db.models.signals:post_migrate"})
#: django.contrib.auth's login() and logout() (and alogin/alogout) send these with sender=user.__class__:
#: the user model (SignalMap.user_model).
USER_MODEL_SIGNALS = frozenset(
    {"django.contrib.auth.signals:user_logged_in", "django.contrib.auth.signals:user_logged_out"}
)
#: Signals Django sends with one fixed sender, as its label: authenticate() sends user_login_failed with
#: sender=__name__, the string "django.contrib.auth" (not the user model).
FIXED_SENDERS = {"django.contrib.auth.signals:user_login_failed": "'django.contrib.auth'"}


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
    receivers of its own on; for a model, also the model signals; for the
    user model, also user_logged_in and user_logged_out; for an
    "<AppConfig: label>", the migrate signals; for a signal's FIXED_SENDERS
    label, that signal), those for any sender, renumbered and ordered as
    Django calls them for a send from it.
    `app`: an app label; keeps receivers defined in that app's modules.
    `receiver`: a glob over receiver paths ("accounts.*", "*:create_*").
    `hide_django`: drop receivers defined inside Django itself.
    A signal is kept when named in `signals`, or when, with any other filter
    given, some of its receivers pass.

    Raises UnknownName for a signal, sender, app or receiver glob that is not in `smap`.
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
        known += [f"<AppConfig: {a.label}>" for a in smap.apps]
        fixed = {path: FIXED_SENDERS[path] for path in (s.path for s in smap.signals) if path in FIXED_SENDERS}
        known += sorted(set(fixed.values()))
        if label not in {k.lower() for k in known}:
            raise UnknownName("sender", sender, known)
        own_signals = {c.signal for c in conns if not c.sender.is_any and _sender_matches(c, label)}
        if label in {m.lower() for m in smap.model_labels()}:
            own_signals |= {s.path for s in smap.signals if s.category == "model"}
        if label in {f"<appconfig: {a.label.lower()}>" for a in smap.apps}:  # migrate sends from each app
            own_signals |= {s.path for s in smap.signals if s.path in MIGRATE_SIGNALS}
        if smap.user_model is not None and label == smap.user_model.lower():
            own_signals |= {s.path for s in smap.signals if s.path in USER_MODEL_SIGNALS}
        own_signals |= {path for path, fixed_label in fixed.items() if fixed_label.lower() == label}
        conns = call_order_for_sender([c for c in conns if c.signal in own_signals and _sender_matches(c, label)])
        narrowed = True
    if app is not None:
        modules = {a.label: a.module for a in smap.apps}
        if app not in modules:
            raise UnknownName("app label", app, list(modules))
        # A module belongs to the most specific app that holds it: wagtail.admin's receivers are
        # wagtailadmin's, not wagtailcore's (module wagtail), though both prefixes match.
        owners = app_modules(smap)
        conns = [c for c in conns if owning_app(_module_of(c), owners) == app]
        narrowed = True
    if receiver is not None:
        everywhere = {c.receiver.path for c in smap.connections}
        if not any(fnmatch.fnmatchcase(path, receiver) for path in everywhere):  # a typo, not an empty answer
            globs = {f"{path.split('.')[0].split(':')[0]}.*" for path in everywhere}
            globs |= {f"{path.partition(':')[0]}:*" for path in everywhere}
            raise UnknownName("receiver glob", receiver, sorted(globs | everywhere))
        conns = [c for c in conns if fnmatch.fnmatchcase(c.receiver.path, receiver)]
        narrowed = True
    if hide_django:
        conns = [c for c in conns if not _is_django(c)]
        narrowed = True
    if narrowed and not signal_names:
        used = {c.signal for c in conns}
        kept_signals = [s for s in kept_signals if s.path in used]
    return replace(smap, signals=tuple(kept_signals), connections=tuple(conns))


def app_modules(smap: SignalMap) -> list[tuple[str, str]]:
    """Return the installed apps as (module, label) pairs, the longest module first (for `owning_app`)."""
    return sorted(((a.module, a.label) for a in smap.apps), key=lambda pair: (-len(pair[0]), pair[0]))


def owning_app(module: str, apps: Sequence[tuple[str, str]]) -> str | None:
    """Return the label of the most specific app whose module is `module` or holds it, or None.

    `apps` is `app_modules`' answer: the longest matching module wins, so
    ``wagtail.admin.signal_handlers`` is wagtailadmin's, not wagtailcore's.
    """
    return next((label for prefix, label in apps if module == prefix or module.startswith(prefix + ".")), None)


def _module_of(conn: Connection) -> str:
    return conn.receiver.path.split(":", 1)[0]


def _is_django(conn: Connection) -> bool:
    module = _module_of(conn)
    return module == "django" or module.startswith("django.")

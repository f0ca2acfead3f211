"""Brute-force, engine-independent listing of every receiver, for the ground-truth test.

Run as a script in a fresh process:  python ground_truth.py PROJECT_DIR [SETTINGS] [--no-urls] [--no-app]
Prints JSON: {"signals": [paths], "receivers": [{...}, ...]}, one dict per
receiver with the fields `signalscope list --json` documents. It shares no
code with signalscope: it scans *every* gc object (checking each type's
MRO), finds definitions with `ast`, names callables with `inspect`, decodes
entries by tuple length, and computes call positions by brute force.
"""

import ast
import functools
import gc
import importlib
import inspect
import json
import os
import re
import sys
import weakref

APPLICATION = None  # the server's application, kept alive as its server keeps it


def setup(project_dir, settings, urls, app=True):
    sys.path.insert(0, project_dir)
    if settings is None:
        with open(os.path.join(project_dir, "manage.py")) as handle:
            text = handle.read()
        settings = re.search(r"DJANGO_SETTINGS_MODULE['\"],\s*['\"]([\w.]+)", text).group(1)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    import django
    import django.core.management  # as manage.py imports it first

    django.setup()
    if app:  # what `manage.py runserver` loads: its command module, then (after the URLconf) the application
        import django.core.servers.basehttp as basehttp
    if urls:
        from django.conf import settings as s

        importlib.import_module(s.ROOT_URLCONF)
    if app:
        global APPLICATION
        APPLICATION = basehttp.get_internal_wsgi_application()


def is_signal(obj):
    from django.dispatch import Signal

    return Signal in type(obj).__mro__


def module_defines(module, attr):
    """True when the module's AST binds `attr` by assignment (module level or class body)."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return False
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == attr for t in targets):
            return True
    return False


def signal_names(signals):
    ids = {id(s): s for s in signals}
    places = {}
    for modname in sorted(sys.modules):
        module = sys.modules[modname]
        for attr, value in sorted(vars(module).items()) if hasattr(module, "__dict__") else ():
            if id(value) in ids:
                places.setdefault(id(value), []).append((modname, attr))
            # type(): inspect.isclass() is isinstance(), which wakes LazyObjects
            if issubclass(type(value), type) and value.__module__ == modname:
                for cattr, cvalue in vars(value).items():
                    if id(cvalue) in ids:
                        places.setdefault(id(cvalue), []).append((modname, f"{value.__qualname__}.{cattr}"))
    names = {}
    for key, options in places.items():
        defining = [(m, a) for m, a in options if "." not in a and module_defines(sys.modules[m], a)]
        class_attrs = [(m, a) for m, a in options if "." in a]
        if defining:
            options = defining
        elif class_attrs and not any("." not in a for _, a in options):
            options = class_attrs
        options.sort(key=lambda p: (not p[0].endswith("signals"), p[0].count("."), len(p[0]), p))
        names[key] = "{}:{}".format(*options[0])
    return names


def roots():
    entries = {os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)}
    return sorted(entries, key=len, reverse=True)


def rel(filename):
    if filename is None:
        return None
    filename = os.path.abspath(filename)
    for root in roots():
        if filename.startswith(root + os.sep):
            return filename[len(root) + 1 :].replace(os.sep, "/")
    return filename


def source_of(func):
    func = inspect.unwrap(func)
    try:
        return rel(inspect.getsourcefile(func)), inspect.getsourcelines(func)[1]
    except (TypeError, OSError):
        return None, None


def staticmethod_on_class(func):
    parts = func.__qualname__.split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return False
    owner = sys.modules[func.__module__]
    for part in parts[:-1]:
        owner = vars(owner).get(part) if hasattr(owner, "__dict__") else None
        if owner is None:
            return False
    return isinstance(vars(owner).get(parts[-1]), staticmethod)


def name_receiver(obj):
    """Return (path, kind, file, line)."""
    if obj is None:
        return "<dead>", "dead", None, None
    if isinstance(obj, functools.partial):
        inner = obj
        while isinstance(inner, functools.partial):
            inner = inner.func
        path, _kind, file, line = name_receiver(inner)
        return path, "partial", file, line
    if inspect.ismethod(obj):
        func = obj.__func__
        kind = "classmethod" if inspect.isclass(obj.__self__) else "method"
        return f"{func.__module__}:{func.__qualname__}", kind, *source_of(func)
    if inspect.isfunction(obj):
        if obj.__name__ == "<lambda>":
            kind = "lambda"
        elif staticmethod_on_class(obj):
            kind = "staticmethod"
        else:
            kind = "function"
        return f"{obj.__module__}:{obj.__qualname__}", kind, *source_of(obj)
    if inspect.isbuiltin(obj):
        return f"{obj.__module__}:{obj.__qualname__}", "builtin", None, None
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}.__call__", "callable", *source_of(cls.__call__)


def name_sender(obj):
    from django.apps import AppConfig
    from django.db import models

    if issubclass(type(obj), type) and issubclass(obj, models.Model):
        return "model", obj._meta.label
    if issubclass(type(obj), type) or inspect.isfunction(obj):
        return "object", f"{obj.__module__}:{obj.__qualname__}"
    if type(obj) in (str, bytes, int, float, bool):
        return "object", repr(obj)
    if isinstance(obj, AppConfig):
        return "object", f"<AppConfig: {obj.label}>"
    return "object", f"<{type(obj).__module__}.{type(obj).__qualname__} instance>"


def make_id(target):
    if hasattr(target, "__func__"):
        return (id(target.__self__), id(target.__func__))
    return id(target)


def is_async(receiver, stored):
    if stored is not None:
        return bool(stored)
    if receiver is None:
        return False
    import asyncio

    target = receiver
    while isinstance(target, functools.partial):
        target = target.func
    return asyncio.iscoroutinefunction(target)


def near_receiver(receiver, key):
    """The object with id() `key` in the namespaces signalscope documents for untracked senders, as a 1-tuple.

    The globals, then the attributes of the classes defined there, of the
    receiver's module, of the modules that module binds, and of every module of
    its top-level package.
    """
    target = receiver
    while True:
        if isinstance(target, functools.partial):
            target = target.func
        elif inspect.ismethod(target):
            target = target.__func__
        else:
            break
    home = getattr(target, "__module__", None) or type(target).__module__
    if home not in sys.modules:
        return None
    top = home.split(".")[0]
    names = [home]
    names += [v.__name__ for v in vars(sys.modules[home]).values() if type(v).__name__ == "module"]
    names += [n for n in list(sys.modules) if n == top or n.startswith(top + ".")]
    spaces = [(n, vars(sys.modules[n])) for n in names if type(sys.modules.get(n)).__name__ == "module"]
    for _name, space in spaces:
        for value in list(space.values()):
            if id(value) == key:
                return (value,)
    for name, space in spaces:
        for value in list(space.values()):
            if type(value).__mro__[-2:] == (type, object) and vars(value).get("__module__") == name:
                for member in list(vars(value).values()):
                    if id(member) == key:
                        return (member,)
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    project_dir = os.path.abspath(args[0])
    settings = args[1] if len(args) > 1 else None
    setup(project_dir, settings, "--no-urls" not in sys.argv, "--no-app" not in sys.argv)

    from django.apps import apps
    from django.dispatch.dispatcher import NONE_ID

    everything = gc.get_objects()
    signals = [o for o in everything if is_signal(o)]
    names = signal_names(signals)
    by_id = {}
    for obj in everything:
        by_id.setdefault(id(obj), obj)

    rows = []
    for signal in signals:
        # Signals bound to no name (kept in a container) are reported as "<unnamed>".
        path = names.get(id(signal), "<unnamed>")
        entries = list(signal.receivers)
        decoded = []
        for entry in entries:
            if len(entry) == 2:
                (rkey, skey), target = entry
                sref, stored_async, has_sref = None, None, False
            elif len(entry) == 3:
                (rkey, skey), target, stored_async = entry
                sref, has_sref = None, False
            else:
                (rkey, skey), target, sref, stored_async = entry
                has_sref = sref is not None
            weak = isinstance(target, (weakref.ref, weakref.WeakMethod))
            receiver = target() if weak else target
            if has_sref:
                sender_obj = sref()
                sender = ("dead", "<dead sender>") if sender_obj is None else name_sender(sender_obj)
            elif skey == NONE_ID:
                sender = ("any", None)
            elif skey in by_id:
                sender = name_sender(by_id[skey])
            elif receiver is not None and near_receiver(receiver, skey) is not None:
                sender = name_sender(near_receiver(receiver, skey)[0])
            else:
                sender = ("unknown", "<unidentified sender>")
            decoded.append((rkey, skey, receiver, weak, sender, stored_async))
        for i, (rkey, skey, receiver, weak, sender, stored_async) in enumerate(decoded):
            if sender[0] == "any":
                position = sum(1 for d in decoded[:i] if d[4][0] == "any")
            else:
                position = sum(1 for d in decoded[:i] if d[4][0] == "any" or d[1] == skey)
            rpath, kind, file, line = name_receiver(receiver)
            if receiver is not None:
                uid = None if rkey == make_id(receiver) else rkey
            else:
                uid = None if isinstance(rkey, (int, tuple)) else rkey
            rows.append(
                {
                    "signal": path,
                    "receiver": rpath,
                    "kind": kind,
                    "sender": sender[1],
                    "sender_kind": sender[0],
                    "position": position,
                    "dispatch_uid": uid if uid is None or isinstance(uid, str) else repr(uid),
                    "file": file,
                    "line": line,
                    "weak": weak,
                    "is_async": is_async(receiver, stored_async),
                    "dead": weak and receiver is None,
                    "pending": False,
                }
            )
    counters = {}
    for model_key, operations in apps._pending_operations.items():
        for op in operations:
            chain = []
            while hasattr(op, "func"):
                chain.append(op)
                op = op.func
            if getattr(op, "__name__", None) != "connect" or not is_signal(getattr(op, "__self__", None)):
                continue
            partial_obj = next(p for p in chain if isinstance(p, functools.partial))
            receiver = partial_obj.args[0]
            path = names.get(id(op.__self__), "<unnamed>")
            label = ".".join(model_key)
            slot = (path, label)
            rpath, kind, file, line = name_receiver(receiver)
            uid = partial_obj.keywords.get("dispatch_uid")
            rows.append(
                {
                    "signal": path,
                    "receiver": rpath,
                    "kind": kind,
                    "sender": label,
                    "sender_kind": "pending",
                    "position": counters.get(slot, 0),
                    "dispatch_uid": uid if uid is None or isinstance(uid, str) else repr(uid),
                    "file": file,
                    "line": line,
                    "weak": partial_obj.keywords.get("weak", True),
                    "is_async": is_async(receiver, None),
                    "dead": False,
                    "pending": True,
                }
            )
            counters[slot] = counters.get(slot, 0) + 1
    json.dump({"signals": sorted(set(names.values())), "receivers": rows}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

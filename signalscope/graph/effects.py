"""Find what receivers' code writes, by reading it with `ast`: the edges of signal cascades.

Nothing is imported or executed. A receiver's source is parsed, names are
resolved through its module's imports, and the expressions reaching the ORM
are typed as far as plain reading allows: a model class, a queryset or
manager of a model, an instance of a model. What each call then does is
known Django behaviour:

- ``Model.objects.create / get_or_create`` send pre_init and post_init (the
  object is made), then pre_save and post_save; ``update_or_create`` and
  ``instance.save()`` send pre_save and post_save;
- ``instance.delete()`` and ``QuerySet.delete()`` send pre_delete and
  post_delete (and delete cascaded rows: the graph follows ``cascades``);
- ``instance.<m2m>.add / remove / set / clear`` send m2m_changed, with the
  through model as sender;
- ``QuerySet.update()`` and ``bulk_create()`` send no save signal: they are
  kept as effects that send nothing, never drawn as a false edge;
- ``some_signal.send(...)`` (and send_robust, asend, asend_robust) sends it;
- a call to another function of the project is followed, to `depth` levels,
  with its arguments' types passed on.

A save, delete or create on something that can't be typed is kept as an
"unresolved" effect with its source text: never silently dropped.

Installed apps' receivers are read by the same rules (the caller says which
modules may be read), with the idioms history and audit apps use: a method
of the receiver's own object (``self.create_historical_record(...)``), the
bound object's plain attributes (``getattr(instance, self.manager_name)``),
a manager that serves another model (simple-history's ``instance.history``),
a custom manager's own methods (auditlog's ``LogEntry.objects.log_create``),
``apps.get_model()`` with literal labels or a setting holding one, and the
model a helper function returns. A receiver connected for several models is
read once per model, with ``instance`` of that model.

Each effect carries the condition on the signal's arguments it runs under
(``if created:``, ``if not kwargs.get("raw")``, an early ``return``), and
whether it runs inside ``transaction.on_commit(...)``.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..model import Connection
from ..model.cascade import EffectRef, ModelRef

__all__ = ["DELETE_SIGNALS", "INIT_SIGNALS", "M2M_SIGNALS", "SAVE_SIGNALS", "SIGNAL_ARGUMENTS", "scan_effects"]

_SIGNALS = "django.db.models.signals:"
SAVE_SIGNALS = (_SIGNALS + "pre_save", _SIGNALS + "post_save")
INIT_SIGNALS = (_SIGNALS + "pre_init", _SIGNALS + "post_init")  # Model(...): create() makes the object first
DELETE_SIGNALS = (_SIGNALS + "pre_delete", _SIGNALS + "post_delete")
M2M_SIGNALS = (_SIGNALS + "m2m_changed",)

_QS_TO_QS = frozenset(
    [
        "all",
        "filter",
        "exclude",
        "order_by",
        "select_related",
        "prefetch_related",
        "distinct",
        "using",
        "only",
        "defer",
        "annotate",
        "alias",
        "reverse",
        "select_for_update",
        "none",
    ]
)
_QS_TO_INSTANCE = frozenset(["get", "first", "last", "earliest", "latest", "create"])
_QS_TO_PAIR = frozenset(("get_or_create", "update_or_create"))
_CREATES = frozenset(("create", "get_or_create", "update_or_create"))
_SENDS = frozenset(("send", "send_robust", "asend", "asend_robust"))
_M2M_METHODS = frozenset(("add", "remove", "set", "clear"))
_MANAGERS = frozenset(("objects", "_default_manager", "_base_manager"))
_GET_MODEL = frozenset(("get_model", "get_registered_model"))
# Manager and queryset methods that only read: an untyped manager calling anything else may write.
_READS = (
    _QS_TO_QS
    | (_QS_TO_INSTANCE - {"create"})
    | frozenset(
        (
            "count",
            "exists",
            "values",
            "values_list",
            "aggregate",
            "in_bulk",
            "iterator",
            "get_queryset",
            "contains",
            "explain",
            "dates",
            "datetimes",
            "raw",
            "none",
            "complex_filter",
            "extra",
            "union",
            "intersection",
            "difference",
            "select_for_update",
            "get_by_natural_key",
        )
    )
)
# The arguments of Django's signals a condition can be written on, and how ``kwargs`` spells them.
SIGNAL_ARGUMENTS = frozenset(("created", "raw", "update_fields", "action", "reverse", "using", "origin", "pk_set"))


# Static types of expressions: ("class", label), ("qs", label), ("instance", label), ("pair", label),
# ("self", "module:Class") for a method's own object, ("str", value) for a known string, ("settings", "")
# and ("apps", "") for Django's settings and app registry.
Type = tuple[str, str]


_LINE_END = re.compile(r"\r\n|\n|\r")  # the line ends the ast module counts lines by


@dataclass
class _Module:
    name: str
    source: str
    tree: ast.Module
    imports: dict[str, tuple[str, str | None]]  # local name -> (module, attribute or None for the module)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]  # qualname -> def
    stars: tuple[str, ...] = ()  # the modules of its ``from ... import *``

    @functools.cached_property
    def lines(self) -> list[str]:
        """The source's lines, split once: ast.get_source_segment splits the whole module on every call
        (a 900-receiver signals.py took 30 s to scan)."""
        return _LINE_END.split(self.source)

    def segment(self, node: ast.AST) -> str:
        """The source text of `node`, as ast.get_source_segment gives it, with its line breaks as spaces."""
        lineno, end_lineno = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if lineno is None or end_lineno is None or col is None or end_col is None:
            return ""
        lines = self.lines[lineno - 1 : end_lineno]
        if not lines:
            return ""
        # Offsets count UTF-8 bytes, as the ast module's do.
        if len(lines) == 1:
            return lines[0].encode()[col:end_col].decode(errors="replace")
        first = lines[0].encode()[col:].decode(errors="replace")
        last = lines[-1].encode()[:end_col].decode(errors="replace")
        return " ".join([first, *lines[1:-1], last])


@dataclass
class _Context:
    modules: dict[str, str]  # module name -> file name, for the modules the scan may read (grows by `locate`)
    models: dict[tuple[str, str], str]  # (module, class name) -> model label
    index: dict[str, ModelRef]
    signals: frozenset[str]  # known signal paths
    user_model: str | None
    depth: int
    relpath: Callable[[str | None], str | None]
    managers: dict[tuple[str, str], str]  # (model label, attribute) -> the label of the model it manages
    manager_classes: dict[str, tuple[str, ...]]  # model label -> its managers' class paths
    settings: Mapping[str, str]  # setting name -> a model label it holds
    locate: Callable[[str], str | None] = lambda name: None
    cache: dict[str, _Module | None] = field(default_factory=dict)
    returns: dict[tuple[str, tuple[tuple[str, Type], ...]], Type | None] = field(default_factory=dict)

    def file_of(self, name: str) -> str | None:
        """Return the file of module `name` if it may be read: imported already, or found by `locate`."""
        if name not in self.modules:
            found = self.locate(name)
            if found is None:
                return None
            self.modules[name] = found
        return self.modules[name]

    def label_of(self, text: str) -> str | None:
        """Return the installed model's label spelled by `text` ("app.Model", any case), or None."""
        return self.lower_labels.get(text.lower())

    @functools.cached_property
    def lower_labels(self) -> dict[str, str]:
        return {label.lower(): label for label in self.index}


def scan_effects(
    connections: Iterable[Connection],
    *,
    modules: dict[str, str],
    models: Iterable[ModelRef],
    signals: Iterable[str],
    user_model: str | None = None,
    depth: int = 2,
    relpath: Callable[[str | None], str | None] = lambda name: name,
    bindings: Mapping[tuple[str, str | None], Mapping[str, Any]] | None = None,
    settings: Mapping[str, str] | None = None,
    unread: dict[str, str] | None = None,
    locate: Callable[[str], str | None] | None = None,
) -> tuple[EffectRef, ...]:
    """Return the effects of every receiver in `connections`, sorted.

    `modules` maps the module names that may be read to their files (the
    caller decides: the project's own, installed packages' too);
    `models` and `signals` are what names can resolve to; `user_model` is
    AUTH_USER_MODEL's label, for ``get_user_model()``; `depth` is how many
    levels of calls into other functions are followed; `relpath` shortens
    file names as the registry's are. `bindings` maps (receiver path,
    sender label) to what is known of the receiver's bound object and
    partial arguments: ``{"self.manager_name": "history", "attr": "tags"}``
    (plain values only); `settings` maps setting names to the model labels
    they hold. Receivers in readable modules whose code still can't be read
    are added to `unread`, with why, when it is given. `locate` finds the
    file of a module that isn't imported yet (a function-level import), or
    None; it must import nothing.
    """
    index = {m.label: m for m in models}
    managers: dict[tuple[str, str], str] = {}
    manager_classes: dict[str, list[str]] = {}
    for ref in index.values():
        for attr, managed, cls in ref.managers:
            managers[(ref.label, attr)] = managed
            manager_classes.setdefault(managed, [])
            if cls not in manager_classes[managed]:
                manager_classes[managed].append(cls)
    ctx = _Context(
        modules=dict(modules),
        models={(m.module, m.name): m.label for m in index.values()},
        index=index,
        signals=frozenset(signals),
        user_model=user_model,
        depth=depth,
        relpath=relpath,
        managers=managers,
        manager_classes={label: tuple(paths) for label, paths in manager_classes.items()},
        settings=settings or {},
        locate=locate or (lambda name: None),
    )
    known_bindings = bindings or {}
    senders: dict[str, set[str | None]] = {}
    kinds: dict[str, str] = {}
    on_m2m: set[str] = set()
    for conn in connections:
        if conn.receiver.kind in ("dead", "builtin"):
            continue
        heard_from = senders.setdefault(conn.receiver.path, set())
        # A lazy sender that never resolved (or a dead one) never sends: it must not make the
        # receiver's other reads untyped. A receiver with only such senders is read once, untyped.
        if conn.sender.kind not in ("pending", "dead"):
            heard_from.add(conn.sender.label if conn.sender.kind == "model" else None)
        kinds[conn.receiver.path] = conn.receiver.kind
        if conn.signal in M2M_SIGNALS:
            on_m2m.add(conn.receiver.path)
    effects: set[EffectRef] = set()
    for path, models_sent in senders.items():
        found = _receiver_function(ctx, path)
        if found is None:
            if unread is not None and path.partition(":")[0] in modules:
                filename = modules[path.partition(":")[0]]
                unread[path] = (
                    "no Python source"
                    if not filename.endswith(".py")
                    else "its definition isn't in its module's source"
                )
            continue
        module, qualname, func = found
        params = _parameters(func)
        owner = qualname.rpartition(".")[0] if "." in qualname and "<locals>" not in qualname else None
        # Read once per model sender, with `instance` of that model; without a model, once for all.
        reads: list[str | None] = [None]
        if models_sent and None not in models_sent:
            reads = [m for m in sorted(m for m in models_sent if m is not None)]
        for model in reads:
            env: dict[str, Type] = {}
            if model is not None:
                # m2m_changed's sender is the through model; its instance is the forward side's object.
                owner_model = _forward_model(index, model) if path in on_m2m else model
                if "instance" in params and owner_model is not None:
                    env["instance"] = ("instance", owner_model)
                if "sender" in params:
                    env["sender"] = ("class", model)
            if owner is not None and params and params[0] == "self" and kinds.get(path) != "staticmethod":
                env["self"] = ("self", f"{module.name}:{owner}")
            bound = known_bindings.get((path, model), {})
            for name, value in bound.items():
                if name in params and isinstance(value, str):
                    env[name] = ("str", value)
            scanner = _Scanner(ctx, module, env, path, None, ctx.depth, {f"{module.name}:{qualname}"})
            scanner.bound = dict(bound)
            scanner.signal_args = _signal_argument_names(func)
            scanner.sender = model
            scanner.run(func.body)
            effects.update(replace(effect, step=step) for step, effect in enumerate(scanner.effects))
    return tuple(sorted(effects))


def _forward_model(index: Mapping[str, ModelRef], through: str) -> str | None:
    """Return the model whose many-to-many field made the automatic `through` model ("store.Product_tags"), if one."""
    found = [
        ref.label for ref in index.values() if through in dict(ref.m2m).values() and through.startswith(ref.label + "_")
    ]
    return found[0] if len(found) == 1 else None


def _receiver_function(ctx: _Context, path: str) -> tuple[_Module, str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """Return the module, qualname and definition of the receiver at `path`, or None when it can't be read."""
    module_name, _, qualname = path.partition(":")
    module = _load(ctx, module_name)
    if module is None:
        return None
    for name in (qualname.removesuffix(".__call__"), qualname):
        func = module.functions.get(name)
        if func is not None:
            return module, name, func
    return None


def _load(ctx: _Context, name: str) -> _Module | None:
    if name in ctx.cache:
        return ctx.cache[name]
    filename = ctx.file_of(name)
    module = None
    if filename and filename.endswith(".py"):
        try:
            source = Path(filename).read_text(encoding="utf-8")
            tree = ast.parse(source, filename=filename)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            tree = None
        if tree is not None:
            package = name if filename.endswith("__init__.py") else name.rpartition(".")[0]
            imports, stars = _imports(tree, package)
            module = _Module(name, source, tree, imports, _functions(tree), stars)
    ctx.cache[name] = module
    return module


def _imports(tree: ast.Module, package: str) -> tuple[dict[str, tuple[str, str | None]], tuple[str, ...]]:
    """Return the module's imports (local name -> (module, attribute or None)) and its star-imported modules."""
    found: dict[str, tuple[str, str | None]] = {}
    stars: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.split(".")[0]
                    found[top] = (top, None)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = (base, alias.name)
                elif base not in stars:
                    stars.append(base)
    return found, tuple(stars)


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + node.name] = node
                visit(node.body, f"{prefix}{node.name}.<locals>.")
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return found


def _parameters(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = func.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]


def _signal_argument_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
    """Return how the receiver spells the signal's arguments: local name -> argument, ``**kwargs`` as "**"."""
    names = {name: name for name in _parameters(func) if name in SIGNAL_ARGUMENTS}
    if func.args.kwarg is not None:
        names["**"] = func.args.kwarg.arg
    return names


class _Scanner:
    """Types expressions and collects effects for one function body."""

    def __init__(
        self,
        ctx: _Context,
        module: _Module,
        env: dict[str, Type],
        receiver: str,
        via: str | None,
        depth: int,
        seen: set[str],
    ) -> None:
        self.ctx = ctx
        self.module = module
        self.env = env
        self.receiver = receiver
        self.via = via
        self.depth = depth
        self.seen = seen
        self.effects: list[EffectRef] = []
        self.bound: dict[str, Any] = {}  # "self.<attr>" -> value of the receiver's bound object
        self.signal_args: dict[str, str] = {}  # local name -> signal argument, "**" -> the kwargs name
        self.sender: str | None = None  # the model sender this read is for
        self.conditions: list[ast.expr] = []  # the conditions on signal arguments the current code runs under
        self.after_commit = False
        self.returns: list[Type | None] = []  # the types of the values returned, for return-type inference
        self.collect = True  # False while inferring a return type: no effects

    def child(self, module: _Module, env: dict[str, Type], via: str, depth: int, seen: set[str]) -> _Scanner:
        """Return a scanner for a called function, under this one's conditions."""
        other = _Scanner(self.ctx, module, env, self.receiver, via, depth, seen)
        other.bound = self.bound if env.get("self") == self.env.get("self") else {}
        other.sender = self.sender
        other.conditions = list(self.conditions)
        other.after_commit = self.after_commit
        other.collect = self.collect
        return other

    # -- names ------------------------------------------------------------
    def resolve(self, name: str) -> tuple[str, str] | None:
        """Return ("model", label), ("signal", path), ("function", module:qualname) or ("module", name)."""
        module = self.module
        if name in module.functions:
            return ("function", f"{module.name}:{name}")
        if (module.name, name) in self.ctx.models:
            return ("model", self.ctx.models[(module.name, name)])
        if f"{module.name}:{name}" in self.ctx.signals:
            return ("signal", f"{module.name}:{name}")
        target = module.imports.get(name)
        if target is None:
            for star in module.stars:  # from .models import *
                found = self.resolve_in(star, name)
                if found is not None and found[0] != "module":
                    return found
            return None
        source, attr = target
        if attr is None:
            return ("module", source)
        return self.resolve_in(source, attr)

    def resolve_in(self, module_name: str, attr: str, hops: int = 0) -> tuple[str, str] | None:
        if (module_name, attr) in self.ctx.models:
            return ("model", self.ctx.models[(module_name, attr)])
        if f"{module_name}:{attr}" in self.ctx.signals:
            return ("signal", f"{module_name}:{attr}")
        if attr == "get_user_model" and module_name in ("django.contrib.auth", "django.contrib.auth.models"):
            return ("user_model", attr)
        if self.ctx.file_of(module_name) is not None and hops < 8:
            other = _load(self.ctx, module_name)
            if other is not None and attr in other.functions:
                return ("function", f"{module_name}:{attr}")
            if other is not None and attr in other.imports:  # a re-export
                source, inner = other.imports[attr]
                if inner is not None and source != module_name:
                    return self.resolve_in(source, inner, hops + 1)
            if other is not None:
                for star in other.stars:
                    found = self.resolve_in(star, attr, hops + 1)
                    if found is not None and found[0] != "module":
                        return found
        return ("module", f"{module_name}.{attr}")

    def is_module(self, node: ast.expr, *names: str) -> bool:
        """Return whether `node` names one of the modules or module attributes `names` ("django.db.transaction")."""
        if isinstance(node, ast.Name):
            found = self.resolve(node.id)
            return found is not None and found[0] == "module" and found[1] in names
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found = self.resolve(node.value.id)
            return found is not None and found[0] == "module" and f"{found[1]}.{node.attr}" in names
        return False

    # -- types ------------------------------------------------------------
    def string(self, node: ast.expr | None) -> str | None:
        """Return the string `node` is known to hold, or None."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        found = self.type_of(node)
        return found[1] if found and found[0] == "str" else None

    def attribute(self, base: Type, attr: str) -> Type | None:
        """Return the type of ``<base>.<attr>``."""
        kind, label = base
        if kind in ("class", "instance"):
            managed = self.ctx.managers.get((label, attr))
            if managed is not None:
                return ("qs", managed)
            if kind == "class" and attr in _MANAGERS:
                return ("qs", label)
        if kind == "instance":
            ref = self.ctx.index.get(label)
            related = dict(ref.relations) if ref else {}
            if attr in related:
                return ("instance", related[attr])
            if attr == "__class__":
                return ("class", label)
        if kind == "qs" and attr == "model":
            return ("class", label)
        if kind == "self":
            value = self.bound.get(f"self.{attr}")
            if isinstance(value, str):
                return ("str", value)
        if kind == "settings":
            held = self.ctx.settings.get(attr)
            return ("str", held) if held is not None else None
        return None

    def type_of(self, node: ast.expr) -> Type | None:
        if isinstance(node, ast.Constant):
            return ("str", node.value) if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            found = self.resolve(node.id)
            if found and found[0] == "model":
                return ("class", found[1])
            if found and found[0] == "module" and found[1] == "django.conf.settings":
                return ("settings", "")
            if found and found[0] == "module" and found[1] == "django.apps.apps":
                return ("apps", "")
            return None
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id not in self.env:
                found = self.resolve(node.value.id)
                if found and found[0] == "module":
                    inner = self.resolve_in(found[1], node.attr)
                    if inner and inner[0] == "model":
                        return ("class", inner[1])
                    if inner == ("module", "django.conf.settings"):
                        return ("settings", "")
                    if inner == ("module", "django.apps.apps"):
                        return ("apps", "")
            base = self.type_of(node.value)
            return self.attribute(base, node.attr) if base is not None else None
        if isinstance(node, ast.Call):
            return self.call_type(node)
        if isinstance(node, ast.Subscript):
            base = self.type_of(node.value)
            if base and base[0] == "pair" and isinstance(node.slice, ast.Constant) and node.slice.value == 0:
                return ("instance", base[1])
            if base and base[0] == "qs":
                return base if isinstance(node.slice, ast.Slice) else ("instance", base[1])
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            alternatives = {self.type_of(v) for v in node.values}
            return alternatives.pop() if len(alternatives) == 1 else None
        if isinstance(node, ast.Await):
            return self.type_of(node.value)
        return None

    def call_type(self, node: ast.Call) -> Type | None:
        """Return the type of what the call `node` returns."""
        func = node.func
        if isinstance(func, ast.Name):
            if func.id == "getattr" and len(node.args) >= 2:
                base = self.type_of(node.args[0])
                name = self.string(node.args[1])
                if base is not None and name is not None:
                    found = self.attribute(base, name)
                    if found is None and len(node.args) > 2:
                        return self.type_of(node.args[2])
                    return found
                return None
            if func.id == "type" and len(node.args) == 1:
                found = self.type_of(node.args[0])
                return ("class", found[1]) if found and found[0] == "instance" else None
            if func.id not in self.env:
                resolved = self.resolve(func.id)
                if resolved and resolved[0] == "model":
                    return ("instance", resolved[1])
                if resolved and resolved[0] == "user_model" and self.ctx.user_model:
                    return ("class", self.ctx.user_model)
                if resolved and resolved[0] == "function":
                    return self.returned(node, resolved[1], None)
        if isinstance(func, ast.Attribute):
            if func.attr == "get_user_model" and self.ctx.user_model:
                return ("class", self.ctx.user_model)
            if func.attr in _GET_MODEL:
                return self.get_model(node)
            base = self.type_of(func.value)
            if base and base[0] == "qs":
                if func.attr in _QS_TO_QS:
                    return base
                if func.attr in _QS_TO_INSTANCE:
                    return ("instance", base[1])
                if func.attr in _QS_TO_PAIR:
                    return ("pair", base[1])
                method = self.manager_method(base[1], func.attr)
                if method is not None:
                    return self.returned(node, method, base)
            if base and base[0] == "self":
                method = self.method_of(base[1], func.attr)
                if method is not None:
                    return self.returned(node, method, base)
        found = self.type_of(func) if not isinstance(func, ast.Name) or func.id in self.env else None
        if found and found[0] == "class":
            return ("instance", found[1])  # manager.model(...), sender(...)
        return None

    def get_model(self, node: ast.Call) -> Type | None:
        """``apps.get_model("app.Model")`` or ``apps.get_model("app", "Model")``: the model, when the label is known."""
        texts = [self.string(arg) for arg in node.args[:2]]
        if not texts or texts[0] is None:
            return None
        text = texts[0] if len(texts) == 1 or texts[1] is None else f"{texts[0]}.{texts[1]}"
        if len(texts) == 2 and texts[1] is None:
            return None
        label = self.ctx.label_of(text)
        return ("class", label) if label else None

    def method_of(self, owner: str, name: str) -> str | None:
        """Return the path of method `name` of the class at `owner` ("module:Class"), when its source is read."""
        module_name, _, cls = owner.partition(":")
        module = _load(self.ctx, module_name)
        if module is None or f"{cls}.{name}" not in module.functions:
            return None
        return f"{module_name}:{cls}.{name}"

    def manager_method(self, label: str, name: str) -> str | None:
        """Return the path of a custom manager method `name` of `label`'s managers (LogEntryManager.log_create)."""
        for cls in self.ctx.manager_classes.get(label, ()):
            found = self.method_of(cls, name)
            if found is not None:
                return found
        return None

    def returned(self, node: ast.Call, path: str, owner: Type | None) -> Type | None:
        """Return the type the function at `path` returns when called as `node` (read, never run)."""
        module_name, _, qualname = path.partition(":")
        module = _load(self.ctx, module_name)
        func = module.functions.get(qualname) if module else None
        if module is None or func is None:
            return None
        env = self.arguments(node, func, owner)
        key = (path, tuple(sorted(env.items())))
        if key in self.ctx.returns:
            return self.ctx.returns[key]
        self.ctx.returns[key] = None  # a recursive call returns nothing known
        reader = _Scanner(self.ctx, module, env, self.receiver, path, 0, self.seen | {path})
        reader.bound = self.bound if owner is not None and owner[0] == "self" else {}
        reader.collect = False
        reader.run(func.body)
        types = set(reader.returns)
        found = types.pop() if len(types) == 1 else None
        self.ctx.returns[key] = found
        return found

    def arguments(
        self, node: ast.Call, func: ast.FunctionDef | ast.AsyncFunctionDef, owner: Type | None
    ) -> dict[str, Type]:
        """Return the types of `func`'s parameters for the call `node` (`owner`: the object of a method call)."""
        params = _parameters(func)
        env: dict[str, Type] = {}
        if owner is not None and params:
            env[params[0]] = owner
            params = params[1:]
        for name, arg in zip(params, node.args, strict=False):
            arg_type = self.type_of(arg)
            if arg_type:
                env[name] = arg_type
        for keyword in node.keywords:
            if keyword.arg:
                arg_type = self.type_of(keyword.value)
                if arg_type:
                    env[keyword.arg] = arg_type
        return env

    # -- conditions -------------------------------------------------------
    def normalized(self, test: ast.expr) -> tuple[ast.expr, bool]:
        """Return `test` as the tree shows it, and whether it tests a signal argument.

        ``kwargs.get("raw")`` and ``kwargs["raw"]`` become ``raw``, parameters
        named after signal arguments keep their name, ``instance._state.adding``
        becomes ``adding`` (Django's flag: True in a create's pre_save), and
        ``self.<attr>`` becomes the bound object's value where it is known.
        """
        names = self.signal_args
        kwargs = names.get("**")
        instance = "instance" if self.env.get("instance", ("", ""))[0] == "instance" else None
        bound = self.bound
        mentions = False

        class Rewrite(ast.NodeTransformer):
            def visit_Call(self, call: ast.Call) -> ast.AST:
                nonlocal mentions
                func = call.func
                if (
                    kwargs is not None
                    and isinstance(func, ast.Attribute)
                    and func.attr == "get"
                    and isinstance(func.value, ast.Name)
                    and func.value.id == kwargs
                    and call.args
                    and isinstance(call.args[0], ast.Constant)
                    and call.args[0].value in SIGNAL_ARGUMENTS
                ):
                    mentions = True
                    return ast.Name(id=str(call.args[0].value), ctx=ast.Load())
                return self.generic_visit(call)

            def visit_Subscript(self, sub: ast.Subscript) -> ast.AST:
                nonlocal mentions
                if (
                    kwargs is not None
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id == kwargs
                    and isinstance(sub.slice, ast.Constant)
                    and sub.slice.value in SIGNAL_ARGUMENTS
                ):
                    mentions = True
                    return ast.Name(id=str(sub.slice.value), ctx=ast.Load())
                return self.generic_visit(sub)

            def visit_Attribute(self, attr: ast.Attribute) -> ast.AST:
                nonlocal mentions
                value = attr.value
                if (
                    attr.attr == "adding"
                    and isinstance(value, ast.Attribute)
                    and value.attr == "_state"
                    and isinstance(value.value, ast.Name)
                    and value.value.id == instance
                ):
                    mentions = True
                    return ast.Name(id="adding", ctx=ast.Load())
                if isinstance(value, ast.Name) and value.id == "self" and f"self.{attr.attr}" in bound:
                    return ast.Constant(value=bound[f"self.{attr.attr}"])
                return self.generic_visit(attr)

            def visit_Name(self, name: ast.Name) -> ast.AST:
                nonlocal mentions
                if name.id in names and name.id != "**":
                    mentions = True
                    return ast.Name(id=names[name.id], ctx=ast.Load())
                return name

        import copy

        rewritten = Rewrite().visit(copy.deepcopy(test))
        assert isinstance(rewritten, ast.expr)
        return rewritten, mentions

    def condition(self) -> str | None:
        if not self.conditions:
            return None
        if len(self.conditions) == 1:
            return ast.unparse(self.conditions[0])
        return ast.unparse(ast.BoolOp(op=ast.And(), values=list(self.conditions)))

    def under(self, test: ast.expr | None, body: list[ast.stmt]) -> None:
        """Run `body` under the condition `test` (None: none); not at all when `test` is known to be false."""
        if test is None:
            self.run(body)
            return
        known = _static_truth(test)
        if known is False:
            return  # `if self.cascade_delete_history:` with the bound object's False
        if known is True:
            self.run(body)
            return
        self.conditions.append(test)
        try:
            self.run(body)
        finally:
            self.conditions.pop()

    # -- statements -------------------------------------------------------
    def bind(self, target: ast.expr, value_type: Type | None) -> None:
        if isinstance(target, ast.Name):
            if value_type is None:
                self.env.pop(target.id, None)
            else:
                self.env[target.id] = value_type
        elif isinstance(target, (ast.Tuple, ast.List)) and target.elts:
            first = ("instance", value_type[1]) if value_type and value_type[0] == "pair" else None
            self.bind(target.elts[0], first)
            for other in target.elts[1:]:
                self.bind(other, None)

    def run(self, body: list[ast.stmt]) -> None:
        pushed = 0
        try:
            for stmt in body:
                self.statement(stmt)
                guard = _early_exit(stmt)
                if guard is not None:
                    # `if not created: return`: what follows runs only when the test is false. Only a
                    # guard on the signal's arguments is kept: others are feature switches
                    # (`if not settings.X: return`) that would mark every write after them.
                    test, on_arguments = self.normalized(guard)
                    known = _static_truth(test)
                    if known is True:
                        return  # what follows never runs
                    if on_arguments and known is None:
                        self.conditions.append(_negate(test))
                        pushed += 1
        finally:
            del self.conditions[len(self.conditions) - pushed :]

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return  # nested definitions run only when called
        for node in _calls_in(stmt):
            self.call(node)
        if isinstance(stmt, ast.Assign):
            value_type = self.type_of(stmt.value)
            for target in stmt.targets:
                self.bind(target, value_type)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
            self.bind(stmt.target, self.type_of(stmt.value) if isinstance(stmt, ast.AnnAssign) else None)
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            self.returns.append(self.type_of(stmt.value))
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            iterated = self.type_of(stmt.iter)
            self.bind(stmt.target, ("instance", iterated[1]) if iterated and iterated[0] == "qs" else None)
            # The body runs once per item, so only when there is one: the loop's iterable is its condition.
            self.under(self.normalized(stmt.iter)[0], stmt.body)
            self.run(stmt.orelse)
        elif isinstance(stmt, ast.If):
            test = self.normalized(stmt.test)[0]
            self.under(test, stmt.body)
            self.under(_negate(test), stmt.orelse)
        elif isinstance(stmt, ast.While):
            self.run(stmt.body)
            self.run(stmt.orelse)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            self.run(stmt.body)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, *[h.body for h in stmt.handlers], stmt.orelse, stmt.finalbody):
                self.run(block)

    # -- calls ------------------------------------------------------------
    def add(
        self, node: ast.AST, kind: str, target: str | None, signals: tuple[str, ...], note: str | None = None
    ) -> None:
        if not self.collect:
            return
        text = self.module.segment(node)
        text = " ".join(text.split())
        if len(text) > 120:
            text = text[:117] + "..."
        self.effects.append(
            EffectRef(
                receiver=self.receiver,
                file=self.ctx.relpath(self.ctx.modules.get(self.module.name)),
                line=getattr(node, "lineno", 0),
                kind=kind,
                target=target,
                signals=signals,
                text=text,
                via=self.via,
                note=note,
                sender=self.sender,
                condition=self.condition(),
                is_after_commit=self.after_commit,
            )
        )

    def call(self, node: ast.Call) -> None:
        func = node.func
        if _is_on_commit(func) and (self.is_module(func, "django.db.transaction.on_commit") or _named(func)):
            self.on_commit(node)
            return
        if isinstance(func, ast.Name):
            found = self.resolve(func.id) if func.id not in self.env else None
            if found and found[0] == "function":
                self.follow(node, found[1], None)
            return
        if not isinstance(func, ast.Attribute):
            return
        method = func.attr
        if method in _SENDS:
            self.send(node, func)
            return
        if method in _M2M_METHODS and isinstance(func.value, ast.Attribute):
            owner = self.type_of(func.value.value)
            if owner and owner[0] == "instance":
                ref = self.ctx.index.get(owner[1])
                through = dict(ref.m2m).get(func.value.attr) if ref else None
                if through:
                    self.add(node, "m2m", through, M2M_SIGNALS)
            return
        if isinstance(func.value, ast.Name) and func.value.id not in self.env:
            found = self.resolve(func.value.id)
            if found is not None and found[0] == "module":  # services.make_note(): a module's function
                inner = self.resolve_in(found[1], method)
                if inner is not None and inner[0] == "function":
                    self.follow(node, inner[1], None)
                    return
        base = self.type_of(func.value)
        if base is not None and base[0] == "self":
            path = self.method_of(base[1], method)
            if path is not None:
                self.follow(node, path, base)
            return
        if method not in {"save", "delete", "update", "bulk_create", *_CREATES}:
            if base is not None and base[0] == "qs":
                path = self.manager_method(base[1], method)
                if path is not None:
                    self.follow(node, path, base)
            elif base is None and _looks_like_manager(func.value) and method not in _READS:
                # model.objects.assign_perm(...) of a model that can't be typed: a custom manager
                # method, which may write.
                self.add(node, "unresolved", None, (), "a manager method of a model that can't be known statically")
            return
        kind, label = base if base else (None, None)
        if method == "save" and kind == "instance":
            self.add(node, "save", label, SAVE_SIGNALS)
        elif method == "delete" and kind in ("instance", "qs"):
            self.add(node, "delete", label, DELETE_SIGNALS)
        elif method in _CREATES and kind == "qs":
            if method == "update_or_create":
                self.add(node, "save", label, SAVE_SIGNALS, "update_or_create(): a new row, or the matching row saved")
            else:
                note = "only when no row matches" if method == "get_or_create" else None
                self.add(node, "create", label, INIT_SIGNALS + SAVE_SIGNALS, note)
        elif method == "update" and kind == "qs":
            self.add(node, "update", label, (), "QuerySet.update() sends no pre_save/post_save")
        elif method == "bulk_create" and kind == "qs":
            self.add(node, "bulk_create", label, (), "bulk_create() sends no pre_save/post_save")
        elif method in ("save", "delete") and base is None and self.maybe_instance(node, func.value):
            self.add(node, "unresolved", None, (), f"the object whose {method}() is called can't be known statically")
        elif method in (*_CREATES, "bulk_create", "update") and base is None and _looks_like_manager(func.value):
            self.add(node, "unresolved", None, (), "the model of this manager can't be known statically")

    def on_commit(self, node: ast.Call) -> None:
        """``transaction.on_commit(fn)``: what `fn` does, marked as run after the transaction commits."""
        target = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "func"), None)
        before, self.after_commit = self.after_commit, True
        try:
            if isinstance(target, ast.Lambda):
                for inner in sorted(
                    (n for n in ast.walk(target.body) if isinstance(n, ast.Call)),
                    key=lambda n: (n.lineno, n.col_offset),
                ):
                    self.call(inner)
            elif isinstance(target, ast.Call) and _named_partial(target) and target.args:
                # partial(fn, *args): fn called with those arguments
                self.call(ast.Call(func=target.args[0], args=target.args[1:], keywords=target.keywords))
            elif isinstance(target, (ast.Name, ast.Attribute)):
                self.call(ast.Call(func=target, args=[], keywords=[], lineno=node.lineno, col_offset=node.col_offset))
        finally:
            self.after_commit = before

    def maybe_instance(self, call: ast.Call, receiver: ast.expr) -> bool:
        """Return whether an untyped `receiver` of save()/delete() may still be a model instance.

        Model.save() and delete() take keyword arguments only (cache.delete(key)
        does not), and an object imported from a module that can't be read is
        no model instance.
        """
        if call.args:
            return False
        root = receiver
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if isinstance(root, ast.Name) and root.id not in self.env:
            found = self.resolve(root.id)
            if found and found[0] == "module" and self.ctx.file_of(found[1].rpartition(".")[0]) is None:
                return False
        return True

    def send(self, node: ast.Call, func: ast.Attribute) -> None:
        signal = None
        if isinstance(func.value, ast.Name):
            found = self.resolve(func.value.id) if func.value.id not in self.env else None
            if found and found[0] == "signal":
                signal = found[1]
        elif isinstance(func.value, ast.Attribute) and isinstance(func.value.value, ast.Name):
            found = self.resolve(func.value.value.id)
            if found and found[0] == "module":
                inner = self.resolve_in(found[1], func.value.attr)
                if inner and inner[0] == "signal":
                    signal = inner[1]
        if signal is None:
            return  # not a known signal: socket.send, a generator's send...
        sender_node = next((k.value for k in node.keywords if k.arg == "sender"), node.args[0] if node.args else None)
        sender_type = self.type_of(sender_node) if sender_node is not None else None
        target = sender_type[1] if sender_type and sender_type[0] in ("class", "instance") else None
        self.add(node, "send", target, (signal,), None if target else "the sender can't be known statically")

    def follow(self, node: ast.Call, path: str, owner: Type | None) -> None:
        if path in self.seen:
            return
        module_name, _, qualname = path.partition(":")
        module = _load(self.ctx, module_name)
        func = module.functions.get(qualname) if module else None
        if module is None or func is None:
            return
        if self.depth <= 0:
            if _may_write(func):
                self.add(
                    node, "unresolved", None, (), f"calls {path}, which may write: read deeper with --follow-calls"
                )
            return
        scanner = self.child(module, self.arguments(node, func, owner), path, self.depth - 1, self.seen | {path})
        scanner.run(func.body)
        self.effects.extend(scanner.effects)


_WRITES = frozenset(("save", "delete", "update", "bulk_create", "bulk_update", *_CREATES, *_SENDS, *_M2M_METHODS))


def _may_write(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Return whether `func`'s body calls anything named like a write or a send."""
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in _WRITES:
                return True
    return False


def _static_truth(test: ast.expr) -> bool | None:
    """Return whether `test` is true whatever the signal's arguments: only constants and their logic."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, (ast.Tuple, ast.List, ast.Set)):
        return bool(test.elts)  # `for code in ("a", "b"):` runs
    if isinstance(test, ast.Dict):
        return bool(test.keys)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _static_truth(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        results = [_static_truth(v) for v in test.values]
        if isinstance(test.op, ast.And):
            return False if False in results else (True if all(r is True for r in results) else None)
        return True if True in results else (False if all(r is False for r in results) else None)
    return None


def _early_exit(stmt: ast.stmt) -> ast.expr | None:
    """Return the test of ``if TEST: ... return`` (no else): what follows it runs only when TEST is false."""
    if isinstance(stmt, ast.If) and not stmt.orelse and isinstance(stmt.body[-1], (ast.Return, ast.Raise)):
        return stmt.test
    return None


_OPPOSITES: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


def _negate(test: ast.expr) -> ast.expr:
    """Return ``not test``, written as people would: ``x not in y`` rather than ``not x in y``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPPOSITES:
        return ast.Compare(left=test.left, ops=[_OPPOSITES[type(test.ops[0])]()], comparators=test.comparators)
    return ast.UnaryOp(op=ast.Not(), operand=test)


def _is_on_commit(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "on_commit") or (
        isinstance(func, ast.Name) and func.id == "on_commit"
    )


def _named(func: ast.expr) -> bool:
    """``transaction.on_commit`` or a bare ``on_commit``: read as Django's even when its import isn't resolved."""
    if isinstance(func, ast.Attribute):
        return isinstance(func.value, ast.Name) and func.value.id == "transaction"
    return isinstance(func, ast.Name)


def _named_partial(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "partial") or (
        isinstance(func, ast.Attribute) and func.attr == "partial"
    )


def _calls_in(stmt: ast.stmt) -> Iterator[ast.Call]:
    """Yield the calls of one statement in source order, not entering nested blocks, definitions, or
    the function given to on_commit (it runs later: `_Scanner.on_commit` reads it)."""
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        roots: list[ast.AST] = [stmt.iter]
    elif isinstance(stmt, (ast.If, ast.While)):
        roots = [stmt.test]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        roots = [item.context_expr for item in stmt.items]
    elif isinstance(stmt, ast.Try):
        roots = []
    else:
        roots = [stmt]
    found: list[ast.Call] = []
    todo = list(roots)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Call):
            found.append(node)
            if _is_on_commit(node.func):
                todo.append(node.func)
                continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    yield from found


def _looks_like_manager(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in _MANAGERS

"""Find what receivers' code writes, by reading it with `ast`: the edges of signal cascades.

Nothing is imported or executed. A receiver's source is parsed, names are
resolved through its module's imports, and the expressions reaching the ORM
are typed as far as plain reading allows: a model class, a queryset or
manager of a model, an instance of a model. What each call then does is
known Django behaviour:

- ``Model.objects.create / get_or_create / update_or_create`` and
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
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Connection
from ..model.cascade import EffectRef, ModelRef

__all__ = ["DELETE_SIGNALS", "M2M_SIGNALS", "SAVE_SIGNALS", "scan_effects"]

_SIGNALS = "django.db.models.signals:"
SAVE_SIGNALS = (_SIGNALS + "pre_save", _SIGNALS + "post_save")
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


# Static types of expressions: ("class", label), ("qs", label), ("instance", label), ("pair", label).
Type = tuple[str, str]


_LINE_END = re.compile(r"\r\n|\n|\r")  # the line ends the ast module counts lines by


@dataclass
class _Module:
    name: str
    source: str
    tree: ast.Module
    imports: dict[str, tuple[str, str | None]]  # local name -> (module, attribute or None for the module)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]  # qualname -> def

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
    modules: dict[str, str]  # module name -> file name, for the modules the scan may read
    models: dict[tuple[str, str], str]  # (module, class name) -> model label
    index: dict[str, ModelRef]
    signals: frozenset[str]  # known signal paths
    user_model: str | None
    depth: int
    relpath: Callable[[str | None], str | None]
    cache: dict[str, _Module | None] = field(default_factory=dict)


def scan_effects(
    connections: Iterable[Connection],
    *,
    modules: dict[str, str],
    models: Iterable[ModelRef],
    signals: Iterable[str],
    user_model: str | None = None,
    depth: int = 2,
    relpath: Callable[[str | None], str | None] = lambda name: name,
) -> tuple[EffectRef, ...]:
    """Return the effects of every receiver in `connections`, sorted.

    `modules` maps the module names that may be read to their files (the
    project's own: Django's and third parties' receivers are not followed);
    `models` and `signals` are what names can resolve to; `user_model` is
    AUTH_USER_MODEL's label, for ``get_user_model()``; `depth` is how many
    levels of calls into the project's other functions are followed;
    `relpath` shortens file names as the registry's are.
    """
    index = {m.label: m for m in models}
    ctx = _Context(
        modules=modules,
        models={(m.module, m.name): m.label for m in index.values()},
        index=index,
        signals=frozenset(signals),
        user_model=user_model,
        depth=depth,
        relpath=relpath,
    )
    senders: dict[str, set[str | None]] = {}
    for conn in connections:
        if conn.receiver.kind in ("dead", "builtin"):
            continue
        model = conn.sender.label if conn.sender.kind == "model" else None
        senders.setdefault(conn.receiver.path, set()).add(model)
    effects: set[EffectRef] = set()
    for path, models_sent in senders.items():
        module_name, _, qualname = path.partition(":")
        module = _load(ctx, module_name)
        if module is None:
            continue
        func = module.functions.get(qualname.removesuffix(".__call__"))
        if func is None and qualname.endswith(".__call__"):
            func = module.functions.get(qualname)
        if func is None:
            continue
        # The instance parameter's model: the sender, when the receiver has one model sender.
        known = {m for m in models_sent if m is not None}
        instance_type = ("instance", next(iter(known))) if len(known) == 1 and None not in models_sent else None
        params = _parameters(func)
        env: dict[str, Type] = {}
        if instance_type is not None and "instance" in params:
            env["instance"] = instance_type
        if len(known) == 1 and None not in models_sent and "sender" in params:
            env["sender"] = ("class", next(iter(known)))
        effects.update(_scan_function(ctx, module, func, env, path, None, ctx.depth, set()))
    return tuple(sorted(effects))


def _load(ctx: _Context, name: str) -> _Module | None:
    if name in ctx.cache:
        return ctx.cache[name]
    filename = ctx.modules.get(name)
    module = None
    if filename and filename.endswith(".py"):
        try:
            source = Path(filename).read_text(encoding="utf-8")
            tree = ast.parse(source, filename=filename)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            tree = None
        if tree is not None:
            package = name if filename.endswith("__init__.py") else name.rpartition(".")[0]
            module = _Module(name, source, tree, _imports(tree, package), _functions(tree))
    ctx.cache[name] = module
    return module


def _imports(tree: ast.Module, package: str) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
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
    return found


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
            return None
        source, attr = target
        if attr is None:
            return ("module", source)
        return self.resolve_in(source, attr)

    def resolve_in(self, module_name: str, attr: str) -> tuple[str, str] | None:
        if (module_name, attr) in self.ctx.models:
            return ("model", self.ctx.models[(module_name, attr)])
        if f"{module_name}:{attr}" in self.ctx.signals:
            return ("signal", f"{module_name}:{attr}")
        if attr == "get_user_model" and module_name in ("django.contrib.auth", "django.contrib.auth.models"):
            return ("user_model", attr)
        if module_name in self.ctx.modules:
            other = _load(self.ctx, module_name)
            if other is not None and attr in other.functions:
                return ("function", f"{module_name}:{attr}")
            if other is not None and attr in other.imports:  # a re-export
                source, inner = other.imports[attr]
                if inner is not None and source != module_name:
                    return self.resolve_in(source, inner)
        return ("module", f"{module_name}.{attr}")

    # -- types ------------------------------------------------------------
    def type_of(self, node: ast.expr) -> Type | None:
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            found = self.resolve(node.id)
            if found and found[0] == "model":
                return ("class", found[1])
            return None
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name):
                found = self.resolve(node.value.id)
                if found and found[0] == "module":
                    inner = self.resolve_in(found[1], node.attr)
                    if inner and inner[0] == "model":
                        return ("class", inner[1])
            base = self.type_of(node.value)
            if base is None:
                return None
            kind, label = base
            if kind == "class" and node.attr in _MANAGERS:
                return ("qs", label)
            if kind == "instance":
                ref = self.ctx.index.get(label)
                related = dict(ref.relations) if ref else {}
                if node.attr in related:
                    return ("instance", related[node.attr])
            return None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                found = self.resolve(func.id)
                if found and found[0] == "model":
                    return ("instance", found[1])
                if found and found[0] == "user_model" and self.ctx.user_model:
                    return ("class", self.ctx.user_model)
            if isinstance(func, ast.Attribute):
                if func.attr == "get_user_model" and self.ctx.user_model:
                    return ("class", self.ctx.user_model)
                base = self.type_of(func.value)
                if base and base[0] == "qs":
                    if func.attr in _QS_TO_QS:
                        return base
                    if func.attr in _QS_TO_INSTANCE:
                        return ("instance", base[1])
                    if func.attr in _QS_TO_PAIR:
                        return ("pair", base[1])
            return None
        if isinstance(node, ast.Subscript):
            base = self.type_of(node.value)
            if base and base[0] == "pair" and isinstance(node.slice, ast.Constant) and node.slice.value == 0:
                return ("instance", base[1])
            if base and base[0] == "qs":
                return base if isinstance(node.slice, ast.Slice) else ("instance", base[1])
        return None

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
        for stmt in body:
            self.statement(stmt)

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
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            iterated = self.type_of(stmt.iter)
            self.bind(stmt.target, ("instance", iterated[1]) if iterated and iterated[0] == "qs" else None)
            self.run(stmt.body)
            self.run(stmt.orelse)
        elif isinstance(stmt, (ast.If, ast.While)):
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
            )
        )

    def call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            found = self.resolve(func.id)
            if found and found[0] == "function":
                self.follow(node, found[1])
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
        if method not in {"save", "delete", "update", "bulk_create", *_CREATES}:
            return
        base = self.type_of(func.value)
        kind, label = base if base else (None, None)
        if method == "save" and kind == "instance":
            self.add(node, "save", label, SAVE_SIGNALS)
        elif method == "delete" and kind in ("instance", "qs"):
            self.add(node, "delete", label, DELETE_SIGNALS)
        elif method in _CREATES and kind == "qs":
            note = "only when no row matches" if method != "create" else None
            self.add(node, "create", label, SAVE_SIGNALS, note)
        elif method == "update" and kind == "qs":
            self.add(node, "update", label, (), "QuerySet.update() sends no pre_save/post_save")
        elif method == "bulk_create" and kind == "qs":
            self.add(node, "bulk_create", label, (), "bulk_create() sends no pre_save/post_save")
        elif method in ("save", "delete") and base is None and self.maybe_instance(node, func.value):
            self.add(node, "unresolved", None, (), f"the object whose {method}() is called can't be known statically")
        elif method in _CREATES and base is None and _looks_like_manager(func.value):
            self.add(node, "unresolved", None, (), "the model of this manager can't be known statically")

    def maybe_instance(self, call: ast.Call, receiver: ast.expr) -> bool:
        """Return whether an untyped `receiver` of save()/delete() may still be a model instance.

        Model.save() and delete() take keyword arguments only (cache.delete(key)
        does not), and an object imported from a library (not the project) is
        no model instance.
        """
        if call.args:
            return False
        root = receiver
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if isinstance(root, ast.Name) and root.id not in self.env:
            found = self.resolve(root.id)
            if found and found[0] == "module" and found[1].rpartition(".")[0] not in self.ctx.modules:
                return False
        return True

    def send(self, node: ast.Call, func: ast.Attribute) -> None:
        signal = None
        if isinstance(func.value, ast.Name):
            found = self.resolve(func.value.id)
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

    def follow(self, node: ast.Call, path: str) -> None:
        if self.depth <= 0 or path in self.seen:
            return
        module_name, _, qualname = path.partition(":")
        module = _load(self.ctx, module_name)
        func = module.functions.get(qualname) if module else None
        if module is None or func is None:
            return
        env: dict[str, Type] = {}
        for name, arg in zip(_parameters(func), node.args, strict=False):
            arg_type = self.type_of(arg)
            if arg_type:
                env[name] = arg_type
        for keyword in node.keywords:
            if keyword.arg:
                arg_type = self.type_of(keyword.value)
                if arg_type:
                    env[keyword.arg] = arg_type
        self.effects.extend(
            _scan_function(self.ctx, module, func, env, self.receiver, path, self.depth - 1, self.seen | {path})
        )


def _scan_function(
    ctx: _Context,
    module: _Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    env: dict[str, Type],
    receiver: str,
    via: str | None,
    depth: int,
    seen: set[str],
) -> list[EffectRef]:
    scanner = _Scanner(ctx, module, dict(env), receiver, via, depth, seen)
    scanner.run(func.body)
    return scanner.effects


def _calls_in(stmt: ast.stmt) -> Iterator[ast.Call]:
    """Yield the calls of one statement in source order, not entering nested blocks or definitions."""
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
    found = [node for root in roots for node in ast.walk(root) if isinstance(node, ast.Call)]
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    yield from found


def _looks_like_manager(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in _MANAGERS

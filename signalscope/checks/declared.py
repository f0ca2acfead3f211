"""Read the project's source with `ast` for receivers it declares (nothing is imported or run).

- Declarations: functions decorated with ``@receiver(...)``, and module-level
  functions passed to ``<signal>.connect(...)`` in their own module. SS001
  compares them with the live registry.
- Weak connects: ``<signal>.connect(lambda ...)`` without ``weak=False``: the
  lambda has no other reference, so it dies at once (SS003).

Migrations and tests are not read: tests connect receivers inside test
functions, on purpose and for their own duration.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Declaration", "WeakConnect", "scan_sources"]


@dataclass(frozen=True)
class Declaration:
    module: str  # "billing.signals"
    qualname: str  # "notify_accounting"
    file: str  # relative, like ReceiverRef.file
    line: int
    how: str  # "decorator" or "connect"


@dataclass(frozen=True)
class WeakConnect:
    file: str
    line: int
    signal: str  # the signal's name as written: "post_delete"
    what: str  # "a lambda"


def _doomed(target: ast.expr) -> str | None:
    """What `target` is when nothing but the connect can hold it (so a weak one dies at once), else None."""
    if isinstance(target, ast.Lambda):
        return "a lambda"
    if isinstance(target, ast.Call) and _name(target.func) == "partial":
        return "a partial made in the call"
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Call):
        return f"the method {target.attr} of an object made in the call"
    return None


def _skipped(path: Path) -> bool:
    parts = set(path.parts)
    return "migrations" in parts or "tests" in parts or path.name == "tests.py" or path.name.startswith("test_")


def scan_sources(packages: Iterable[tuple[str, Path, Path]]) -> tuple[list[Declaration], list[WeakConnect]]:
    """Scan each (package module name, package folder, sys.path root) for declarations and weak connects."""
    declarations: list[Declaration] = []
    weak: list[WeakConnect] = []
    seen: set[Path] = set()
    for package, folder, root in packages:
        for path in sorted(folder.rglob("*.py")):
            if path in seen or _skipped(path.relative_to(folder)):
                continue
            seen.add(path)
            relative = path.relative_to(folder).with_suffix("")
            parts = [package, *relative.parts]
            if parts[-1] == "__init__":
                parts.pop()
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            except (SyntaxError, UnicodeDecodeError, OSError):
                continue  # not importable either: the load would have said so
            rel_file = path.relative_to(root).as_posix()
            _Visitor(".".join(parts), rel_file, declarations, weak).visit(tree)
    return declarations, weak


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_receiver_decorator(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) == "receiver"


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str, file: str, declarations: list[Declaration], weak: list[WeakConnect]) -> None:
        self.module = module
        self.file = file
        self.declarations = declarations
        self.weak = weak
        self.scope: list[str] = []  # enclosing class and function names
        self.in_function = 0
        self.top_functions: dict[str, int] = {}

    def visit_Module(self, node: ast.Module) -> None:
        self.top_functions = {
            n.name: n.lineno for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if any(_is_receiver_decorator(d) for d in node.decorator_list) and not self.in_function:
            qualname = ".".join([*self.scope, node.name])
            self.declarations.append(Declaration(self.module, qualname, self.file, node.lineno, "decorator"))
        self.scope.append(node.name)
        self.in_function += 1
        self.generic_visit(node)
        self.in_function -= 1
        self.scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "connect":
            self._connect(node)
        self.generic_visit(node)

    def _connect(self, node: ast.Call) -> None:
        target = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "receiver"), None)
        signal = _name(node.func.value) if isinstance(node.func, ast.Attribute) else None
        if target is None or signal is None:
            return
        weak = next((k.value for k in node.keywords if k.arg == "weak"), None)
        strong = isinstance(weak, ast.Constant) and weak.value is False
        doomed = _doomed(target)
        if doomed is not None and not strong:
            self.weak.append(WeakConnect(self.file, node.lineno, signal, doomed))
        elif isinstance(target, ast.Name) and target.id in self.top_functions:
            line = self.top_functions[target.id]
            self.declarations.append(Declaration(self.module, target.id, self.file, line, "connect"))

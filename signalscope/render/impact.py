"""Renderers of impact trees: plain text, a rich tree, and JSON (names escaped as model.escaping shows them)."""

from __future__ import annotations

from ..model import SCHEMA_VERSION, dump_json
from ..model.cascade import ImpactNode
from ..model.escaping import escape_controls
from .text import capture_console, captured

__all__ = ["render_impact_json", "render_impact_rich", "render_impact_text"]

_LOOP = "  ⟲ loop"


def _line(node: ImpactNode) -> str:
    return escape_controls(_raw_line(node))


def _raw_line(node: ImpactNode) -> str:
    where = f"  {node.file}:{node.line}" if node.file else ""
    if node.kind == "signal":
        return node.label + ("" if node.children else "  (no receivers)")
    if node.kind == "receiver":
        return f"{node.label}{where}" + (f"  [{node.detail}]" if node.detail else "") + (_LOOP if node.in_cycle else "")
    if node.kind == "effect":
        return f"{node.label}{where}  → {node.detail}"
    if node.kind == "cycle":
        return f"⟲ {node.label}: {node.detail}"
    return node.label


def render_impact_text(tree: ImpactNode) -> str:
    """Return `tree` as plain text with box-drawing branches."""
    lines = [escape_controls(tree.label)]

    def walk(node: ImpactNode, prefix: str, last: bool) -> None:
        lines.append(prefix + ("└─ " if last else "├─ ") + _line(node))
        inner = prefix + ("   " if last else "│  ")
        for i, child in enumerate(node.children):
            walk(child, inner, i == len(node.children) - 1)

    for i, child in enumerate(tree.children):
        walk(child, "", i == len(tree.children) - 1)
    return "\n".join(lines) + "\n"


def render_impact_rich(tree: ImpactNode, *, color: bool = True, width: int | None = None) -> str:
    """Return `tree` as a rich tree: receivers bold, loops red, silent writes dim."""
    from rich.text import Text
    from rich.tree import Tree

    console = capture_console(color, width)
    styles = {"signal": "cyan", "receiver": "bold", "effect": "", "cycle": "bold red", "depth": "dim"}
    root = Tree(Text(escape_controls(tree.label), style="bold"))  # Text, not markup: names print as written

    def walk(node: ImpactNode, branch: Tree) -> None:
        style = styles.get(node.kind, "")
        if node.kind == "effect" and not node.children:
            style = "dim"
        if node.in_cycle and node.kind == "receiver":
            style = "bold red"
        child = branch.add(Text(_line(node)), style=style)
        for grandchild in node.children:
            walk(grandchild, child)

    for node in tree.children:
        walk(node, root)
    console.print(root)
    return captured(console)


def render_impact_json(tree: ImpactNode, *, model: str, action: str) -> str:
    """Return `tree` as JSON: {"schema", "model", "action", "tree"}."""
    return dump_json({"schema": SCHEMA_VERSION, "model": model, "action": action, "tree": tree.to_dict()})

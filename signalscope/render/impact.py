"""Renderers of impact trees: plain text, a rich tree, and JSON (names escaped as model.escaping shows them).

Trees are walked with a stack of their own, never by recursion: a cascade
hundreds of receivers deep is as many levels deep here.
"""

from __future__ import annotations

from ..model import schemas
from ..model.cascade import ImpactNode
from ..model.escaping import escape_controls
from ..model.jsonio import dump_json
from .text import capture_console, captured

__all__ = ["render_impact_json", "render_impact_rich", "render_impact_text"]

_LOOP = "  ⟲ loop"


def _line(node: ImpactNode) -> str:
    return escape_controls(_raw_line(node))


def _short(condition: str) -> str:
    return condition if len(condition) <= 80 else condition[:77] + "..."


def _raw_line(node: ImpactNode) -> str:
    where = f"  {node.file}:{node.line}" if node.file else ""
    when = f"  [{_short(node.condition)}]" if node.condition else ""
    if node.kind == "signal":
        return node.label + when + ("" if node.children else "  (no receivers)")
    if node.kind == "receiver":
        return f"{node.label}{where}" + (f"  [{node.detail}]" if node.detail else "") + (_LOOP if node.in_cycle else "")
    if node.kind == "effect":
        return (f"if {_short(node.condition)}: " if node.condition else "") + f"{node.label}{where}  → {node.detail}"
    if node.kind == "cycle":
        return f"⟲ {node.label}: {node.detail}"
    if node.kind == "stop":
        return f"⛔ {node.label}{when}: {node.detail}"
    if node.kind == "update":
        return f"{node.label}{when}: {node.detail}"
    if node.kind == "skipped":
        return f"not run: {node.label}{where}  ({node.detail})"
    if node.kind == "field":
        return f"{node.label}  [{node.detail}]"
    return node.label


def render_impact_text(tree: ImpactNode) -> str:
    """Return `tree` as plain text with box-drawing branches."""
    lines = [escape_controls(tree.label)]
    todo = [(child, "", i == len(tree.children) - 1) for i, child in enumerate(tree.children)][::-1]
    while todo:
        node, prefix, last = todo.pop()
        lines.append(prefix + ("└─ " if last else "├─ ") + _line(node))
        inner = prefix + ("   " if last else "│  ")
        todo.extend(
            (child, inner, i == len(node.children) - 1) for i, child in reversed(list(enumerate(node.children)))
        )
    return "\n".join(lines) + "\n"


def render_impact_rich(tree: ImpactNode, *, color: bool = True, width: int | None = None) -> str:
    """Return `tree` as a rich tree: receivers bold, loops red, silent writes dim."""
    from rich.text import Text
    from rich.tree import Tree

    console = capture_console(color, width)
    styles = {
        "signal": "cyan",
        "receiver": "bold",
        "effect": "",
        "cycle": "bold red",
        "depth": "dim",
        "stop": "bold red",
        "update": "dim",
        "skipped": "dim",
        "field": "bold cyan",
    }
    root = Tree(Text(escape_controls(tree.label), style="bold"))  # Text, not markup: names print as written
    todo = [(node, root) for node in reversed(tree.children)]
    while todo:
        node, branch = todo.pop()
        style = styles.get(node.kind, "")
        if node.kind == "effect" and not node.children:
            style = "dim"
        if node.in_cycle and node.kind == "receiver":
            style = "bold red"
        child = branch.add(Text(_line(node)), style=style)
        todo.extend((grandchild, child) for grandchild in reversed(node.children))
    console.print(root)
    return captured(console)


def render_impact_json(tree: ImpactNode, *, model: str | None, action: str, signal: str | None = None) -> str:
    """Return `tree` as JSON: {"schema", "model", "action", "signal", "tree"}.

    Written by model.jsonio.dump_json, which keeps no call stack: json.dumps
    recurses once per level, and a deep cascade nests a level per node.
    """
    return dump_json(
        {"schema": schemas.IMPACT, "model": model, "action": action, "signal": signal, "tree": tree.to_dict()}
    )

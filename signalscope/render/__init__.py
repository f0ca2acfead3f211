"""Pure renderers: data in, text out. No printing, no files, no Django."""

from __future__ import annotations

from .json import render_json
from .text import render_plain_table, render_plain_tree, render_rich_table, render_rich_tree

__all__ = ["render_json", "render_plain_table", "render_plain_tree", "render_rich_table", "render_rich_tree"]

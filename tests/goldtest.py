"""Compare output with the gold files in tests/gold/, or rewrite them with --update-gold."""

from __future__ import annotations

import difflib
from pathlib import Path

GOLD = Path(__file__).resolve().parent / "gold"
ACTUAL = Path(__file__).resolve().parent / "actual"


def compare_gold(relative: str, actual: str, *, update: bool) -> None:
    """Assert that `actual` equals tests/gold/`relative`, byte for byte.

    On a mismatch the actual text goes to tests/actual/`relative` (ignored by
    git) and the assertion shows a unified diff. With `update`, the gold file
    is rewritten instead.
    """
    gold = GOLD / relative
    if update:
        gold.parent.mkdir(parents=True, exist_ok=True)
        gold.write_text(actual, encoding="utf-8")
        return
    expected = gold.read_text(encoding="utf-8") if gold.exists() else ""
    if actual == expected:
        return
    out = ACTUAL / relative
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(actual, encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"tests/gold/{relative}",
            tofile=f"tests/actual/{relative}",
        )
    )
    raise AssertionError(
        f"output differs from tests/gold/{relative} (missing: {not gold.exists()}); "
        f"actual written to {out}. If the change is intended, rerun with --update-gold.\n{diff}"
    )

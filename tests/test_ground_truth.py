"""signalscope list --json must agree exactly with an independent brute-force gc scan."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from helpers import FIXTURES, TESTS, receivers, run, signalscope

CASES = [
    ("shop", None, False),
    ("shop", None, True),
    ("kinds", None, False),
    ("kinds", None, True),
    ("broken", "site_cfg.ok", False),
    ("senders", None, False),
]


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


@pytest.mark.parametrize(("project", "settings", "no_urls"), CASES)
def test_list_agrees_with_brute_force_scan(project: str, settings: str | None, no_urls: bool) -> None:
    extra = ["--no-urls"] if no_urls else []
    truth_args = [sys.executable, str(TESTS / "ground_truth.py"), str(FIXTURES / project)]
    if settings:
        truth_args.append(settings)
    truth_run = run(truth_args + extra, cwd=FIXTURES / project)
    assert truth_run.returncode == 0, truth_run.stderr
    truth = truth_run.json()

    args = ["list", "--json", "--project", str(FIXTURES / project), *extra]
    if settings:
        args += ["--settings", settings]
    listed = signalscope(*args)
    assert listed.returncode == 0, listed.stderr
    data = listed.json()

    named = [s["path"] for s in data["signals"] if not s["path"].startswith("<unnamed>:")]
    assert named == truth["signals"]
    # Unnamed signals (kept in containers) are numbered by signalscope; the scan calls them all "<unnamed>".
    mine = sorted(
        _key({**r, "signal": "<unnamed>" if r["signal"].startswith("<unnamed>:") else r["signal"]})
        for r in receivers(data)
    )
    theirs = sorted(_key(r) for r in truth["receivers"])
    assert mine == theirs
    assert len(theirs) > 10  # the fixtures connect plenty: an empty scan would be a bug

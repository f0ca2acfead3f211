"""signalscope trace's pytest plugin: group each test's sends under its node id. PYTEST_DONT_REWRITE

Loaded through PYTEST_PLUGINS, set only while `signalscope trace -- -m
pytest` runs (tracing.children), so that it works in xdist's workers and
with ``-p no:signalscope`` too. Inert when no trace records groups.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from . import groups


def _grouped(kind: str, label: str) -> Generator[None, Any, None]:
    if not groups.is_active():
        yield
        return
    gid = groups.open_group(kind, label)
    outcome = yield
    groups.close_group(gid, failed=outcome.excinfo is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: Any) -> Generator[None, Any, None]:
    yield from _grouped("setup", f"set-up of {item.nodeid}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: Any) -> Generator[None, Any, None]:
    yield from _grouped("test", item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: Any) -> Generator[None, Any, None]:
    yield from _grouped("setup", f"tear-down of {item.nodeid}")

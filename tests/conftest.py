from __future__ import annotations

from typing import Any

import pytest
from helpers import FIXTURES, signalscope


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-gold",
        action="store_true",
        default=False,
        help="Rewrite tests/gold/ from the current output instead of comparing.",
    )


@pytest.fixture(scope="session")
def update_gold(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-gold"))


def _registry(project: str, *extra: str) -> dict[str, Any]:
    result = signalscope("list", "--json", "--project", str(FIXTURES / project), *extra)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


@pytest.fixture(scope="session")
def shop() -> dict[str, Any]:
    """`signalscope list --json` of fixtures/shop."""
    return _registry("shop")


@pytest.fixture(scope="session")
def kinds() -> dict[str, Any]:
    """`signalscope list --json` of fixtures/kinds."""
    return _registry("kinds")

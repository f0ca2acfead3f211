"""CLI-to-API wiring with the api monkeypatched: options reach the API, errors become exit codes."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from signalscope import api
from signalscope.cli.app import app
from signalscope.errors import ProjectLoadError
from signalscope.model import SignalMap

runner = CliRunner()

EMPTY = SignalMap(
    signalscope="0", django="5.2", settings="x.settings", settings_source="--settings", signals=(), connections=()
)


def test_options_reach_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_load_project(**kwargs: Any) -> str:
        seen["load"] = kwargs
        return "PROJECT"

    def fake_list(project: Any, **kwargs: Any) -> SignalMap:
        seen["list"] = (project, kwargs)
        return EMPTY

    monkeypatch.setattr(api, "load_project", fake_load_project)
    monkeypatch.setattr(api, "list_receivers", fake_list)
    result = runner.invoke(
        app,
        [
            "list",
            "--json",
            "--settings",
            "x.settings",
            "--no-urls",
            "--signal",
            "post_save",
            "--sender",
            "a.B",
            "--app",
            "a",
            "--receiver",
            "a.*",
            "--hide-django",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen["load"] == {"settings": "x.settings", "project": None, "pythonpath": (), "urls": False}
    assert seen["list"] == (
        "PROJECT",
        {"signals": ["post_save"], "sender": "a.B", "app": "a", "receiver": "a.*", "hide_django": True},
    )
    assert '"schema": 1' in result.stdout


def test_signalscope_errors_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(**kwargs: Any) -> None:
        raise ProjectLoadError("it broke", hint="fix it")

    monkeypatch.setattr(api, "load_project", fail)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 2
    assert "signalscope: error: it broke\nfix it" in result.output


def test_unexpected_errors_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "load_project", crash)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 70
    assert "internal error: RuntimeError: boom" in result.output
    assert "Traceback" not in result.output
    verbose = runner.invoke(app, ["list", "--traceback"])
    assert verbose.exit_code == 70 and "Traceback" in verbose.output

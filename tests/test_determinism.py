"""Same project, same bytes: across hash seeds and across the order of independent apps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, clean_env, signalscope

sys.path.insert(0, str(FIXTURES))
from genproject import generate


@pytest.mark.parametrize("project", ["shop", "kinds"])
def test_same_output_under_two_hash_seeds(project: str) -> None:
    outputs = set()
    for seed in ("0", "4242"):
        for args in (["--json"], [], ["--tree"]):
            result = signalscope(
                "list", *args, "--project", str(FIXTURES / project), env=clean_env(PYTHONHASHSEED=seed)
            )
            assert result.returncode == 0, result.stderr
            outputs.add((tuple(args), result.stdout))
    assert len(outputs) == 3  # one output per format, whatever the seed


def test_independent_apps_in_any_order_give_the_same_json(tmp_path: Path) -> None:
    outputs = []
    for seed in (None, 1, 2):
        project = generate(
            tmp_path / f"order-{seed}", apps=6, models=18, receivers=120, order_seed=seed, any_sender=False
        )
        settings = (project / "genproj" / "settings.py").read_text()
        result = signalscope("list", "--json", "--project", str(project), env=clean_env(PYTHONHASHSEED="random"))
        assert result.returncode == 0, result.stderr
        outputs.append((settings, result.stdout))
    assert len({settings for settings, _ in outputs}) == 3, "the seeds should give three INSTALLED_APPS orders"
    assert len({out for _, out in outputs}) == 1
    assert outputs[0][1].count('"receiver":') > 120


@pytest.mark.parametrize(
    "args",
    [
        ["graph", "--model", "auth.User", "-f", "mermaid"],
        ["graph", "--model", "auth.User", "--depth", "2"],
        ["graph", "--app", "accounts", "-f", "json"],
        ["impact", "auth.User", "--action", "delete", "--json"],
    ],
    ids=["graph-model-mermaid", "graph-model-dot", "graph-app-json", "impact-delete"],
)
def test_graph_and_impact_are_the_same_under_two_hash_seeds(args: list[str]) -> None:
    # `graph --model` kept the nodes in the order of a set of names, which the hash seed reorders.
    outputs = set()
    for seed in ("0", "4242", "7"):
        result = signalscope(*args, "--project", str(FIXTURES / "shop"), env=clean_env(PYTHONHASHSEED=seed))
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1

"""Impact trees against what really runs: each fixture scenario is executed and its sends recorded.

The static tree over-approximates (code has conditions), so every send that
really happened must appear in it, at the same place, with the same
receivers in the same order; a send nobody predicted is allowed only where
the tree shows an unresolved effect. On the demo the two must be equal.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from helpers import FIXTURES, TESTS, run, signalscope


def real_sends(project: str, scenario: str) -> list[dict[str, Any]]:
    result = run([sys.executable, str(TESTS / "real_run.py"), str(FIXTURES / project), scenario])
    assert result.returncode == 0, result.stderr
    tree: list[dict[str, Any]] = result.json()
    return tree


def predicted(project: str, model: str, action: str) -> list[dict[str, Any]]:
    result = signalscope("impact", model, "--action", action, "--json", "--project", str(FIXTURES / project))
    assert result.returncode == 0, result.stderr
    return [_signal(node) for node in result.json()["tree"]["children"]]


def _signal(node: dict[str, Any]) -> dict[str, Any]:
    """Reshape an impact signal node like a recorded send: receivers, then the sends beneath them."""
    name, _, sender = node["label"].partition("(")
    children, unresolved = [], False
    for receiver in node["children"]:
        for effect in receiver["children"]:
            unresolved |= effect["detail"].startswith("unresolved")
            children.extend(_signal(s) for s in effect["children"] if s["kind"] == "signal")
    return {
        "signal": name,
        "sender": sender.rstrip(")"),
        "receivers": [r["label"] for r in node["children"]],
        "children": children,
        "unresolved": unresolved,
    }


def _heard(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in nodes if n["receivers"] or _heard(n["children"])]


def check(real: list[dict[str, Any]], guess: list[dict[str, Any]], unresolved_here: bool, path: str = "") -> int:
    """Match `real` sends in order against `guess`; return how many predicted sends were used."""
    guess = _heard(guess)
    used = 0
    for send in _heard(real):
        where = f"{path}/{send['signal']}({send['sender']})"
        index = next(
            (
                i
                for i in range(used, len(guess))
                if (guess[i]["signal"], guess[i]["sender"]) == (send["signal"], send["sender"])
            ),
            None,
        )
        if index is None:
            assert unresolved_here, f"{where} ran but the impact tree does not predict it"
            continue
        assert guess[index]["receivers"] == send["receivers"], f"{where}: receivers differ"
        check(send["children"], guess[index]["children"], guess[index]["unresolved"], where)
        used = index + 1
    return used


def _count(nodes: list[dict[str, Any]]) -> int:
    return sum(1 + _count(n["children"]) for n in _heard(nodes))


def test_creating_a_user_runs_exactly_the_predicted_tree() -> None:
    real = real_sends("shop", "create-user")
    guess = predicted("shop", "auth.User", "create")
    check(real, guess, unresolved_here=False)
    assert _count(real) == _count(guess) == 3  # post_save(User), then post_save(Profile) twice


@pytest.mark.parametrize(("scenario", "model", "action"), [("pay-invoice", "billing.Payment", "save")])
def test_the_cascade_runs_inside_the_predicted_tree(scenario: str, model: str, action: str) -> None:
    real = real_sends("cascade", scenario)
    guess = predicted("cascade", model, action)
    check(real, guess, unresolved_here=False)
    assert _count(real) >= 6  # five hops and more really ran

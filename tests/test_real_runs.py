"""Impact trees against what really runs: each fixture scenario is executed and its sends and writes recorded.

tests/real_run.py runs a scenario in the fixture project's own process (no
signalscope there) and records every send, the receivers that ran, in order,
and the INSERT/UPDATE/DELETE statements each receiver made. The static tree
over-approximates (code has conditions), so it is checked for recall:

1. sends: every real send that reached a receiver, and every pre/post_save,
   pre/post_delete and m2m_changed sent inside a receiver (heard or not), is a
   predicted signal node at the same place (under the same receiver,
   recursively); among siblings the real sends come in the predicted order (a
   subsequence: the tree may hold more). A run of the same send (one per
   object, as Django's Collector sends them) is matched by one node, and under
   a receiver an effect's sends may come again (an effect in a loop). A matched
   send reached the predicted receivers, in the predicted order.
2. writes: every statement a receiver made is a predicted effect of that
   receiver on that model (create/save: INSERT or UPDATE, update: UPDATE,
   delete: DELETE, also of the models whose delete signals it predicts,
   bulk_create: INSERT, m2m: INSERT or DELETE on the through table), or the
   receiver has an unresolved effect.

A delete is also checked against the Collector's plan at the top: every
pre_delete and post_delete Django sent, heard or not, in the predicted order,
and each UPDATE of a SET_NULL predicted.

Each scenario prints "recall <project>/<scenario>: sends X/Y, writes A/B, order
ok|wrong, receivers ok|differ" (run with -s to see it) and writes its line, and
what it misses, into tests/actual/real_runs.txt. Scenarios that fail today are
xfail(strict) with what is missing: they alert when impact gets them right.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers import FIXTURES, TESTS, run, signalscope

ACTUAL = TESTS / "actual"
MODEL_SIGNALS = "django.db.models.signals"
WRITE_SIGNALS = frozenset(f"{MODEL_SIGNALS}:{name}" for name in ("pre_save", "post_save", "pre_delete", "post_delete"))
WRITE_SIGNALS |= {f"{MODEL_SIGNALS}:m2m_changed"}
EFFECT = re.compile(r"(?P<kind>[a-z0-9_]+)(?: (?P<model>[\w.]+))?")
#: Kinds of impact nodes that are not a write (an effect is kind "effect", or "update" where that is its own kind).
STRUCTURE = frozenset({"action", "signal", "receiver", "cycle", "depth", "stop", "skipped"})
EFFECT_KINDS = frozenset({"create", "save", "delete", "m2m", "send", "update", "bulk_create", "unresolved"})
#: The statements each kind of effect makes.
VERBS = {
    "create": {"INSERT", "UPDATE"},
    "save": {"INSERT", "UPDATE"},
    "update": {"UPDATE"},
    "delete": {"DELETE"},
    "bulk_create": {"INSERT"},
    "m2m": {"INSERT", "DELETE"},
}
THIRDPARTY_APPS = ("simple_history", "auditlog", "allauth", "reversion", "guardian", "rest_framework")


# --- the real run --------------------------------------------------------------------------------


@functools.cache
def real_run(project: str, scenario: str) -> dict[str, Any]:
    """tests/real_run.py's record of `scenario` run in fixtures/`project`."""
    result = run([sys.executable, str(TESTS / "real_run.py"), str(FIXTURES / project), scenario])
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def _required(send: dict[str, Any], inside_receiver: bool) -> bool:
    """A real send the prediction must hold: it was heard, or it is a model write's signal sent by a receiver."""
    return bool(send["receivers"]) or (inside_receiver and send["path"] in WRITE_SIGNALS)


def _size(send: dict[str, Any]) -> tuple[int, int]:
    """(required sends, receivers' writes) of a real send and everything beneath it."""
    sends, writes = 1, 0
    for call in send["receivers"]:
        inner = _call_size(call)
        sends, writes = sends + inner[0], writes + inner[1]
    return sends, writes


def _call_size(call: dict[str, Any]) -> tuple[int, int]:
    sends, writes = 0, len(call["writes"])
    for send in call["sends"]:
        if _required(send, inside_receiver=True):
            inner = _size(send)
            sends, writes = sends + inner[0], writes + inner[1]
    return sends, writes


# --- the prediction ------------------------------------------------------------------------------


@dataclass
class Effect:
    kind: str
    model: str | None
    detail: str
    signals: list[Predicted] = field(default_factory=list)

    def sends(self, send: dict[str, Any]) -> bool:
        """Whether this effect predicts `send`, a model write's signal nobody hears (the tree shows no node for it).

        An unresolved effect may be any write: it predicts any of them, as it covers any write.
        """
        name = send["path"].rpartition(":")[2]
        if self.kind == "unresolved":
            return True
        if self.kind in ("create", "save"):
            return name in ("pre_save", "post_save") and send["sender"] == self.model
        if self.kind == "delete":
            return name in ("pre_delete", "post_delete")
        if self.kind == "m2m":
            return name == "m2m_changed" and send["sender"] == self.model
        return False

    def covers(self, write: dict[str, Any]) -> bool:
        if self.kind == "unresolved":
            return True
        if bool(write.get("after_commit")) != ("[after commit" in self.detail):
            return False  # run by on_commit, or at once: the tree must say which
        if write["verb"] not in VERBS.get(self.kind, set()):
            return False
        if self.kind == "m2m":
            return self.model == write["model"] or self.model in write.get("m2m", [])
        if self.kind == "delete":  # a delete cascades: the models whose delete signals it predicts
            cascade = {
                s.sender
                for s in self.signals
                if s.path in (f"{MODEL_SIGNALS}:pre_delete", f"{MODEL_SIGNALS}:post_delete")
            }
            return write["model"] == self.model or write["model"] in cascade
        return write["model"] == self.model


@dataclass
class Receiver:
    label: str
    effects: list[Effect] = field(default_factory=list)


@dataclass
class Predicted:
    """A signal node of the impact tree; a cycle node is its ancestor of the same label."""

    label: str
    name: str
    sender: str
    path: str
    condition: str | None = None
    receivers: list[Receiver] = field(default_factory=list)

    def matches(self, send: dict[str, Any]) -> bool:
        """Whether `send` is this node's: the same signal and sender, and no other action or `created`."""
        if (self.path, self.sender) != (send["path"], send["sender"]):
            return False
        action = re.search(r"\baction='(\w+)'", self.condition or "")
        created = re.search(r"\bcreated=(True|False)\b", self.condition or "")
        if action is not None and "action" in send and action[1] != send["action"]:
            return False
        return created is None or "created" not in send or created[1] == str(send["created"])


def _walk(node: dict[str, Any], stop: frozenset[str]) -> Iterator[dict[str, Any]]:
    """The descendants of `node` of a kind in `stop`, in order, through any other kind of node."""
    for child in node["children"]:
        if child["kind"] in stop:
            yield child
        else:
            yield from _walk(child, stop)


def _signal(node: dict[str, Any], ancestors: list[Predicted]) -> Predicted:
    name, _, sender = node["label"].partition("(")
    sender = sender[:-1] if sender.endswith(")") else sender
    if node["kind"] == "cycle":  # "already running above": the ancestor's tree, again
        for ancestor in reversed(ancestors):
            if ancestor.label == node["label"]:
                return ancestor
        return Predicted(node["label"], name, sender, f"?:{name}")
    signal = Predicted(node["label"], name, sender, node["detail"] or f"?:{name}", node.get("condition"))
    for receiver in _walk(node, frozenset({"receiver"})):
        signal.receivers.append(_receiver(receiver, [*ancestors, signal]))
    return signal


def _receiver(node: dict[str, Any], ancestors: list[Predicted]) -> Receiver:
    receiver = Receiver(node["label"])
    for effect in _walk(node, frozenset({"effect", "signal", "cycle", "receiver"})):
        match = EFFECT.match(effect.get("detail") or "")
        if effect["kind"] in STRUCTURE or match is None or match["kind"] not in EFFECT_KINDS:
            continue
        found = Effect(match["kind"], match["model"], effect["detail"])
        found.signals = [_signal(s, ancestors) for s in _walk(effect, frozenset({"signal", "cycle"}))]
        receiver.effects.append(found)
    return receiver


@dataclass(frozen=True)
class Prediction:
    signals: list[Predicted]
    error: str | None = None


@functools.cache
def predicted(project: str, *impact: str) -> Prediction:
    """`signalscope impact IMPACT --json` of fixtures/`project`, as the top-level predicted sends."""
    result = signalscope("impact", *impact, "--json", "--project", str(FIXTURES / project))
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or [""]
        return Prediction([], f"impact exited {result.returncode}: {lines[-1].strip()}")
    tree = result.json()["tree"]
    return Prediction([_signal(node, []) for node in _walk(tree, frozenset({"signal", "cycle"}))])


# --- recall ----------------------------------------------------------------------------------------


@dataclass
class Recall:
    sends: int = 0
    sends_found: int = 0
    writes: int = 0
    writes_found: int = 0
    missing: list[str] = field(default_factory=list)
    misordered: list[str] = field(default_factory=list)
    receivers_differ: list[str] = field(default_factory=list)

    def miss(self, what: str, sends: int = 0, writes: int = 0) -> None:
        self.missing.append(what)
        self.sends += sends
        self.writes += writes

    @property
    def ok(self) -> bool:
        full = self.sends == self.sends_found and self.writes == self.writes_found
        return full and not self.misordered and not self.receivers_differ

    def line(self, name: str, error: str | None) -> str:
        order = "wrong" if self.misordered else "ok"
        receivers = "differ" if self.receivers_differ else "ok"
        text = (
            f"recall {name}: sends {self.sends_found}/{self.sends}, writes {self.writes_found}/{self.writes}, "
            f"order {order}, receivers {receivers}"
        )
        return f"{text} ({error})" if error else text


def _send_name(send: dict[str, Any]) -> str:
    details = "".join(f" {k}={send[k]}" for k in ("action", "created") if k in send)
    return f"{send['signal']}({send['sender']}){details}"


def _find(group: list[Predicted], send: dict[str, Any], start: int) -> int | None:
    return next((i for i in range(start, len(group)) if group[i].matches(send)), None)


def match_sends(
    real: list[dict[str, Any]],
    groups: list[list[Predicted]],
    where: str,
    recall: Recall,
    *,
    inside_receiver: bool,
    effects: list[Effect] | None = None,
) -> None:
    """Match the required `real` sends, in order, against the predicted sends of `groups` (each effect's, in order).

    A model write's signal that nobody hears, sent by a receiver, is predicted by the receiver's effect
    that writes that model (`effects`): the tree draws no node for a signal nobody hears.
    """
    group, position, last = 0, 0, None
    for send in real:
        if not _required(send, inside_receiver):
            continue
        here = f"{where} > {_send_name(send)}"
        if not send["receivers"] and effects is not None and any(e.sends(send) for e in effects):
            recall.sends += 1
            recall.sends_found += 1
            continue
        node = last if last is not None and last.matches(send) else None  # the same send again, one per object
        if node is None and group < len(groups):
            found = _find(groups[group], send, position)
            if found is not None:
                node, position = groups[group][found], found + 1
        if node is None:
            for later in range(group + 1, len(groups)):
                found = _find(groups[later], send, 0)
                if found is not None:
                    node, group, position = groups[later][found], later, found + 1
                    break
        if node is None and inside_receiver and group < len(groups):
            found = _find(groups[group], send, 0)  # the effect once more (in a loop)
            if found is not None:
                node, position = groups[group][found], found + 1
        if node is None:
            earlier = [p for g in groups for p in g if p.matches(send)]
            if earlier:
                recall.misordered.append(f"{here}: predicted, but before what ran ahead of it")
                node = earlier[0]
        if node is None:
            sends, writes = _size(send)
            recall.miss(f"{here}: not predicted", sends, writes)
            continue
        recall.sends += 1
        recall.sends_found += 1
        last = node
        match_receivers(send, node, here, recall)


def match_receivers(send: dict[str, Any], node: Predicted, where: str, recall: Recall) -> None:
    ran = [call["receiver"] for call in send["receivers"]]
    expected = [r.label for r in node.receivers]
    if ran != expected:
        recall.receivers_differ.append(f"{where}: ran {ran}, predicted {expected}")
    seen: dict[str, int] = {}
    for call in send["receivers"]:
        index = seen[call["receiver"]] = seen.get(call["receiver"], -1) + 1
        same = [r for r in node.receivers if r.label == call["receiver"]]
        here = f"{where} > {call['receiver']}"
        if index >= len(same):
            sends, writes = _call_size(call)
            if sends or writes:
                recall.miss(f"{here}: receiver not predicted, so neither are its sends and writes", sends, writes)
            continue
        receiver = same[index]
        for write in call["writes"]:
            recall.writes += 1
            if any(effect.covers(write) for effect in receiver.effects):
                recall.writes_found += 1
            else:
                late = " after commit" if write.get("after_commit") else ""
                recall.missing.append(f"{here}: {write['verb']} {write['model']}{late}: no effect predicts it")
        groups = [effect.signals for effect in receiver.effects]
        match_sends(call["sends"], groups, here, recall, inside_receiver=True, effects=receiver.effects)


def recall_of(real: dict[str, Any], prediction: Prediction, *, every_write_signal: bool = False) -> Recall:
    """The recall of `prediction`; with `every_write_signal`, a model write's signals are wanted at the top too."""
    recall = Recall()
    match_sends(real["sends"], [prediction.signals], "", recall, inside_receiver=every_write_signal)
    return recall


# --- the table ---------------------------------------------------------------------------------------


#: Each scenario's line, as printed: the table of the run.
RESULTS: dict[str, str] = {}


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One writer at a time (pytest -n runs scenarios in several workers)."""
    ACTUAL.mkdir(exist_ok=True)
    with open(ACTUAL / "real_runs.lock", "w") as handle:
        try:
            import fcntl
        except ImportError:  # not on POSIX: no lock
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def report(scenario: Scenario, line: str, details: list[str]) -> None:
    """Print `line`, keep it in RESULTS and write the table of every scenario run so far to tests/actual/."""
    print(line)
    RESULTS[scenario.id] = line
    with _locked():
        state = ACTUAL / "real_runs.json"
        entries: dict[str, Any] = json.loads(state.read_text()) if state.exists() else {}
        entries[scenario.id] = {"line": line, "details": details}
        state.write_text(json.dumps(entries, indent=1))
        ids = [s.id for s in SCENARIOS if s.id in entries]
        table = [entries[i]["line"] for i in ids]
        for i in ids:
            if entries[i]["details"]:
                table += ["", f"{i}:", *(f"  {d}" for d in entries[i]["details"])]
        (ACTUAL / "real_runs.txt").write_text("\n".join(table) + "\n")


# --- the scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    project: str
    name: str
    impact: tuple[str, ...]
    xfail: str | None = None

    @property
    def id(self) -> str:
        return f"{self.project}/{self.name}"

    def param(self, xfail: str | None = None) -> Any:
        """This scenario as a test's parameter: skipped without the third-party apps, xfail(strict) for `xfail`."""
        marks: list[Any] = []
        if self.project == "thirdparty":
            missing = any(importlib.util.find_spec(app) is None for app in THIRDPARTY_APPS)
            reason = "fixtures/thirdparty needs the apps of the test extra: pip install -e '.[test]'"
            marks.append(pytest.mark.skipif(missing, reason=reason))
        if xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=xfail))
        return pytest.param(self, id=self.id, marks=marks)


SCENARIOS = [
    Scenario("shop", "create-user", ("auth.User", "--action", "create")),
    Scenario("shop", "delete-user", ("auth.User", "--action", "delete")),
    Scenario("cascade", "pay-invoice", ("billing.Payment", "--action", "create")),
    Scenario("thirdparty", "create", ("auth.User", "--action", "create")),
    Scenario("thirdparty", "save", ("store.Product", "--action", "save")),
    Scenario("thirdparty", "delete", ("auth.User", "--action", "delete")),
    Scenario("thirdparty", "m2m-add", ("store.Product", "--action", "m2m-add")),
    Scenario("thirdparty", "order-placed", ("--signal", "store.signals:order_placed", "--sender", "store.Order")),
]


@pytest.mark.parametrize("scenario", [s.param(s.xfail) for s in SCENARIOS])
def test_what_really_runs_is_in_the_impact_tree(scenario: Scenario) -> None:
    real = real_run(scenario.project, scenario.name)
    prediction = predicted(scenario.project, *scenario.impact)
    recall = recall_of(real, prediction)
    details = [
        *(f"missing: {m}" for m in recall.missing),
        *(f"order: {m}" for m in recall.misordered),
        *(f"receivers: {m}" for m in recall.receivers_differ),
    ]
    report(scenario, recall.line(scenario.id, prediction.error), details)
    assert prediction.error is None, prediction.error
    assert recall.ok, "\n".join(details)


DELETES = [s for s in SCENARIOS if s.impact[1:] == ("--action", "delete")]


@pytest.mark.parametrize("scenario", [s.param() for s in DELETES])
def test_a_delete_runs_the_collectors_plan(scenario: Scenario) -> None:
    """Every pre_delete and post_delete Django sent, heard or not, in the predicted order; each SET_NULL predicted."""
    real = real_run(scenario.project, scenario.name)
    prediction = predicted(scenario.project, *scenario.impact)
    assert prediction.error is None, prediction.error
    top = {  # the top level only: what the receivers did is the other test's
        "sends": [
            {**s, "receivers": [{**call, "writes": [], "sends": []} for call in s["receivers"]]}
            for s in real["sends"]
            if s["signal"] in ("pre_delete", "post_delete")
        ]
    }
    recall = recall_of(top, Prediction(prediction.signals), every_write_signal=True)
    assert (recall.sends_found, recall.missing, recall.misordered) == (recall.sends, [], [])
    tree = signalscope("impact", *scenario.impact, "--json", "--project", str(FIXTURES / scenario.project)).json()
    set_null = {
        node["label"].partition(" ")[0].rpartition(".")[0] for node in _walk(tree["tree"], frozenset({"update"}))
    }
    updated = {w["model"] for w in real["writes"] if w["verb"] == "UPDATE"}
    assert updated <= set_null


# --- the recorder itself ---------------------------------------------------------------------------


def _top(real: dict[str, Any], label: str) -> list[dict[str, Any]]:
    return [s for s in real["sends"] if f"{s['signal']}({s['sender']})" == label]


def _calls(send: dict[str, Any]) -> list[str]:
    return [call["receiver"] for call in send["receivers"]]


def _writes(call: dict[str, Any]) -> list[tuple[str, str]]:
    return [(w["verb"], w["model"]) for w in call["writes"]]


def test_the_recorder_attaches_each_write_to_the_receiver_that_made_it() -> None:
    real = real_run("shop", "create-user")
    assert [(w["verb"], w["model"]) for w in real["writes"]] == [("INSERT", "auth.User")]  # the scenario's own
    (saved,) = _top(real, "post_save(auth.User)")
    assert (saved["path"], saved["created"]) == (f"{MODEL_SIGNALS}:post_save", True)
    assert _calls(saved) == [
        "accounts.signals:create_user_profile",
        "accounts.signals:save_user_profile",
        "orders.receivers:touch_search_index",
    ]
    create, save, index = saved["receivers"]
    assert (_writes(create), _writes(save), _writes(index)) == (
        [("INSERT", "accounts.Profile")],
        [("UPDATE", "accounts.Profile")],
        [],
    )
    # the Profile's own post_save ran inside create_user_profile: its receiver wrote nothing
    (profile,) = [s for s in create["sends"] if s["signal"] == "post_save"]
    assert (profile["sender"], profile["created"], _calls(profile)) == (
        "accounts.Profile",
        True,
        ["orders.receivers:touch_search_index"],
    )
    assert profile["receivers"][0]["writes"] == []


def test_the_recorder_names_receivers_as_signalscope_does() -> None:
    deleted = real_run("shop", "delete-user")
    assert [_calls(s) for s in _top(deleted, "pre_delete(orders.Order)")] == [["orders.receivers:AuditTrail.__call__"]]
    created = real_run("shop", "on-commit")
    (saved,) = _top(created, "post_save(orders.Product)")
    assert _calls(saved)[0] == "orders.receivers:invalidate_cache"  # a partial, by the function it wraps


@pytest.mark.skipif(
    any(importlib.util.find_spec(app) is None for app in THIRDPARTY_APPS),
    reason="fixtures/thirdparty needs the apps of the test extra",
)
def test_the_recorder_names_third_party_receivers_and_signals() -> None:
    real = real_run("thirdparty", "m2m-add")
    assert [(s["signal"], s["sender"], s["action"]) for s in real["sends"] if s["signal"] == "m2m_changed"] == [
        ("m2m_changed", "store.Product_tags", "pre_add"),
        ("m2m_changed", "store.Product_tags", "post_add"),
    ]
    (post_add,) = [s for s in real["sends"] if s.get("action") == "post_add"]
    # a partial of a bound method; a module function; a closure decorated with functools.wraps
    assert _calls(post_add) == [
        "simple_history.models:HistoricalRecords.m2m_changed",
        "reversion.revisions:_m2m_changed_receiver",
        "auditlog.receivers:make_log_m2m_changes.<locals>.log_m2m_changes",
    ]
    history, _reversion, audit = post_add["receivers"]
    assert ("INSERT", "store.HistoricalProduct") in _writes(history)
    assert _writes(audit) == [("INSERT", "auditlog.LogEntry")]
    sent = {s["path"] for s in history["sends"]}
    assert "simple_history.signals:pre_create_historical_record" in sent
    # the through table's write names what it joins
    assert real["writes"] == [{"verb": "INSERT", "model": "store.Product_tags", "m2m": ["store.Product", "store.Tag"]}]
    placed = real_run("thirdparty", "order-placed")
    assert [(s["path"], s["sender"], _calls(s)) for s in placed["sends"]] == [
        ("store.signals:order_placed", "store.Order", ["store.signals:award_points", "store.signals:tag_best_seller"])
    ]


def test_the_recorder_gives_a_receivers_on_commit_callback_to_that_receiver() -> None:
    real = real_run("shop", "on-commit")
    (saved,) = _top(real, "post_save(orders.Product)")
    call = saved["receivers"][-1]
    assert call["receiver"].endswith("shop_on_commit.<locals>.tag_when_committed")
    assert call["writes"] == [{"verb": "INSERT", "model": "orders.Tag", "after_commit": True}]
    assert [_send_name(s) for s in call["sends"] if s["receivers"]] == ["post_save(orders.Tag) created=True"]
    assert real["writes"] == [{"verb": "INSERT", "model": "orders.Product"}]


def test_the_collector_sends_each_pre_delete_then_each_post_delete_dependents_first() -> None:
    """What Django really does when a user with an order of two lines is deleted (fixtures/shop)."""
    real = real_run("shop", "delete-user")
    deletes = [_send_name(s) for s in real["sends"] if s["signal"] in ("pre_delete", "post_delete")]
    assert deletes == [
        "pre_delete(orders.OrderLine)",
        "pre_delete(orders.OrderLine)",
        "pre_delete(orders.Order)",
        "pre_delete(auth.User)",
        "post_delete(orders.OrderLine)",
        "post_delete(orders.OrderLine)",
        "post_delete(orders.Order)",
        "post_delete(auth.User)",
    ]  # accounts.Profile, with no receiver and nothing beneath, is deleted fast: no signal
    (recalculate,) = {call["receiver"] for s in _top(real, "post_delete(orders.OrderLine)") for call in s["receivers"]}
    assert recalculate == "orders.receivers:recalculate_total"


def test_the_demo_predicts_no_send_that_does_not_happen() -> None:
    """On the demo the prediction is exact: the sends it shows heard are the ones that ran."""

    def heard(sends: list[Any], real: bool) -> int:
        if real:
            return sum(1 + sum(heard(c["sends"], True) for c in s["receivers"]) for s in sends if s["receivers"])
        return sum(
            1 + sum(heard(e.signals, False) for r in s.receivers for e in r.effects) for s in sends if s.receivers
        )

    real = real_run("shop", "create-user")
    prediction = predicted("shop", "auth.User", "--action", "create")
    assert heard(real["sends"], True) == heard(prediction.signals, False) == 3  # post_save(User), post_save(Profile) x2


# --- the check itself, on made-up trees ------------------------------------------------------------


def _real(signal: str, sender: str, *calls: dict[str, Any], **details: Any) -> dict[str, Any]:
    path = f"{MODEL_SIGNALS}:{signal}" if signal != "custom" else "app.signals:custom"
    return {"signal": signal, "path": path, "sender": sender, **details, "receivers": list(calls)}


def _ran(receiver: str, *sends: dict[str, Any], writes: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    return {"receiver": receiver, "writes": [{"verb": v, "model": m} for v, m in writes], "sends": list(sends)}


def _node(kind: str, label: str, detail: str | None = None, *children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "label": label, "detail": detail, "children": list(children), "condition": None, **extra}


def _sig(signal: str, sender: str, *receivers: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
    path = f"{MODEL_SIGNALS}:{signal}" if signal != "custom" else "app.signals:custom"
    return _node("signal", f"{signal}({sender})", path, *receivers, condition=condition)


def _tree(*signals: dict[str, Any]) -> Prediction:
    return Prediction([_signal(s, []) for s in signals])


def test_the_check_wants_every_write_signal_a_receiver_sends_and_each_write() -> None:
    real = {
        "sends": [
            _real("pre_save", "a.A"),  # unheard at the top: not required
            _real(
                "post_save",
                "a.A",
                _ran("a:r", _real("pre_save", "a.B"), _real("post_save", "a.B"), writes=(("INSERT", "a.B"),)),
                created=True,
            ),
        ]
    }
    # the tree draws no node for a signal nobody hears: the create that writes a.B predicts its sends
    effect = _node("effect", "B.objects.create()", "create a.B")
    recall = recall_of(real, _tree(_sig("post_save", "a.A", _node("receiver", "a:r", None, effect))))
    assert (recall.sends_found, recall.sends, recall.writes_found, recall.writes) == (3, 3, 1, 1)
    assert recall.missing == []
    # a create of another model predicts neither
    effect = _node("effect", "C.objects.create()", "create a.C")
    recall = recall_of(real, _tree(_sig("post_save", "a.A", _node("receiver", "a:r", None, effect))))
    assert (recall.sends_found, recall.sends, recall.writes_found, recall.writes) == (1, 3, 0, 1)
    assert " > post_save(a.A) created=True > a:r > pre_save(a.B): not predicted" in recall.missing
    # an update() is no create: the INSERT is not predicted
    effect = _node("effect", "B.objects.update()", "update a.B: sends nothing")
    recall = recall_of(real, _tree(_sig("post_save", "a.A", _node("receiver", "a:r", None, effect))))
    assert (recall.sends_found, recall.sends, recall.writes_found, recall.writes) == (1, 3, 0, 1)
    # an unresolved effect may be any write
    effect = _node("effect", "obj.save()", "unresolved: the object can't be known statically")
    recall = recall_of(real, _tree(_sig("post_save", "a.A", _node("receiver", "a:r", None, effect))))
    assert (recall.writes_found, recall.writes) == (1, 1)


def test_the_check_wants_the_order_and_the_receivers_that_ran() -> None:
    heard = _ran("a:r")
    real = {
        "sends": [
            _real("pre_delete", "a.Line", heard),
            _real("pre_delete", "a.Line", heard),
            _real("pre_delete", "a.Order", heard),
        ]
    }
    receiver = _node("receiver", "a:r")
    in_order = recall_of(real, _tree(_sig("pre_delete", "a.Line", receiver), _sig("pre_delete", "a.Order", receiver)))
    assert in_order.ok  # one node for the run of sends, one per line
    swapped = recall_of(real, _tree(_sig("pre_delete", "a.Order", receiver), _sig("pre_delete", "a.Line", receiver)))
    assert (swapped.sends_found, swapped.sends, len(swapped.misordered)) == (3, 3, 1)
    other = recall_of(
        real, _tree(_sig("pre_delete", "a.Line", _node("receiver", "a:s")), _sig("pre_delete", "a.Order", receiver))
    )
    assert other.receivers_differ == [" > pre_delete(a.Line): ran ['a:r'], predicted ['a:s']"] * 2


def test_the_check_tells_m2m_actions_apart_and_follows_a_loop_back() -> None:
    wrote = _ran("a:log", writes=(("INSERT", "a.Log"),))
    real = {
        "sends": [
            _real("m2m_changed", "a.A_tags", _ran("a:log"), action="pre_add"),
            _real("m2m_changed", "a.A_tags", wrote, action="post_add"),
        ]
    }
    logs = _node("receiver", "a:log", None, _node("effect", "Log.objects.create()", "create a.Log"))
    prediction = _tree(
        _sig("m2m_changed", "a.A_tags", _node("receiver", "a:log"), condition="action='pre_add'"),
        _sig("m2m_changed", "a.A_tags", logs, condition="action='post_add'"),
    )
    assert recall_of(real, prediction).ok
    # a cycle node is the tree of its ancestor once more
    again = _real("post_save", "a.A", _ran("a:loop"))
    real = {"sends": [_real("post_save", "a.A", _ran("a:loop", again, writes=(("UPDATE", "a.A"),)))]}
    cycle = _node("cycle", "post_save(a.A)", "already running above: loops")
    loop = _node("receiver", "a:loop", None, _node("effect", "a.save()", "save a.A", cycle))
    recall = recall_of(real, _tree(_sig("post_save", "a.A", loop)))
    assert (recall.sends_found, recall.sends, recall.writes_found, recall.writes) == (2, 2, 1, 1)

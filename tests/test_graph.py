"""The dependency graph on the cascade fixture: effects, cycles, every output format, failures."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pydot
import pytest
from helpers import FIXTURES, clean_env, needs_dot, signalscope

CASCADE = str(FIXTURES / "cascade")
SHOP = str(FIXTURES / "shop")


@pytest.fixture(scope="module")
def cascade_graph() -> dict[str, Any]:
    result = signalscope("graph", "--project", CASCADE, "--hide-django", "--format", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def edges(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in data["edges"] if e["kind"] == kind]


def test_the_chain_across_three_apps(cascade_graph: dict[str, Any]) -> None:
    triggers = {(e["source"], e["target"], e["sender"], e["effect"]) for e in edges(cascade_graph, "triggers")}
    R, S = "receiver:", "signal:django.db.models.signals:"
    chain = [
        (R + "billing.receivers:mark_invoice_paid", S + "post_save", "billing.Invoice", "save"),
        (R + "inventory.receivers:reserve_stock", S + "post_save", "inventory.StockMovement", "create"),
        (R + "inventory.receivers:update_stock_level", S + "post_save", "inventory.Stock", "save"),
        (R + "inventory.receivers:check_stock_level", "signal:inventory.signals:stock_low", "inventory.Stock", "send"),
    ]
    for hop in chain:
        assert hop in triggers
    connected = {(e["source"], e["target"]) for e in edges(cascade_graph, "connected")}
    assert ("signal:inventory.signals:stock_low", R + "notify.receivers:notify_purchasing") in connected
    helper = next(
        e for e in edges(cascade_graph, "triggers") if e["source"] == R + "inventory.receivers:update_stock_level"
    )
    assert (helper["via"], helper["text"], helper["line"]) == ("inventory.receivers:_recount", "stock.save()", 20)


def test_the_loop_is_marked(cascade_graph: dict[str, Any]) -> None:
    looping = sorted(n["id"] for n in cascade_graph["nodes"] if n.get("in_cycle"))
    assert looping == [
        "receiver:billing.receivers:reprice_open_invoices",
        "receiver:inventory.receivers:reserve_stock",
        "receiver:inventory.receivers:update_stock_level",
    ]
    not_looping = {e["source"] for e in edges(cascade_graph, "triggers") if not e["in_cycle"]}
    assert "receiver:inventory.receivers:check_stock_level" in not_looping


def test_update_and_bulk_create_send_nothing_and_say_so(cascade_graph: dict[str, Any]) -> None:
    writes = {(e["source"].split(":")[-1], e["effect"], e["target"], e["note"]) for e in edges(cascade_graph, "writes")}
    no_save = "QuerySet.update() sends no pre_save/post_save"
    no_bulk = "bulk_create() sends no pre_save/post_save"
    nobody = "no receiver listens"
    assert writes == {
        ("archive_movements", "update", "sender:inventory.StockMovement", no_save),
        ("archive_movements", "bulk_create", "sender:inventory.StockMovement", no_bulk),
        ("notify_purchasing", "update", "sender:notify.Notification", no_save),
        # writes whose signals reach no receiver: drawn as writes, not as edges into the signal
        ("notify_purchasing", "create", "sender:notify.Notification", nobody),
        ("mark_invoice_paid", "create", "sender:billing.Tag", "only when no row matches"),
        ("mark_invoice_paid", "m2m", "sender:billing.Invoice_tags", nobody),
    }
    # ...and no false edge: nothing triggers a save signal for those writes
    assert not [e for e in edges(cascade_graph, "triggers") if e["effect"] in ("update", "bulk_create")]


def test_unresolved_effects_are_kept_with_their_source(cascade_graph: dict[str, Any]) -> None:
    (node,) = [n for n in cascade_graph["nodes"] if n["kind"] == "unresolved"]
    assert node["label"] == 'getattr(instance, "stock").save()'
    assert node["id"] == "unresolved:inventory.receivers:audit_movement:46"


def test_no_edge_into_a_signal_for_a_sender_nobody_listens_to(cascade_graph: dict[str, Any]) -> None:
    triggers = {(e["source"].split(":")[-1], e["effect"], e["sender"]) for e in edges(cascade_graph, "triggers")}
    assert ("mark_invoice_paid", "create", "billing.Tag") not in triggers
    assert ("mark_invoice_paid", "save", "billing.Invoice") in triggers
    sends = {(e["source"], e["target"]) for e in edges(cascade_graph, "sends")}
    assert ("sender:billing.Tag", "signal:django.db.models.signals:post_save") not in sends
    assert ("sender:billing.Payment", "signal:django.db.models.signals:post_save") in sends


def test_no_cascade_leaves_effects_out() -> None:
    data = signalscope("graph", "--project", CASCADE, "--hide-django", "--no-cascade", "-f", "json").json()
    assert not [e for e in data["edges"] if e["kind"] in ("triggers", "writes", "unresolved")]
    assert len(edges(data, "connected")) == 8


def test_model_filter_follows_senders_and_depth() -> None:
    data = signalscope("graph", "--project", SHOP, "--model", "auth.User", "-f", "json").json()
    receivers = sorted(n["label"] for n in data["nodes"] if n["kind"] == "receiver")
    assert receivers == ["create_user_profile", "save_user_profile", "touch_search_index"]
    shallow = signalscope("graph", "--project", CASCADE, "--model", "billing.Payment", "--depth", "2", "-f", "json")
    names = sorted(n["label"] for n in shallow.json()["nodes"] if n["kind"] == "receiver")
    assert names == ["mark_invoice_paid", "reserve_stock"]


def test_dot_is_valid_for_graphviz_and_pydot(tmp_path: Path) -> None:
    program = needs_dot()
    result = signalscope("graph", "--project", CASCADE, "--cluster-by-app", "--rankdir", "TB")
    assert result.returncode == 0, result.stderr
    # the header is fixed text: no command line, no path
    assert result.stdout.startswith("// signal dependency graph, made by signalscope\ndigraph signalscope {\n")
    assert CASCADE not in result.stdout
    assert 'subgraph "cluster_billing"' in result.stdout and 'rankdir="TB"' in result.stdout
    svg = subprocess.run([program, "-Tsvg"], input=result.stdout, capture_output=True, text=True, check=False)
    assert svg.returncode == 0, svg.stderr
    assert "<svg" in svg.stdout
    (parsed,) = pydot.graph_from_dot_data(result.stdout)
    nodes = [n for n in parsed.get_nodes() if n.get_name() not in ("graph", "node", "edge")]
    for sub in parsed.get_subgraphs():
        nodes += [n for n in sub.get_nodes() if n.get_name() not in ("graph", "node", "edge")]
    data = signalscope("graph", "--project", CASCADE, "-f", "json").json()
    assert len(nodes) == len(data["nodes"])
    assert len(parsed.get_edges()) == len(data["edges"])


def test_json_is_networkx_node_link_data(cascade_graph: dict[str, Any]) -> None:
    try:
        graph = nx.node_link_graph(cascade_graph, edges="edges")
    except TypeError:  # networkx before 3.4 names the key "link"
        graph = nx.node_link_graph(cascade_graph, link="edges")
    assert graph.is_multigraph() and graph.is_directed()
    counts = (graph.number_of_nodes(), graph.number_of_edges())
    assert counts == (len(cascade_graph["nodes"]), len(cascade_graph["edges"]))


def test_follow_calls_bounds_reading_into_helpers() -> None:
    off = signalscope("graph", "--project", CASCADE, "--hide-django", "--follow-calls", "0", "-f", "json").json()
    sources = {e["source"] for e in off["edges"] if e["kind"] == "triggers"}
    assert "receiver:inventory.receivers:update_stock_level" not in sources  # its save is inside _recount
    text = signalscope("impact", "billing.Payment", "--follow-calls", "0", "--project", CASCADE).stdout
    assert "_recount" not in text and "billing.receivers:mark_invoice_paid" in text


def test_graphml_and_mermaid() -> None:
    graphml = signalscope("graph", "--project", CASCADE, "-f", "graphml")
    graph = nx.parse_graphml(graphml.stdout, force_multigraph=True)
    data = signalscope("graph", "--project", CASCADE, "-f", "json").json()
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (len(data["nodes"]), len(data["edges"]))
    mermaid = signalscope("graph", "--project", SHOP, "--model", "auth.User", "-f", "mermaid").stdout
    assert mermaid.splitlines()[0] == "flowchart LR"
    assert '-- "auth.User (1)" -->' in mermaid


@pytest.mark.parametrize(("name", "check"), [("out.svg", b"<svg"), ("out.png", b"\x89PNG")])
def test_svg_and_png_files(tmp_path: Path, name: str, check: bytes) -> None:
    needs_dot()
    target = tmp_path / name
    result = signalscope("graph", "--project", SHOP, "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert check in target.read_bytes()[:400]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)
    if name.endswith(".svg"):
        ET.fromstring(target.read_bytes())  # well-formed XML


def test_missing_graphviz_is_a_clear_error(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with no Graphviz on it
    bin_dir.mkdir()
    result = signalscope("graph", "--project", SHOP, "-o", str(tmp_path / "x.svg"), env=clean_env(PATH=str(bin_dir)))
    assert result.returncode == 2, result.stderr
    assert "needs Graphviz's dot program" in result.stderr and "apt-get install graphviz" in result.stderr
    assert not (tmp_path / "x.svg").exists()


def test_output_errors(tmp_path: Path) -> None:
    unwritable = signalscope("graph", "--project", SHOP, "-o", str(tmp_path / "missing" / "g.dot"))
    assert unwritable.returncode == 2
    assert "Can't write" in unwritable.stderr and "Traceback" not in unwritable.stderr
    assert not list(tmp_path.rglob("*.tmp"))
    unknown = signalscope("graph", "--project", SHOP, "-o", str(tmp_path / "g.pdf"))
    assert unknown.returncode == 2 and "Can't tell the format" in unknown.stderr
    bad = signalscope("graph", "--project", SHOP, "--model", "auth.Usr")
    assert bad.returncode == 2 and "Did you mean 'auth.User'" in bad.stderr


def test_impact_of_the_seed_example() -> None:
    result = signalscope("impact", "auth.User", "--action", "create", "--project", SHOP)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "create auth.User\n"
        "├─ pre_init(auth.User)  (no receivers)\n"
        "├─ post_init(auth.User)  (no receivers)\n"
        "├─ pre_save(auth.User)  (no receivers)\n"
        "└─ post_save(auth.User)\n"
        "   ├─ accounts.signals:create_user_profile  accounts/signals.py:8\n"
        "   │  └─ Profile.objects.create(user=instance)  accounts/signals.py:11  → create accounts.Profile\n"
        "   │     └─ post_save(accounts.Profile)\n"
        "   │        └─ orders.receivers:touch_search_index  orders/receivers.py:122\n"
        "   ├─ accounts.signals:save_user_profile  accounts/signals.py:14\n"
        "   │  └─ instance.profile.save()  accounts/signals.py:16  → save accounts.Profile\n"
        "   │     └─ post_save(accounts.Profile)\n"
        "   │        └─ orders.receivers:touch_search_index  orders/receivers.py:122\n"
        "   └─ orders.receivers:touch_search_index  orders/receivers.py:122\n"
    )


def test_impact_marks_the_loop_and_json() -> None:
    text = signalscope("impact", "billing.Payment", "--project", CASCADE).stdout
    assert "⟲ post_save(billing.Invoice): already running above: loops" in text
    assert "billing.receivers:reprice_open_invoices  billing/receivers.py:20  ⟲ loop" in text
    assert "→ update inventory.StockMovement: QuerySet.update() sends no pre_save/post_save" in text
    assert "(in inventory.receivers:_recount)" in text
    data = signalscope("impact", "billing.Payment", "--project", CASCADE, "--json").json()
    assert (data["schema"], data["model"], data["action"]) == (2, "billing.Payment", "save")
    assert [c["label"] for c in data["tree"]["children"]] == ["pre_save(billing.Payment)", "post_save(billing.Payment)"]


def test_impact_delete_and_m2m_and_depth() -> None:
    deleted = signalscope("impact", "billing.Invoice", "--action", "delete", "--project", CASCADE).stdout
    assert deleted.splitlines()[1:5] == [
        "├─ pre_delete(billing.Invoice)  (no receivers)",
        "├─ pre_delete(billing.Payment)  (no receivers)",
        "├─ post_delete(billing.Invoice)  (no receivers)",
        "└─ post_delete(billing.Payment)  (no receivers)",
    ]
    m2m = signalscope("impact", "orders.Order", "--action", "m2m", "--project", SHOP).stdout
    assert "m2m_changed(orders.Order_tags)" in m2m and "orders.receivers:tags_changed" in m2m
    shallow = signalscope("impact", "billing.Payment", "--depth", "1", "--project", CASCADE).stdout
    assert "(--depth 1 reached)" in shallow and "reprice_open_invoices" not in shallow
    bad = signalscope("impact", "billing.Paymnt", "--project", CASCADE)
    assert bad.returncode == 2 and "Did you mean 'billing.Payment'" in bad.stderr
    action = signalscope("impact", "billing.Payment", "--action", "explode", "--project", CASCADE)
    assert action.returncode == 2 and "Unknown action 'explode'" in action.stderr

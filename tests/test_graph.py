"""The dependency graph: on the cascade fixture (effects, cycles, every output format, failures); its states, on
made-up maps (one sender's path never reaches another's receivers); on fixtures/thirdparty."""

from __future__ import annotations

import importlib.util
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pydot
import pytest
from helpers import FIXTURES, clean_env, needs_dot, signalscope

from signalscope.graph.build import (
    build_graph,
    cascade_index,
    cascade_states,
    collapse_senders,
    cycle_edges,
    deleted_with,
    expand_deletes,
)
from signalscope.graph.queries import reachable_from_model, walk_down, walk_up
from signalscope.model import (
    AppRef,
    CascadeMap,
    Connection,
    EffectRef,
    ModelRef,
    ReceiverRef,
    SenderRef,
    SignalMap,
    SignalRef,
)
from signalscope.render.dot import render_dot
from signalscope.render.mermaid import render_mermaid

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


POST_SAVE = "state:django.db.models.signals:post_save|"


def test_the_chain_across_three_apps(cascade_graph: dict[str, Any]) -> None:
    triggers = {(e["source"], e["target"], e["model"], e["effect"]) for e in edges(cascade_graph, "triggers")}
    R = "receiver:"
    low = "state:inventory.signals:stock_low|inventory.Stock"
    chain = [
        (R + "billing.receivers:mark_invoice_paid", POST_SAVE + "billing.Invoice", "billing.Invoice", "save"),
        (R + "inventory.receivers:reserve_stock", POST_SAVE + "inventory.StockMovement", "inventory.StockMovement",
         "create"),
        (R + "inventory.receivers:update_stock_level", POST_SAVE + "inventory.Stock", "inventory.Stock", "save"),
        (R + "inventory.receivers:check_stock_level", low, "inventory.Stock", "send"),
    ]  # fmt: skip
    for hop in chain:
        assert hop in triggers
    connected = {(e["source"], e["target"]) for e in edges(cascade_graph, "connected")}
    assert (low, R + "notify.receivers:notify_purchasing") in connected
    # Each state runs the receivers connected for its sender, and only those.
    assert (POST_SAVE + "billing.Invoice", R + "inventory.receivers:reserve_stock") in connected
    assert (POST_SAVE + "billing.Payment", R + "inventory.receivers:reserve_stock") not in connected
    helper = next(
        e for e in edges(cascade_graph, "triggers") if e["source"] == R + "inventory.receivers:update_stock_level"
    )
    assert (helper["via"], helper["text"], helper["line"]) == ("inventory.receivers:_recount", "stock.save()", 20)
    state = next(n for n in cascade_graph["nodes"] if n["id"] == POST_SAVE + "billing.Invoice")
    assert (state["kind"], state["label"], state["signal"], state["sender"], state["category"]) == (
        "state", "post_save(billing.Invoice)", "django.db.models.signals:post_save", "billing.Invoice", "model"
    )  # fmt: skip
    assert cascade_graph["schema"] == 2


def test_the_loop_is_marked(cascade_graph: dict[str, Any]) -> None:
    looping = sorted(n["id"] for n in cascade_graph["nodes"] if n.get("in_cycle"))
    assert looping == [
        "receiver:billing.receivers:reprice_open_invoices",
        "receiver:inventory.receivers:audit_movement",
        "receiver:inventory.receivers:reserve_stock",
        "receiver:inventory.receivers:update_stock_level",
        POST_SAVE + "billing.Invoice",
        POST_SAVE + "inventory.Stock",
        POST_SAVE + "inventory.StockMovement",
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
    assert node["label"] == 'getattr(instance, kwargs.get("audit_field", "stock")).save()'
    assert node["id"] == "unresolved:inventory.receivers:audit_movement:48"
    (edge,) = [e for e in edges(cascade_graph, "unresolved")]
    assert (edge["source"], edge["condition"]) == ("receiver:inventory.receivers:audit_movement", "raw")


def test_no_edge_into_a_signal_for_a_sender_nobody_listens_to(cascade_graph: dict[str, Any]) -> None:
    triggers = {(e["source"].split(":")[-1], e["effect"], e["model"]) for e in edges(cascade_graph, "triggers")}
    assert ("mark_invoice_paid", "create", "billing.Tag") not in triggers
    assert ("mark_invoice_paid", "save", "billing.Invoice") in triggers
    assert not [n for n in cascade_graph["nodes"] if n["id"] == POST_SAVE + "billing.Tag"]
    sends = {(e["source"], e["target"]) for e in edges(cascade_graph, "sends")}
    assert ("sender:billing.Payment", POST_SAVE + "billing.Payment") in sends
    assert not [s for s in sends if s[0] == "sender:billing.Tag"]


def test_no_cascade_leaves_effects_out() -> None:
    data = signalscope("graph", "--project", CASCADE, "--hide-django", "--no-cascade", "-f", "json").json()
    assert not [e for e in data["edges"] if e["kind"] in ("triggers", "writes", "unresolved")]
    assert len(edges(data, "connected")) == 8


def test_model_filter_follows_senders_and_depth() -> None:
    data = signalscope("graph", "--project", SHOP, "--model", "auth.User", "-f", "json").json()
    receivers = sorted(n["label"] for n in data["nodes"] if n["kind"] == "receiver")
    # Its writes' receivers, and, since deleting a user deletes its orders and their lines (CASCADE),
    # those rows' delete receivers and what they write in turn; and its logins' and logouts' receivers
    # (Django sends user_logged_in/out with sender=user.__class__), as `list --sender auth.User` has them.
    assert receivers == [
        "AuditTrail.__call__",
        "clear_cart_cache",
        "create_user_profile",
        "merge_guest_cart",
        "notify_warehouse",
        "recalculate_total",
        "release_stock",
        "save_user_profile",
        "stamp_order_number",
        "touch_search_index",
        "update_last_login",
    ]
    states = {n["label"] for n in data["nodes"] if n["kind"] == "state"}
    assert {"user_logged_in(auth.User)", "user_logged_out(auth.User)"} <= states
    assert not {s for s in states if s.startswith("user_logged") and "unknown" in s}
    cascades = sorted(e["target"] for e in data["edges"] if e["kind"] == "sends" and e.get("cascade"))
    assert cascades == [
        "state:django.db.models.signals:post_delete|orders.OrderLine",
        "state:django.db.models.signals:pre_delete|orders.Order",
        "state:django.db.models.signals:pre_delete|orders.OrderLine",
    ]
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
    # Not read, but not dropped: the call is an unresolved write that says how to read it.
    assert "(in inventory.receivers:_recount)" not in text and "billing.receivers:mark_invoice_paid" in text
    assert "calls inventory.receivers:_recount, which may write: read deeper with --follow-calls" in text


def test_graphml_and_mermaid() -> None:
    graphml = signalscope("graph", "--project", CASCADE, "-f", "graphml")
    graph = nx.parse_graphml(graphml.stdout, force_multigraph=True)
    data = signalscope("graph", "--project", CASCADE, "-f", "json").json()
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (len(data["nodes"]), len(data["edges"]))
    mermaid = signalscope("graph", "--project", SHOP, "--model", "auth.User", "-f", "mermaid").stdout
    assert mermaid.splitlines()[0] == "flowchart LR"
    assert '{{"post_save<br>auth.User"}}' in mermaid
    assert '-- "1" -->' in mermaid and '-- "3, any sender" -->' in mermaid


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
    assert "-o graph.mmd" in result.stderr  # a format that needs no Graphviz
    assert not (tmp_path / "x.svg").exists()
    # Found before the project loads: a project that cannot load still gets the Graphviz error.
    broken = signalscope(
        "graph", "--settings", "no.such.settings", "-o", str(tmp_path / "x.png"), env=clean_env(PATH=str(bin_dir))
    )
    assert broken.returncode == 2 and "needs Graphviz's dot program" in broken.stderr, broken.stderr


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
        "└─ post_save(auth.User)  [created=True]\n"
        "   ├─ accounts.signals:create_user_profile  accounts/signals.py:8\n"
        "   │  └─ Profile.objects.create(user=instance)  accounts/signals.py:11  → create accounts.Profile\n"
        "   │     └─ post_save(accounts.Profile)  [created=True]\n"
        "   │        └─ orders.receivers:touch_search_index  orders/receivers.py:122\n"
        "   ├─ accounts.signals:save_user_profile  accounts/signals.py:14\n"
        "   │  └─ instance.profile.save()  accounts/signals.py:16  → save accounts.Profile\n"
        "   │     └─ post_save(accounts.Profile)  [created=False]\n"
        "   │        └─ orders.receivers:touch_search_index  orders/receivers.py:122\n"
        "   └─ orders.receivers:touch_search_index  orders/receivers.py:122\n"
    )


def test_impact_marks_the_loop_and_json() -> None:
    text = signalscope("impact", "billing.Payment", "--project", CASCADE).stdout
    # post_save(billing.Invoice) comes first with update_fields=["status"], then from reprice_open_invoices'
    # invoice.save() with none: the loop closes where a send comes round with the same arguments.
    assert "⟲ post_save(inventory.StockMovement): already running above: loops" in text
    assert "inventory.receivers:reserve_stock  inventory/receivers.py:11  ⟲ loop" in text
    assert "→ update inventory.StockMovement: QuerySet.update() sends no pre_save/post_save" in text
    assert "(in inventory.receivers:_recount)" in text
    data = signalscope("impact", "billing.Payment", "--project", CASCADE, "--json").json()
    assert (data["schema"], data["model"], data["action"]) == (2, "billing.Payment", "save")
    assert [c["label"] for c in data["tree"]["children"]] == ["pre_save(billing.Payment)", "post_save(billing.Payment)"]


def test_impact_and_check_agree_on_a_guarded_sync() -> None:
    # pitfalls_clean's Order/Invoice sync: an order's create opens its invoice, whose save saves the
    # order again, which is then no create, so `if created:` ends it; check finds no loop there either.
    text = signalscope("impact", "billing.Order", "-a", "create", "--project", str(FIXTURES / "pitfalls_clean")).stdout
    assert "⟲" not in text
    assert "post_save(billing.Order)  [created=False]" in text  # the second pass: a save
    looping = signalscope("impact", "billing.Invoice", "-a", "create", "--project", str(FIXTURES / "pitfalls"))
    assert "⟲ post_save(billing.Invoice): already running above: loops" in looping.stdout  # unguarded: loops


def test_impact_delete_and_m2m_and_depth() -> None:
    deleted = signalscope("impact", "billing.Invoice", "--action", "delete", "--project", CASCADE).stdout
    # Django's Collector: billing.Payment's rows, which nobody listens to, go in one query with no signal;
    # the SET_NULL relation is an UPDATE between the two sends.
    lines = deleted.splitlines()[1:]
    assert lines == [
        "├─ pre_delete(billing.Invoice)  (no receivers)",
        "├─ billing.Payment rows (billing.Payment.invoice): deleted in one query, with no signal: "
        "nobody listens to them",
        "├─ inventory.StockMovement.invoice on_delete=SET_NULL: an UPDATE of the rows that refer to it: "
        "sends no signal",
        "└─ post_delete(billing.Invoice)  (no receivers)",
    ]
    m2m = signalscope("impact", "orders.Order", "--action", "m2m-add", "--project", SHOP).stdout
    assert "m2m_changed(orders.Order_tags)" in m2m and "orders.receivers:tags_changed" in m2m
    shallow = signalscope("impact", "billing.Payment", "--depth", "1", "--project", CASCADE).stdout
    assert "(--depth 1 reached)" in shallow and "reprice_open_invoices" not in shallow
    bad = signalscope("impact", "billing.Paymnt", "--project", CASCADE)
    assert bad.returncode == 2 and "Did you mean 'billing.Payment'" in bad.stderr
    action = signalscope("impact", "billing.Payment", "--action", "explode", "--project", CASCADE)
    assert action.returncode == 2 and "Unknown action 'explode'" in action.stderr


# -- states: a path through post_save(A) never reaches B's receivers --------------------------------------

S = "django.db.models.signals:"
SAVE = (S + "pre_save", S + "post_save")
DELETE = (S + "pre_delete", S + "post_delete")


def connection(signal: str, sender: str | None, position: int, path: str) -> Connection:
    return Connection(
        signal if ":" in signal else S + signal,
        SenderRef("any" if sender is None else "model", sender),
        position,
        ReceiverRef(f"shop.receivers:{path}", "shop/receivers.py", position + 1, "function"),
    )


def effect(path: str, kind: str, target: str | None, **fields: Any) -> EffectRef:
    sent = fields.pop("signals", DELETE if kind == "delete" else SAVE)
    text = fields.pop("text", f"{kind} {target}")
    return EffectRef(f"shop.receivers:{path}", "shop/receivers.py", 10, kind, target, sent, text, **fields)


def cascade_map(conns: list[Connection], effects: list[EffectRef], models: tuple[ModelRef, ...] = ()) -> CascadeMap:
    names = {"pre_save", "post_save", "pre_delete", "post_delete"}
    signals = {c.signal for c in conns} | {S + n for n in names}
    labels = sorted({c.sender.label for c in conns if c.sender.label} | {e.target for e in effects if e.target})
    known = {m.label for m in models}
    models += tuple(ModelRef(label, "shop.models", label.split(".")[1]) for label in labels if label not in known)
    registry = SignalMap(
        signalscope="test",
        django="5.2",
        settings="shop.settings",
        settings_source="--settings",
        signals=tuple(SignalRef(p, p.split(":")[1], "model", "x:Signal", True) for p in sorted(signals)),
        connections=tuple(conns),
        apps=(AppRef("shop", "shop", tuple(labels)),),
    )
    return CascadeMap(registry, tuple(sorted(models)), tuple(effects))


@pytest.fixture
def two_senders() -> CascadeMap:
    """shop.A and shop.B share post_save; `shared` runs for both, and was read once per model."""
    conns = [
        connection("post_save", "shop.A", 0, "on_a"),
        connection("post_save", "shop.A", 1, "shared"),
        connection("post_save", "shop.B", 0, "on_b"),
        connection("post_save", "shop.B", 1, "shared"),
        connection("post_save", "shop.C", 0, "on_c"),
        connection("post_save", "shop.D", 0, "on_d"),
        connection("post_save", "shop.E", 0, "on_e"),
        connection("post_save", None, 0, "audit"),
    ]
    effects = [
        effect("on_a", "save", "shop.C"),
        effect("on_b", "save", "shop.D"),
        effect("shared", "create", "shop.E", sender="shop.A", condition="created", is_after_commit=True),
        effect("shared", "save", "shop.B", sender="shop.B"),  # loops, for shop.B only
    ]
    return cascade_map(conns, effects)


def labels_of(graph: nx.MultiDiGraph, nodes: set[str], kind: str = "receiver") -> set[str]:
    return {graph.nodes[n]["label"] for n in nodes if graph.nodes[n]["kind"] == kind}


def test_a_path_through_post_save_of_a_never_reaches_b(two_senders: CascadeMap) -> None:
    graph = build_graph(two_senders)
    assert not [n for n in graph if n.startswith("signal:")]
    reached, _edges = walk_down(graph, "sender:shop.A")
    assert labels_of(graph, reached) == {"on_a", "shared", "audit", "on_c", "on_e"}
    assert labels_of(graph, reached, "state") == {"post_save(shop.A)", "post_save(shop.C)", "post_save(shop.E)"}
    kept = reachable_from_model(graph, two_senders, "shop.A", None)
    assert labels_of(kept, set(kept)) == {"on_a", "shared", "audit", "on_c", "on_e"}
    # shared's edge for shop.B is in the graph, and not in shop.A's part of it
    assert ("receiver:shop.receivers:shared", POST_SAVE + "shop.B") in {(t, h) for t, h in graph.edges()}
    assert not [(t, h, d) for t, h, d in kept.edges(data=True) if d.get("sender") == "shop.B"]
    # Up from on_d: B's path (through shared, run for shop.B), never A's.
    up = walk_up(graph, "receiver:shop.receivers:on_d")
    assert {POST_SAVE + "shop.D", POST_SAVE + "shop.B", "sender:shop.B", "receiver:shop.receivers:shared"} <= up
    assert not up & {POST_SAVE + "shop.A", "sender:shop.A", "receiver:shop.receivers:on_a"}
    # The state graph the checks read agrees.
    states = cascade_states(two_senders)
    assert states.has_edge((S + "post_save", "shop.A"), (S + "post_save", "shop.E"))
    assert not states.has_edge((S + "post_save", "shop.A"), (S + "post_save", "shop.B"))
    assert cycle_edges(states) == {((S + "post_save", "shop.B"), (S + "post_save", "shop.B"))}


def test_a_loop_for_one_sender_is_marked_for_that_sender_only(two_senders: CascadeMap) -> None:
    graph = build_graph(two_senders)
    assert graph.nodes[POST_SAVE + "shop.B"]["in_cycle"] and not graph.nodes[POST_SAVE + "shop.A"]["in_cycle"]
    assert graph.nodes["receiver:shop.receivers:shared"]["in_cycle"]
    loops = {d["sender"]: d["in_cycle"] for t, _h, d in graph.edges(data=True) if t.endswith(":shared")}
    assert loops == {"shop.A": False, "shop.B": True}


def test_effect_edges_say_when_they_run(two_senders: CascadeMap) -> None:
    graph = build_graph(two_senders)
    dot = render_dot(graph)
    assert 'label="create shop.E, for shop.A, if created, after commit"' in dot
    assert 'label="save shop.C"' in dot  # on_a runs for shop.A only: its sender goes without saying
    mermaid = render_mermaid(graph)
    assert '== "save shop.B, for shop.B" ==>' in mermaid
    assert '{{"post_save<br>shop.A"}}' in mermaid


def test_collapse_senders_draws_one_node_per_signal(two_senders: CascadeMap) -> None:
    graph = build_graph(two_senders)
    summary = collapse_senders(graph)
    signals = [n for n, d in summary.nodes(data=True) if d["kind"] == "signal"]
    assert signals == [f"signal:{S}post_save"] and not [n for n in summary if n.startswith("state:")]
    assert summary.nodes[signals[0]]["label"] == "post_save" and summary.nodes[signals[0]]["in_cycle"]
    # audit hears every state: its five connections are one in the summary
    audit = [d for t, h, d in summary.edges(data=True) if h.endswith(":audit")]
    assert len(audit) == 1 and "order" not in audit[0]
    assert '"any (1)"' in render_mermaid(summary)
    assert {n for n, d in graph.nodes(data=True) if d["kind"] != "state"} <= set(summary)


def test_a_delete_sends_in_the_collectors_order() -> None:
    models = (
        ModelRef("shop.Order", "shop.models", "Order", deletes=(("shop.Line", "order", "CASCADE", False),)),
        ModelRef("shop.Line", "shop.models", "Line", deletes=(("shop.Note", "line", "CASCADE", False),)),
        ModelRef("shop.Note", "shop.models", "Note"),  # nobody listens, nothing below: deleted in one query
    )
    conns = [
        connection("post_save", "shop.X", 0, "purge"),
        connection("pre_delete", "shop.Line", 0, "on_line"),
        connection("post_delete", "shop.Order", 0, "on_order"),
    ]
    purge = effect("purge", "delete", "shop.Order")
    cmap = cascade_map(conns, [purge], models)
    order = [(S + "pre_delete", "shop.Line"), (S + "pre_delete", "shop.Order"), (S + "post_delete", "shop.Line"),
             (S + "post_delete", "shop.Order")]  # fmt: skip
    index = cascade_index(cmap)
    assert expand_deletes(purge, index) == order
    assert deleted_with("shop.Order", index) == ["shop.Line"]
    graph = build_graph(cmap)
    heads = [h for t, h, d in graph.edges(data=True) if d["kind"] == "triggers"]
    assert sorted(heads) == [f"state:{S}post_delete|shop.Order", f"state:{S}pre_delete|shop.Line"]
    reached, _edges = walk_down(graph, "sender:shop.X")
    assert labels_of(graph, reached) == {"purge", "on_line", "on_order"}


def test_a_models_own_write_reaches_any_sender_receivers_of_its_other_signals() -> None:
    conns = [connection("post_save", "shop.A", 0, "on_a"), connection("pre_save", None, 0, "stamp")]
    graph = build_graph(cascade_map(conns, []))
    assert graph.has_edge("sender:shop.A", f"state:{S}pre_save|shop.A")  # save sends pre_save, then post_save
    assert labels_of(graph, walk_down(graph, "sender:shop.A")[0]) == {"on_a", "stamp"}


def test_a_send_whose_sender_is_unknown() -> None:
    ping = "shop.signals:ping"
    send = effect("on_a", "send", None, signals=(ping,), text="ping.send(sender=x)")
    only_a = [connection("post_save", "shop.A", 0, "on_a"), connection(ping, "shop.A", 0, "on_ping")]
    graph = build_graph(cascade_map(only_a, [send]))
    # only shop.A's receiver listens, and who sends can't be read: which receivers run can't be known
    (unresolved,) = [h for _t, h, d in graph.edges(data=True) if d["kind"] == "unresolved"]
    assert graph.nodes[unresolved]["label"] == "ping.send(sender=x)"
    anyone = [*only_a, connection(ping, None, 0, "on_any_ping")]
    graph = build_graph(cascade_map(anyone, [send]))
    assert graph.has_edge("receiver:shop.receivers:on_a", f"state:{ping}|*")
    assert labels_of(graph, walk_down(graph, f"state:{ping}|*")[0]) == {"on_any_ping"}
    assert graph.nodes[f"state:{ping}|*"]["label"] == "ping(<unknown sender>)"


THIRDPARTY = str(FIXTURES / "thirdparty")
THIRDPARTY_APPS = ("simple_history", "auditlog", "allauth", "reversion", "guardian", "rest_framework")


@pytest.mark.skipif(
    any(importlib.util.find_spec(app) is None for app in THIRDPARTY_APPS),
    reason="fixtures/thirdparty needs the apps of the test extra: pip install -e '.[test]'",
)
def test_a_user_write_sets_off_no_history_or_revision_receiver_on_thirdparty() -> None:
    # simple-history's and reversion's receivers are connected for store.Product only; auditlog's run
    # for auth.User and store.Product both (one receiver), and are read once per model.
    result = signalscope("graph", "--project", THIRDPARTY, "--model", "auth.User", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = result.json()
    receivers = {n["path"] for n in data["nodes"] if n["kind"] == "receiver"}
    assert not {r for r in receivers if r.startswith(("simple_history.", "reversion."))}
    assert {"store.signals:create_profile", "auditlog.receivers:log_create"} <= receivers
    assert not [n for n in data["nodes"] if n["kind"] == "state" and n["sender"] == "store.Product"]
    assert not [e for e in data["edges"] if e.get("sender") == "store.Product"]
    # ...while the whole graph has them, on post_save(store.Product) alone.
    whole = signalscope("graph", "--project", THIRDPARTY, "--format", "json").json()
    history = [e for e in whole["edges"] if e["target"] == "receiver:simple_history.models:HistoricalRecords.post_save"]
    assert {e["source"] for e in history} == {POST_SAVE + "store.Product"}


def test_graph_collapse_senders_option() -> None:
    data = signalscope("graph", "--project", SHOP, "--collapse-senders", "-f", "json").json()
    kinds = {n["kind"] for n in data["nodes"]}
    assert "state" not in kinds and "signal" in kinds
    post_save = [n for n in data["nodes"] if n["id"] == "signal:django.db.models.signals:post_save"]
    assert len(post_save) == 1
    states = signalscope("graph", "--project", SHOP, "-f", "json").json()
    assert len([n for n in states["nodes"] if n["kind"] == "state" and n["name"] == "post_save"]) > 1

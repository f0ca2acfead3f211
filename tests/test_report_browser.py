"""The report in a real browser (headless Chromium through Playwright): the graph laid out in the page by the
vendored Graphviz (WebAssembly; no system Graphviz is used, installed or not), search, a cascade lit up by a click.

Needs a Chromium: CI installs Debian's (.ci/run) and sets SIGNALSCOPE_REQUIRE_BROWSER=1, so there this
test can't skip; elsewhere it skips when no Chromium is installed. Screenshots go to tests/actual/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from helpers import FIXTURES, TESTS, signalscope

from signalscope.graph.queries import walk_down, walk_up

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
if CHROMIUM is None:
    if os.environ.get("SIGNALSCOPE_REQUIRE_BROWSER"):
        raise RuntimeError("SIGNALSCOPE_REQUIRE_BROWSER is set but no Chromium is installed")
    pytest.skip(
        "needs Chromium, which is not installed (apt-get install chromium; CI installs it)", allow_module_level=True
    )

from playwright.sync_api import sync_playwright  # noqa: E402

SHOTS = TESTS / "actual" / "screenshots"


def open_report(page: Any, index: Path) -> dict[str, Any]:
    """Open the report at `index`, fetching nothing from anywhere, and wait for its graph; return its data."""
    fetched: list[str] = []

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            fetched.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.goto(index.as_uri())
    page.wait_for_selector("#graph svg g.node", timeout=60_000)  # laid out by Graphviz in WebAssembly
    assert fetched == []  # offline: the page and its Graphviz fetch nothing
    data: dict[str, Any] = page.evaluate("window.signalscopeData")
    return data


def test_search_and_click_in_the_shop_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = signalscope("report", "--project", str(FIXTURES / "shop"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        data = open_report(page, out / "index.html")
        ids = {node["label"]: node_id for node_id, node in data["nodes"].items()}

        # The first view: the whole graph, Django's own receivers as one node, its text legible (at least 9 px).
        drawn = page.eval_on_selector_all("#graph g.node title", "els => els.map(e => e.textContent)")
        assert "ndjango" in drawn and ids["update_last_login"] not in drawn
        assert ids["create_user_profile"] in drawn and ids["post_save(auth.User)"] in drawn
        text_px = page.evaluate("document.querySelector('#graph g.node text').getBoundingClientRect().height")
        assert text_px >= 9, text_px
        assert page.evaluate("window.signalscopeGraph.scale()") * 10 >= 9
        page.screenshot(path=str(SHOTS / "report-first-view.png"))
        # Django's receivers one by one: the whole graph, as `graph` draws it.
        page.check("#graph-django")
        page.wait_for_selector(f"#graph g.node:has(title:text-is('{ids['update_last_login']}'))", timeout=60_000)
        drawn = page.eval_on_selector_all("#graph g.node title", "els => els.map(e => e.textContent)")
        assert sorted(drawn) == sorted(data["nodes"])
        # The page composes render.dot's statements: the DOT of `signalscope graph`, but for its header comment.
        graph_dot = signalscope("graph", "--project", str(FIXTURES / "shop"), "-f", "dot").stdout
        assert page.evaluate("window.signalscopeDot()") == graph_dot.split("\n", 1)[1]
        page.click("#graph-fit")  # every node in the window, to be clicked

        # Search: the receiver's graph node is marked, and only its row is left in the tables.
        page.fill("#search", "create_user_profile")
        hits = page.eval_on_selector_all("#graph g.node.hit title", "els => els.map(e => e.textContent)")
        assert hits == [ids["create_user_profile"]]
        rows = page.eval_on_selector_all("tr[data-search]:not(.hidden) code", "els => els.map(e => e.textContent)")
        assert "accounts.signals:create_user_profile" in rows
        assert "orders.receivers:notify_warehouse" not in rows
        page.screenshot(path=str(SHOTS / "report-search.png"))
        page.fill("#search", "")

        # Click auth.User: what a User write sets off lights up, downstream; nothing upstream of a sender.
        page.click(f"#graph g.node:has(title:text-is('{ids['auth.User']}'))")
        down = page.eval_on_selector_all("#graph g.node.down title", "els => els.map(e => e.textContent)")
        labels = {data["nodes"][node_id]["label"] for node_id in down}
        assert labels == {
            "post_save(auth.User)", "create_user_profile", "save_user_profile", "touch_search_index",
            "post_save(accounts.Profile)",
            # deleting a user deletes its orders and their lines: their delete receivers, and their writes
            "pre_delete(orders.OrderLine)", "pre_delete(orders.Order)", "post_delete(orders.OrderLine)",
            "release_stock", "AuditTrail.__call__", "recalculate_total", "pre_save(orders.Order)",
            "post_save(orders.Order)", "stamp_order_number", "notify_warehouse",
            "orders.Product",  # release_stock writes it: nobody listens (a "writes" leaf)
            # login() and logout() send these with sender=user.__class__
            "user_logged_in(auth.User)", "update_last_login", "merge_guest_cart",
            "user_logged_out(auth.User)", "clear_cart_cache",
        }  # fmt: skip
        assert not page.eval_on_selector_all("#graph g.node.up", "els => els.length")
        assert page.eval_on_selector("#graph", "e => e.classList.contains('focused')")
        assert page.text_content("#focus-label") == "auth.User"
        page.screenshot(path=str(SHOTS / "report-cascade.png"))

        # Click a receiver: what sets it off lights up, upstream.
        page.click(f"#graph g.node:has(title:text-is('{ids['create_user_profile']}'))")
        up = page.eval_on_selector_all("#graph g.node.up title", "els => els.map(e => e.textContent)")
        assert {data["nodes"][node_id]["label"] for node_id in up} == {"post_save(auth.User)", "auth.User"}

        # What a write sets off: choosing a model and an action shows that impact tree, and only it.
        page.select_option("#impact-model", "auth.User")
        page.select_option("#impact-action", "create")
        shown = page.eval_on_selector_all("pre.impact:not([hidden])", "els => els.map(e => e.textContent)")
        assert len(shown) == 1 and "create_user_profile" in shown[0]
        page.select_option("#impact-model", "orders.Order")
        shown = page.eval_on_selector_all("pre.impact:not([hidden])", "els => els.map(e => e.dataset.model)")
        assert shown == ["orders.Order"]

        # Zoom changes the view box; double-click clears the focus.
        before = page.evaluate("document.querySelector('#graph svg').viewBox.baseVal.width")
        page.mouse.move(700, 600)
        page.mouse.wheel(0, -400)
        after = page.evaluate("document.querySelector('#graph svg').viewBox.baseVal.width")
        assert after < before
        page.dblclick("#graph")
        assert not page.eval_on_selector("#graph", "e => e.classList.contains('focused')")

        # Draw only one node's cascade: what sets it off and what it sets off, laid out again.
        page.click(f"#graph g.node:has(title:text-is('{ids['create_user_profile']}'))")
        cascade = {ids["create_user_profile"]} | set(
            page.evaluate(f"window.signalscopeWalk.down('{ids['create_user_profile']}')")
            + page.evaluate(f"window.signalscopeWalk.up('{ids['create_user_profile']}')")
        )
        page.click("#graph-around")
        page.wait_for_function(f"window.signalscopeGraph.drawn() === {len(cascade)}")
        page.wait_for_selector("#graph svg g.node")
        drawn = page.eval_on_selector_all("#graph g.node title", "els => els.map(e => e.textContent)")
        assert set(drawn) == cascade
        assert {"auth.User", "post_save(accounts.Profile)", "touch_search_index"} <= {
            data["nodes"][node_id]["label"] for node_id in drawn
        }
        assert ids["notify_warehouse"] not in drawn
        assert errors == []
        browser.close()


@contextlib.contextmanager
def report_walks(project: Path, out: Path) -> Iterator[tuple[dict[str, Any], Any, Callable[[str, str], set[str]]]]:
    """Write `project`'s report and open it: its data, its graph (`graph --format json`), the page's walk by name."""
    result = signalscope("report", "--project", str(project), "-o", str(out))
    assert result.returncode == 0, result.stderr
    graph_json = signalscope("graph", "--project", str(project), "--format", "json")
    assert graph_json.returncode == 0, graph_json.stderr
    graph = nx.node_link_graph(graph_json.json(), edges="edges")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        data = open_report(page, out / "index.html")
        ids = {node["name"]: node_id for node_id, node in data["nodes"].items()}

        def walk(direction: str, name: str) -> set[str]:
            found = page.evaluate(f"id => window.signalscopeWalk.{direction}(id)", ids[name])
            assert errors == []
            return {data["nodes"][node_id]["name"] for node_id in found}

        yield data, graph, walk
        browser.close()


@pytest.mark.parametrize("project", ["shop", "cascade", "thirdparty"])
def test_the_pages_walks_are_the_graphs(tmp_path: Path, project: str) -> None:
    # One graph, one way to walk it: what a click lights up is graph.queries' walk, for every node.
    if project == "thirdparty":
        pytest.importorskip("simple_history")
        pytest.importorskip("reversion")
    with report_walks(FIXTURES / project, tmp_path / "report") as (data, graph, walk):
        assert {node["name"] for node in data["nodes"].values()} == set(graph.nodes)
        for name in graph.nodes:
            assert walk("down", name) == walk_down(graph, name)[0] - {name}, name
            assert walk("up", name) == walk_up(graph, name), name
        if project == "thirdparty":
            # simple-history's and reversion's receivers run for store.Product, never for a user.
            lit = walk("down", "sender:auth.User")
            receivers = {graph.nodes[n]["path"] for n in lit if graph.nodes[n]["kind"] == "receiver"}
            assert "store.signals:create_profile" in receivers and "auditlog.receivers:log_create" in receivers
            assert not {r for r in receivers if r.startswith(("simple_history.", "reversion."))}
            product = walk("down", "sender:store.Product")
            assert "receiver:simple_history.models:HistoricalRecords.post_save" in product


def test_the_toolbar_panel_in_a_browser(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time

    from helpers import clean_env
    from toolbar_project import toolbar_shop

    shop = toolbar_shop(tmp_path / "shop", database=str(tmp_path / "toolbar.sqlite3"))  # runserver's threads share it
    env = clean_env(DJANGO_SETTINGS_MODULE="toolbar_settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "--run-syncdb", "-v0"], cwd=shop, env=env, check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=shop, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):  # wait for the server (a loaded CI machine can take seconds)
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None:
                pytest.fail(f"runserver exited: {server.stderr.read().decode() if server.stderr else ''}")
            time.sleep(0.1)
        else:
            pytest.fail("runserver did not listen within 30 s")
        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/signup/?name=ada")
            page.get_by_text("Signals (signalscope)").first.click()
            panel = page.locator("#SignalTracePanel")
            panel.get_by_text("post_save(accounts.Profile)").first.wait_for(timeout=10_000)
            text = panel.inner_text()
            # The seed's chain, in order, with the receivers' file:line.
            first = text.index("post_save(auth.User)")
            assert text.index("accounts.signals:create_user_profile", first) < text.index(
                "post_save(accounts.Profile)", first
            )
            assert "accounts/signals.py:" in text
            subtitle = page.locator("#djdt-SignalTracePanel").inner_text()
            assert "sends /" in subtitle and "ms" in subtitle
            page.screenshot(path=str(SHOTS / "toolbar-panel.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_hostile_names_in_the_laid_out_graph_are_text(tmp_path: Path) -> None:
    # The names go through render.dot's quoting, then Graphviz's SVG: shown as text, never run as markup.
    project = tmp_path / "evil"
    shutil.copytree(FIXTURES / "pitfalls", project, ignore=shutil.ignore_patterns("__pycache__"))
    receivers = project / "notify" / "receivers.py"
    receivers.write_text(
        receivers.read_text()
        + "\n\nfrom django.dispatch import Signal\n\nalarm = Signal()\n\n\nclass Hostile:\n    pass\n\n\n"
        + 'Hostile.__qualname__ = "<img src=x onerror=alert(1)></script>"\n'
        + "alarm.connect(send_receipt, sender=Hostile)\n"
    )
    out = tmp_path / "report"
    result = signalscope("report", "--project", str(project), "-o", str(out))
    assert result.returncode == 0, result.stderr
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        open_report(page, out / "index.html")
        texts = page.eval_on_selector_all("#graph g.node text", "els => els.map(e => e.textContent)")
        assert "notify.receivers:<img src=x onerror=alert(1)></script>" in texts
        assert not page.eval_on_selector_all("#graph img", "els => els.length")
        assert dialogs == []
        browser.close()

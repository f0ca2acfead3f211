"""`signalscope report`: one offline page; its data, and escaping of hostile names. None of it needs Graphviz."""

from __future__ import annotations

import hashlib
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from helpers import FIXTURES, clean_env, signalscope

from signalscope.render.report import unpack

ASSETS = FIXTURES.parent / "signalscope" / "render" / "report_assets"


class Page(HTMLParser):
    """Collects tags, script bodies and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def packed(html: str, name: str) -> Any:
    """What the report packed into its script `name` (gzipped JSON in base64)."""
    found = re.search(f'<script type="application/gzip\\+base64" id="{name}">([^<]*)</script>', html)
    assert found, name
    return unpack(found.group(1))


def without_dot(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH finds no Graphviz, whether or not this machine has it."""
    bare = tmp_path / "bin-without-dot"
    bare.mkdir(exist_ok=True)
    return clean_env(PATH=str(bare))


def test_report_of_the_shop_is_one_offline_page(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    shop = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", shop, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    assert (
        signalscope("trace", "-f", "summary", "--", "manage.py", "migrate", "--run-syncdb", "-v0", cwd=shop).returncode
        == 0
    )
    made = signalscope(
        "trace", "-f", "json", "-o", str(trace), "--",
        "manage.py", "createsuperuser", "--noinput", "--username", "ada", "--email", "ada@example.com", cwd=shop,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = signalscope(
        "report",
        "--project",
        str(shop),
        "-o",
        str(tmp_path / "report"),
        "--trace",
        str(trace),
        env=without_dot(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.endswith(f"signalscope: wrote {tmp_path / 'report' / 'index.html'}\n")
    html = (tmp_path / "report" / "index.html").read_text()
    page = Page()
    page.feed(html)
    # Offline: nothing is fetched from anywhere.
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or not re.match(r"(https?:)?//", value), (tag, attrs)
    assert not any(tag == "link" for tag, _ in page.tags)
    data = packed(html, "signalscope-data")
    labels = {node["label"] for node in data["nodes"].values()}
    assert {"create_user_profile", "post_save(auth.User)", "auth.User"} <= labels
    # The cascade the page lights up: auth.User sends post_save(auth.User), which runs create_user_profile;
    # what the script walks are the graph's edges, each with the sender it holds for (None: every one).
    by_label = {node["label"]: node_id for node_id, node in data["nodes"].items()}
    state = data["nodes"][by_label["post_save(auth.User)"]]
    assert (state["kind"], state["sender"], state["name"]) == (
        "state", "auth.User", "state:django.db.models.signals:post_save|auth.User"
    )  # fmt: skip
    assert [by_label["post_save(auth.User)"], None] in data["down"][by_label["auth.User"]]
    assert [by_label["create_user_profile"], None] in data["down"][by_label["post_save(auth.User)"]]
    assert by_label["notify_warehouse"] not in {head for head, _ in data["down"][by_label["post_save(auth.User)"]]}
    # What the page lays out: render.dot's statements, so it looks as `graph -o x.svg` does.
    assert data["preamble"][0] == "digraph signalscope {"
    profile = data["nodes"][by_label["create_user_profile"]]
    assert profile["dot"].startswith('label="create_user_profile\\naccounts/signals.py:8", shape=box')
    assert [by_label["post_save(auth.User)"], by_label["create_user_profile"], 'label="1"'] in data["edges"]
    assert data["nodes"][by_label["update_last_login"]]["django"] is True  # drawn collapsed at first
    assert "django" not in profile
    # Receivers with their source: exactly their function, from the decorator to its last line.
    assert (
        'accounts.signals:create_user_profile</code><pre class="source">@receiver(post_save, sender=User)\n'
        "def create_user_profile(sender, instance, created, **kwargs):\n"
        "    if created:\n"
        "        Profile.objects.create(user=instance)\n</pre>" in html
    )
    # Findings and the trace's tree; the trace comes first, listed in the contents.
    assert '<nav id="contents"><ul><li><a href="#trace">Trace (' in html
    assert (
        html.index('<section id="trace">')
        < html.index('<section id="findings">')
        < html.index('<section id="dependencies">')
    )
    assert "SS006" in html and "touch_search_index" in html
    assert "<h2>Trace (" in html and "<strong>post_save(auth.User)</strong>" in html
    # The timeline: one row per send or call, its name in a column of its own, its bar placed by time.
    assert (
        '<div class="row"><div class="name" style="padding-left:4px" title="post_save(auth.User)">'
        'post_save(auth.User)</div><div class="track"><div class="bar send" style="left:0.000%;width:100.000%"'
    ) in html
    assert 'title="accounts.signals:create_user_profile">create_user_profile</div>' in html
    # What a write sets off, per model and action (`signalscope impact`), packed: the page shows the one chosen.
    impacts = packed(html, "signalscope-impacts")
    assert "create_user_profile" in impacts["auth.User"]["create"]
    assert {"create", "save", "delete"} <= set(impacts["orders.Order"])
    assert '<select id="impact-model"><option value="auth.User">auth.User</option>' in html
    assert len(html) < 1_500_000  # Graphviz itself is 0.8 MB of it


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    project = tmp_path / "evil"
    shutil.copytree(FIXTURES / "pitfalls", project, ignore=shutil.ignore_patterns("__pycache__"))
    receivers = project / "notify" / "receivers.py"
    receivers.write_text(
        receivers.read_text()
        + "\n\nfrom django.dispatch import Signal\n\nalarm = Signal()\n\n\nclass Hostile:\n    pass\n\n\n"
        + "class Bell:\n    pass\n\n\n"
        # senders named by their class (the gc knows classes, on every Django)
        + 'Hostile.__qualname__ = "</script><script>alert(1)</script>\\"\'"\n'
        + 'Bell.__qualname__ = "bell\\x07esc\\x1b[2J"\n'
        + "alarm.connect(send_receipt, sender=Hostile)\nalarm.connect(send_receipt, sender=Bell)\n"
    )
    result = signalscope("report", "--project", str(project), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert "<script>alert(1)" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, escaped
    assert "\x1b" not in html and "\x07" not in html  # a control character is shown, never written raw
    assert "bell\\x07esc\\x1b[2J" in html
    page = Page()
    page.feed(html)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert len(scripts) == 4  # the data, the impact trees, the page's own script, Graphviz's: nothing injected
    assert [attrs.get("type") for attrs in scripts] == ["application/gzip+base64"] * 2 + [None, "module"]
    # Packed, the names are still shown escaped in the data; the page sets them as text, never as markup.
    assert any(
        "</script><script>alert(1)" in node["label"] for node in packed(html, "signalscope-data")["nodes"].values()
    )


def test_report_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = signalscope("report", "--project", str(FIXTURES / "shop"), "-o", str(tmp_path / "r"), "--trace", str(bad))
    assert result.returncode == 2 and "is not a trace written by `signalscope trace --format json`" in result.stderr
    missing = signalscope("report", "--project", str(FIXTURES / "shop"))
    assert missing.returncode == 2 and "--output" in missing.stderr


def test_vendored_graphviz_is_the_one_its_notice_names() -> None:
    notice = (ASSETS / "graphviz-wasm.NOTICE").read_text()
    digest = hashlib.sha256((ASSETS / "graphviz-wasm.js").read_bytes()).hexdigest()
    assert f"sha256:    {digest}  graphviz-wasm.js" in notice
    assert "@hpcc-js/wasm-graphviz 1.29.2" in notice
    assert "Apache License" in (ASSETS / "graphviz-wasm.LICENSE").read_text()


def test_report_takes_lists_filters(tmp_path: Path) -> None:
    out = tmp_path / "r"
    result = signalscope(
        "report", "--project", str(FIXTURES / "shop"), "-o", str(out), "--app", "accounts", "--hide-django"
    )
    assert result.returncode == 0, result.stderr
    data = packed((out / "index.html").read_text(), "signalscope-data")
    receivers = {n["name"] for n in data["nodes"].values() if n["kind"] == "receiver"}
    assert receivers == {"receiver:accounts.signals:create_user_profile", "receiver:accounts.signals:save_user_profile"}
    unknown = signalscope("report", "--project", str(FIXTURES / "shop"), "-o", str(out), "--app", "nope")
    assert unknown.returncode == 2, unknown.stderr

"""`signalscope report`: one offline page; its data, and escaping of hostile names."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from helpers import FIXTURES, needs_dot, signalscope


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


def test_report_of_the_shop_is_one_offline_page(tmp_path: Path) -> None:
    needs_dot()  # the report's graph is drawn by Graphviz
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
    result = signalscope("report", "--project", str(shop), "-o", str(tmp_path / "report"), "--trace", str(trace))
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "report" / "index.html").read_text()
    page = Page()
    page.feed(html)
    # Offline: nothing is fetched from anywhere.
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or not re.match(r"(https?:)?//", value), (tag, attrs)
    assert not any(tag == "link" for tag, _ in page.tags)
    data = json.loads(next(s for s in page.scripts if '"down"' in s))
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
    # Graphviz's nodes carry the ids the data uses.
    assert f"<title>{by_label['create_user_profile']}</title>" in html
    # Receivers with their source, findings, and the trace's tree.
    assert (
        'accounts.signals:create_user_profile</code><pre class="source">@receiver(post_save, sender=User)\n'
        "def create_user_profile(sender, instance, created, **kwargs):\n" in html
    )
    assert "SS006" in html and "touch_search_index" in html
    assert "<h2>Trace (" in html and "<strong>post_save(auth.User)</strong>" in html
    # The timeline: bars placed by time, the outermost send first and full width.
    assert '<div class="bar send" style="left:0.000%;width:100.000%;top:0px" title="post_save(auth.User) ' in html
    assert '<div class="bar call"' in html and ">create_user_profile</div>" in html
    # What a write sets off, per model and action (`signalscope impact`), the first one shown.
    assert '<pre class="impact" data-model="auth.User" data-action="create">' in html
    assert 'data-model="orders.Order" data-action="delete" hidden>' in html


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    needs_dot()  # the report's graph is drawn by Graphviz
    project = tmp_path / "evil"
    shutil.copytree(FIXTURES / "pitfalls", project, ignore=shutil.ignore_patterns("__pycache__"))
    receivers = project / "notify" / "receivers.py"
    receivers.write_text(
        receivers.read_text()
        + "\n\nfrom django.dispatch import Signal\n\nalarm = Signal()\n"
        + 'alarm.connect(send_receipt, sender="</script><script>alert(1)</script>\\"\'")\n'
        + 'alarm.connect(send_receipt, sender="bell\\x07esc\\x1b[2J")\n'
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
    assert len(scripts) == 2  # the data and the page's own script: nothing injected


def test_report_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = signalscope("report", "--project", str(FIXTURES / "shop"), "-o", str(tmp_path / "r"), "--trace", str(bad))
    assert result.returncode == 2 and "is not a trace written by `signalscope trace --format json`" in result.stderr
    missing = signalscope("report", "--project", str(FIXTURES / "shop"))
    assert missing.returncode == 2 and "--output" in missing.stderr

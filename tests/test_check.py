"""`signalscope check`: one finding per planted pitfall, none on the clean twin; every output format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from helpers import FIXTURES, TESTS, python_snippet, receivers, signalscope

from signalscope.checks.loops import can_run
from signalscope.graph.arguments import sent_with
from signalscope.model.cascade import EffectRef

PITFALLS = str(FIXTURES / "pitfalls")
CLEAN = str(FIXTURES / "pitfalls_clean")
SCHEMA = json.loads((TESTS / "data" / "sarif-schema-2.1.0.json").read_text())

# (file:line, rule) of every pitfall planted in fixtures/pitfalls: exactly these, nothing else.
PLANTED = [
    ("billing/signals.py:8", "SS001"),  # BillingConfig.ready() never imports billing.signals
    ("notify/receivers.py:9", "SS002"),  # send_receipt connected under two dispatch_uids
    ("notify/receivers.py:18", "SS003"),  # a lambda connected weakly
    ("notify/receivers.py:22", "SS004"),  # sender="billing.Invoce"
    ("notify/receivers.py:31", "SS005"),  # instance.save() in post_save of its own model
    ("notify/receivers.py:35", "SS006"),  # pre_init for every sender
    ("notify/receivers.py:41", "SS007"),  # m2m_changed with sender=Order, not the through model
]


@pytest.fixture(scope="module")
def pitfalls(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of fixtures/pitfalls in no repository: files are shown relative to the project."""
    folder = tmp_path_factory.mktemp("check") / "pitfalls"
    shutil.copytree(PITFALLS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return str(folder)


def test_one_finding_per_planted_pitfall(pitfalls: str) -> None:
    result = signalscope("check", "--project", pitfalls)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    found = [(line.split(": ")[0], line.split(": ")[1].split()[0]) for line in lines[:-2]]
    assert found == PLANTED
    assert lines[-1] == "7 findings: 5 errors, 2 warnings."
    text = result.stdout
    assert "import it in billing.apps.BillingConfig.ready() (billing/apps.py)" in text
    assert "(dispatch_uid 'receipt', 'receipt-v2'): it runs 2 times per send." in text
    assert "(did you mean 'billing.Invoice'?)" in text
    assert "(here: sender=Order.tags.through)" in text


def test_nothing_on_the_clean_twin() -> None:
    result = signalscope("check", "--project", CLEAN)
    assert (result.returncode, result.stdout) == (0, "No signal problems found.\n"), result.stderr
    for fmt in ("json", "github", "sarif"):
        assert signalscope("check", "--project", CLEAN, "--format", fmt).returncode == 0


def test_receivers_behind_decorators_are_neither_unconnected_nor_duplicates() -> None:
    # fixtures/pitfalls_clean/notify/decorated.py: pairs of receivers sharing a signal and sender, each
    # behind a decorator with or without functools.wraps (functions, a factory, stacked, classes).
    wired = receivers(signalscope("list", "--json", "--project", CLEAN).json())
    wrappers = [r["receiver"] for r in wired if r["receiver"].startswith("notify.decorators:")]
    assert wrappers.count("notify.decorators:logged.<locals>.wrapper") == 4  # named by the wrapper, not the function
    assert {"notify.decorators:Counted.__call__", "notify.decorators:Timed.__call__"} <= set(wrappers)
    result = signalscope("check", "--project", CLEAN, "--select", "SS001,SS002", "--format", "json")
    assert (result.returncode, result.json()["findings"]) == (0, []), result.stderr


def test_real_problems_behind_decorators_are_still_found(tmp_path: Path) -> None:
    project = tmp_path / "pitfalls_clean"
    shutil.copytree(CLEAN, project, ignore=shutil.ignore_patterns("__pycache__"))
    notify = project / "notify"
    (notify / "forgotten.py").write_text(
        "from django.db.models.signals import post_save\n"
        "from django.dispatch import receiver\n\n"
        "from .decorators import logged, traced\n\n\n"
        '@receiver(post_save, sender="billing.Order")\n'
        "@logged\n"
        "def never_imported(sender, **kwargs):\n"
        "    return sender\n\n\n"
        '@receiver(post_save, sender="billing.Order")\n'
        "@traced\n"
        "def never_imported_either(sender, **kwargs):\n"
        "    return sender\n"
    )
    decorated = notify / "decorated.py"
    source = decorated.read_text()
    twice = (
        '@receiver(post_save, sender=Invoice, dispatch_uid="{name}-1")\n'
        '@receiver(post_save, sender=Invoice, dispatch_uid="{name}-2")\n'
        "@{decorator}\n"
        "def {name}(sender, instance, **kwargs):\n"
        "    return instance.pk\n"
    )
    decorated.write_text(
        f"{source}\n\n{twice.format(name='wrapped_twice', decorator='logged')}"
        f"\n\n{twice.format(name='traced_twice', decorator='traced')}"
    )
    line = source.count("\n") + 3  # its first decorator: the line Python gives the function
    result = signalscope("check", "--project", str(project))
    assert result.returncode == 1, result.stderr
    never = "is decorated with @receiver but never connected: notify.forgotten is never imported: import it in "
    assert result.stdout.splitlines() == [
        f"notify/decorated.py:{line}: SS002 error: wrapped_twice is connected 2 times to post_save for "
        "billing.Invoice (connected as notify.decorators:logged.<locals>.wrapper; dispatch_uid 'wrapped_twice-1', "
        "'wrapped_twice-2'): it runs 2 times per send.",
        f"notify/decorated.py:{line + 7}: SS002 error: traced_twice is connected 2 times to post_save for "
        "billing.Invoice (dispatch_uid 'traced_twice-1', 'traced_twice-2'): it runs 2 times per send.",
        f"notify/forgotten.py:9: SS001 error: never_imported {never}notify.apps.NotifyConfig.ready() (notify/apps.py).",
        f"notify/forgotten.py:15: SS001 error: never_imported_either {never}notify.apps.NotifyConfig.ready() "
        "(notify/apps.py).",
        "",
        "4 findings: 4 errors.",
    ]


def test_matching_through_wrappers_runs_no_receiver_code() -> None:
    # Opaque's __getattr__ records every name it is asked for and not found: Django's connect asks
    # for a few (__func__...); introspection and the rules may ask for nothing else.
    code = (
        "from signalscope import api\n"
        f"project = api.load_project(project={CLEAN!r})\n"
        "from notify.decorators import MISSED_LOOKUPS\n"
        "django_asked = set(MISSED_LOOKUPS)\n"
        "before = len(MISSED_LOOKUPS)\n"
        "findings = api.check(project)\n"
        "ours = set(MISSED_LOOKUPS[before:]) - django_asked\n"
        "import json\n"
        "print(json.dumps([len(findings), sorted(django_asked), sorted(ours)]))\n"
    )
    count, django_asked, ours = json.loads(python_snippet(code))
    assert (count, ours) == (0, [])
    assert "__func__" in django_asked  # the spy works


def test_select_ignore_and_fail_on() -> None:
    only = signalscope("check", "--project", PITFALLS, "--select", "SS004,SS007", "--format", "json")
    assert [f["rule"] for f in only.json()["findings"]] == ["SS004", "SS007"]
    warnings = signalscope("check", "--project", PITFALLS, "--select", "SS005", "--select", "SS006")
    assert warnings.returncode == 1
    relaxed = signalscope("check", "--project", PITFALLS, "--select", "SS005,SS006", "--fail-on", "error")
    assert relaxed.returncode == 0 and "SS005 warning" in relaxed.stdout
    ignored = signalscope("check", "--project", PITFALLS, "--ignore", "ss001", "--format", "json")
    assert "SS001" not in {f["rule"] for f in ignored.json()["findings"]}
    for args, message in [
        (["--select", "SS009"], "Unknown rule 'SS009'."),
        (["--format", "xml"], "--format xml: choose one of text, json, github, sarif."),
        (["--fail-on", "info"], "--fail-on info: choose warning or error."),
    ]:
        bad = signalscope("check", "--project", PITFALLS, *args)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr


def test_json_and_github_formats(pitfalls: str) -> None:
    data = signalscope("check", "--project", pitfalls, "--format", "json").json()
    assert data["schema"] == 1
    first = data["findings"][0]
    assert set(first) == {"rule", "severity", "title", "message", "file", "line", "signal", "receiver"}
    assert (first["rule"], first["file"], first["line"]) == ("SS001", "billing/signals.py", 8)
    assert first["receiver"] == "billing.signals:notify_accounting"
    github = signalscope("check", "--project", pitfalls, "--format", "github").stdout.splitlines()
    assert len(github) == 7
    assert github[0].startswith("::error file=billing/signals.py,line=8,title=SS001 receiver declared but never")
    assert github[4].startswith("::warning file=notify/receivers.py,line=31,title=SS005 cascade cycle::")


def test_sarif_validates_against_the_schema(tmp_path: Path, pitfalls: str) -> None:
    out = tmp_path / "check.sarif"
    result = signalscope("check", "--project", pitfalls, "--format", "sarif", "-o", str(out))
    assert result.returncode == 1 and result.stdout == ""
    log = json.loads(out.read_text())
    schema = SCHEMA
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    jsonschema.validate(log, schema)
    (run,) = log["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [f"SS00{i}" for i in range(1, 8)]
    results = run["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        (rule, int(where.split(":")[1])) for where, rule in PLANTED
    ]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "billing/signals.py",
        "uriBaseId": "%SRCROOT%",
    }
    # An invalid log fails validation: the check above can fail.
    broken = {**log, "version": "2.0"}
    try:
        jsonschema.validate(broken, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the schema accepted version 2.0")


def test_ss003_names_doomed_connects_and_not_djangos_own_dead_entries(tmp_path: Path) -> None:
    # A partial and a temporary's bound method connected weakly die at once;
    # a dead entry nothing in the source explains (a FileSystemStorage made and dropped, as the
    # staticfiles system check does) is not a finding.
    import shutil

    project = tmp_path / "proj"
    shutil.copytree(FIXTURES / "pitfalls_clean", project)
    (project / "notify" / "doomed.py").write_text(
        "import functools\n"
        "from django.core.files.storage import FileSystemStorage\n"
        "from django.db.models.signals import post_save\n"
        "from billing.models import Order\n\n\n"
        "def note(sender, tag, **kwargs):\n    return tag\n\n\n"
        "class Watcher:\n    def seen(self, sender, **kwargs):\n        return sender\n\n\n"
        "post_save.connect(functools.partial(note, tag='x'), sender=Order)\n"
        "post_save.connect(Watcher().seen, sender=Order)\n"
        "FileSystemStorage()  # connects its bound method to setting_changed weakly, then goes\n"
    )
    apps = project / "notify" / "apps.py"
    apps.write_text(
        apps.read_text().replace("from . import decorated, receivers", "from . import decorated, doomed, receivers")
    )
    listed = signalscope("list", "--json", "--project", str(project))
    assert listed.returncode == 0, listed.stderr
    rows = receivers(listed.json())
    # Both doomed receivers are gone (Django drops dead entries at its next connect), so neither can run ...
    assert not [r for r in rows if r["receiver"] in ("notify.doomed:note", "notify.doomed:Watcher.seen")]
    # ... while the storage's dead entry is still in the list.
    assert [r["signal"].rsplit(":", 1)[-1] for r in rows if r["dead"]] == ["setting_changed"]
    result = signalscope("check", "--project", str(project), "--format", "json")
    findings = result.json()["findings"]
    assert [(f["file"], f["line"], f["rule"]) for f in findings] == [
        ("notify/doomed.py", 16, "SS003"),
        ("notify/doomed.py", 17, "SS003"),
    ], findings
    assert "a partial made in the call" in findings[0]["message"]
    assert "the method seen of an object made in the call" in findings[1]["message"]


@pytest.mark.parametrize("marker", ["folder", "file"])
def test_paths_are_relative_to_the_repository_root(tmp_path: Path, marker: str) -> None:
    # A project in backend/ of a repository: CI resolves annotations and SARIF from the checkout's root.
    # A worktree or submodule has a .git file, not a folder: either marks the root; git is not run.
    repo = tmp_path / "repo"
    project = repo / "backend"
    shutil.copytree(PITFALLS, project, ignore=shutil.ignore_patterns("__pycache__"))
    if marker == "folder":
        (repo / ".git").mkdir()
    else:
        (repo / ".git").write_text("gitdir: /elsewhere/.git/worktrees/repo\n")
    text = signalscope("check", "--project", str(project))
    assert text.returncode == 1, text.stderr
    assert [line.split(": ")[0] for line in text.stdout.splitlines()[:-2]] == [
        f"backend/{where}" for where, _rule in PLANTED
    ]
    github = signalscope("check", "--project", str(project), "--format", "github").stdout.splitlines()
    assert github[0].startswith("::error file=backend/billing/signals.py,line=8,title=SS001 ")
    sarif = json.loads(signalscope("check", "--project", str(project), "--format", "sarif").stdout)
    jsonschema.validate(sarif, SCHEMA)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]]
    assert uris == [f"backend/{where.split(':')[0]}" for where, _rule in PLANTED]
    # JSON keeps each file relative to its sys.path entry, as every JSON of signalscope does.
    data = signalscope("check", "--project", str(project), "--format", "json").json()
    assert data["findings"][0]["file"] == "billing/signals.py"
    # Run from the repository's root, or from anywhere: the same paths.
    inside = signalscope("check", "--project", "backend", cwd=repo)
    assert inside.stdout == text.stdout


def test_root_names_the_folder_paths_are_relative_to(tmp_path: Path) -> None:
    # A monorepo whose CI checks out one folder, or a project with no .git at all: --root says where paths start.
    project = tmp_path / "mono" / "services" / "backend"
    shutil.copytree(PITFALLS, project, ignore=shutil.ignore_patterns("__pycache__"))
    text = signalscope("check", "--project", str(project), "--root", str(tmp_path / "mono"))
    assert text.returncode == 1, text.stderr
    assert [line.split(": ")[0] for line in text.stdout.splitlines()[:-2]] == [
        f"services/backend/{where}" for where, _rule in PLANTED
    ]
    github = signalscope("check", "--project", str(project), "--root", str(project), "-f", "github")
    assert github.stdout.splitlines()[0].startswith("::error file=billing/signals.py,line=8,title=SS001 ")
    missing = signalscope("check", "--project", str(project), "--root", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert f"--root {tmp_path / 'nowhere'}: no such folder." in missing.stderr


def test_a_load_failure_is_reported_in_the_ci_formats(tmp_path: Path) -> None:
    broken = ["check", "--project", str(FIXTURES / "broken"), "--settings", "site_cfg.raises"]
    message = "Could not set up the project with settings 'site_cfg.raises' (from --settings): site_cfg/raises.py:3"

    github = signalscope(*broken, "--format", "github")
    assert github.returncode == 2
    (line,) = github.stdout.splitlines()
    assert line.startswith(f"::error title=signalscope%3A the project did not load::{message}")
    assert "%0AFix the error above; rerun with --traceback" in line  # the hint, on a line of its own
    assert message in github.stderr  # stderr says it as always

    out = tmp_path / "check.sarif"
    sarif = signalscope(*broken, "--format", "sarif", "-o", str(out))
    assert (sarif.returncode, sarif.stdout) == (2, "")
    log = json.loads(out.read_text())
    jsonschema.validate(log, SCHEMA)
    (run,) = log["runs"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"].startswith(message)
    assert run["results"] == []  # code scanning's upload needs the array

    text = signalscope(*broken)
    assert (text.returncode, text.stdout) == (2, "")  # text stays as it was: the error on stderr
    assert message in text.stderr


def test_a_loop_of_three_hops_is_one_finding_with_its_path() -> None:
    # fixtures/cascade: billing.Invoice -> inventory.StockMovement -> inventory.Stock -> billing.Invoice,
    # the middle hop made by two receivers.
    result = signalscope("check", "--project", str(FIXTURES / "cascade"), "--select", "SS005", "--format", "json")
    (finding,) = result.json()["findings"]
    assert (finding["file"], finding["line"]) == ("billing/receivers.py", 24)  # the write that closes it
    assert finding["receiver"] == "billing.receivers:reprice_open_invoices"
    assert finding["signal"] == "django.db.models.signals:post_save"
    assert finding["message"] == (
        "`invoice.save()` in reprice_open_invoices closes a cascade loop: post_save(billing.Invoice) → "
        "reserve_stock → post_save(inventory.StockMovement) → update_stock_level or audit_movement → "
        "post_save(inventory.Stock) → reprice_open_invoices → post_save(billing.Invoice). No condition on "
        "the way stops it: write with QuerySet.update(), or guard a write (`if created:`, update_fields)."
    )


# fixtures/pitfalls_clean/notify/receivers.py: an Order's first save opens its Invoice, an Invoice's save
# saves its Order. Each variant changes that sync, or adds a receiver; None: no loop is left.
SYNC = "    if created:\n        Invoice.objects.create(order=instance)\n"
SYNC_BACK = "    instance.order.save()\n"
OPEN_INVOICE = (
    "`Invoice.objects.create(order=instance)` in open_invoice closes a cascade loop: post_save(billing.Invoice) "
    "→ touch_order → post_save(billing.Order) → open_invoice → post_save(billing.Invoice)."
)
SAVE_TOTAL = (
    "\n\n@receiver(post_save, sender=Invoice)\n"
    "def total_invoice(sender, instance, update_fields, **kwargs):\n"
    "    if {guard}:\n"
    "        instance.total = 1\n"
    "        instance.save(update_fields=['total'])\n"
)
RETURN_EARLY = (
    "\n\n@receiver(post_save, sender=Invoice)\n"
    "def total_invoice(sender, instance, **kwargs):\n"
    "    if kwargs.get('update_fields') and 'total' in kwargs['update_fields']:\n"
    "        return\n"
    "    instance.total = 1\n"
    "    instance.save(update_fields=['total'])\n"
)
TOTAL = (
    "`instance.save(update_fields=['total'])` in total_invoice closes a cascade loop: post_save(billing.Invoice) "
    "→ total_invoice → post_save(billing.Invoice)."
)


@pytest.mark.parametrize(
    ("old", "new", "loop"),
    [
        # if created: the save back is no create, so the second pass makes no invoice
        (SYNC, SYNC, None),
        (SYNC, "    Invoice.objects.create(order=instance)\n", OPEN_INVOICE),
        (SYNC, SYNC.replace("if created", "if not created"), OPEN_INVOICE),
        # raw is loaddata's: code never sends it, so `if raw:` never runs and `if not raw:` always does
        (SYNC_BACK, "    if kwargs.get('raw'):\n        instance.order.save()\n", None),
        (SYNC, SYNC.replace("if created", "if not kwargs.get('raw')"), OPEN_INVOICE),
        # a condition that can't be decided does not stop it
        (SYNC, SYNC.replace("if created", "if instance.number"), OPEN_INVOICE),
        # save(update_fields=...) sends those fields: a guard on them ends a receiver's own loop
        ("", SAVE_TOTAL.format(guard="update_fields is None or 'total' not in update_fields"), None),
        ("", RETURN_EARLY, None),
        ("", SAVE_TOTAL.format(guard="update_fields is None or 'stamped' not in update_fields"), TOTAL),
    ],
    ids=["created", "unguarded", "not-created", "raw", "not-raw", "unknown", "update-fields", "return", "other-field"],
)
def test_guards_that_break_a_loop(tmp_path: Path, old: str, new: str, loop: str | None) -> None:
    project = tmp_path / "pitfalls_clean"
    shutil.copytree(CLEAN, project, ignore=shutil.ignore_patterns("__pycache__"))
    module = project / "notify" / "receivers.py"
    source = module.read_text()
    assert SYNC in source and SYNC_BACK in source
    module.write_text(source.replace(old, new, 1) if old else source + new)
    result = signalscope("check", "--project", str(project), "--select", "SS005", "--format", "json")
    assert result.returncode == (1 if loop else 0), result.stderr
    messages = [f["message"] for f in result.json()["findings"]]
    assert [m.split(". No condition")[0] + "." for m in messages] == ([loop] if loop else [])


def _effect(kind: str, text: str, condition: str | None = None) -> EffectRef:
    return EffectRef("a:r", "a.py", 1, kind, "a.M", (), text, condition=condition)


POST_SAVE = "django.db.models.signals:post_save"
PRE_SAVE = "django.db.models.signals:pre_save"


def test_what_each_write_of_a_loop_sends() -> None:
    assert sent_with(_effect("create", "M.objects.create()"), POST_SAVE) == [
        {"raw": False, "update_fields": None, "adding": False, "created": True}
    ]
    assert sent_with(_effect("create", "M.objects.create()"), PRE_SAVE) == [
        {"raw": False, "update_fields": None, "adding": True}
    ]
    # a save in a loop saves a row the loop went through: no create
    assert sent_with(_effect("save", "instance.order.save()"), POST_SAVE) == [
        {"raw": False, "update_fields": None, "adding": False, "created": False}
    ]
    assert sent_with(_effect("save", "obj.save(update_fields=('a', 'b'))"), POST_SAVE) == [
        {"raw": False, "update_fields": ["a", "b"], "adding": False, "created": False}
    ]
    assert sent_with(_effect("save", "obj.save(update_fields=fields)"), POST_SAVE) == [
        {"raw": False, "adding": False, "created": False}
    ]
    assert sent_with(_effect("save", "obj.save(**options)"), POST_SAVE) == [
        {"raw": False, "adding": False, "created": False}
    ]
    # a new object saved in place, update_or_create: created may be either
    assert sent_with(_effect("save", "M(a=1).save()"), POST_SAVE) == [
        {"raw": False, "update_fields": None, "adding": False}
    ]
    assert sent_with(_effect("save", "M.objects.update_or_create(a=1)"), POST_SAVE) == [{"raw": False, "adding": False}]
    assert sent_with(_effect("save", "obj.save(force_insert=True)"), POST_SAVE)[0]["created"] is True
    assert sent_with(_effect("save", "M.objects.first().save()"), POST_SAVE)[0]["created"] is False
    m2m = "django.db.models.signals:m2m_changed"
    assert sent_with(_effect("m2m", "order.tags.add(tag)"), m2m) == [{"action": "pre_add"}, {"action": "post_add"}]
    assert sent_with(_effect("m2m", "order.tags.set(tags)"), m2m) == [{}]
    assert sent_with(_effect("send", "done.send(sender=M)"), "x.signals:done") == [{}]


def test_a_write_can_run_unless_its_condition_is_false() -> None:
    created = [{"created": True, "raw": False}]
    saved = [{"created": False, "raw": False}]
    assert can_run(_effect("save", "x.save()"), saved)
    assert can_run(_effect("save", "x.save()", "created"), created)
    assert not can_run(_effect("save", "x.save()", "created"), saved)
    assert not can_run(_effect("save", "x.save()", "raw"), saved)
    assert can_run(_effect("save", "x.save()", "instance.flag"), saved)  # unknown: it may
    actions = [{"action": "pre_add"}, {"action": "post_add"}]
    assert can_run(_effect("save", "x.save()", "action == 'post_add'"), actions)
    assert not can_run(_effect("save", "x.save()", "action == 'post_remove'"), actions)


def test_files_outside_the_repository_keep_their_paths(tmp_path: Path) -> None:
    from signalscope.checks.paths import find_repository_root, with_repo_files
    from signalscope.model.check import Finding

    repo, outside = tmp_path / "repo", tmp_path / "site-packages"
    (repo / ".git").mkdir(parents=True)
    for folder in (repo / "backend" / "app", outside / "lib"):
        folder.mkdir(parents=True)
        (folder / "x.py").write_text("")
    assert find_repository_root(repo / "backend" / "app") == repo
    assert find_repository_root(outside) is None
    roots = (str(repo / "backend"), str(outside))
    findings = [
        Finding("app/x.py", 1, "SS001", "m"),
        Finding("lib/x.py", 1, "SS001", "m"),  # a library's: no repository path
        Finding(str(repo / "backend" / "app" / "x.py"), 1, "SS001", "m"),  # absolute: outside every root
        Finding("gone.py", 1, "SS001", "m"),
        Finding(None, None, "SS005", "m"),
    ]
    located = with_repo_files(findings, roots, repo)
    assert [f.repo_file for f in located] == ["backend/app/x.py", None, "backend/app/x.py", None, None]
    assert [f.shown_file for f in located] == ["backend/app/x.py", "lib/x.py", "backend/app/x.py", "gone.py", None]
    assert with_repo_files(findings, roots, None) == findings


def test_a_lazy_sender_that_never_resolves_hides_no_loop(tmp_path: Path) -> None:
    # stamp_invoice also connected for a typo'd lazy sender: that connection never sends, so the
    # receiver's read for billing.Invoice keeps `instance` typed and its loop is still found.
    project = tmp_path / "pitfalls"
    shutil.copytree(PITFALLS, project, ignore=shutil.ignore_patterns("__pycache__"))
    with (project / "notify" / "receivers.py").open("a", encoding="utf-8") as handle:
        handle.write('post_save.connect(stamp_invoice, sender="billing.Invoce", dispatch_uid="stamp-typo")\n')
    found = signalscope("check", "--project", str(project), "-f", "json").json()["findings"]
    mine = [f for f in found if "stamp_invoice" in f["message"]]
    assert sorted((f["rule"], f["line"]) for f in mine) == [("SS004", 28), ("SS005", 31)]

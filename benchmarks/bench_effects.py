"""Benchmark: reading what receivers write, for one large signals module (`signalscope check`).

    python benchmarks/bench_effects.py [--sizes 300,900,1800] [--repeat 3]

Writes a project with one app whose signals.py holds N receivers, each
writing another model (``Model.objects.create()``, ``.save(update_fields=...)``
or ``.update()``): real projects keep hundreds of receivers in one module.
Runs ``signalscope check`` on it in a fresh process, best of `--repeat`,
and prints the seconds, microseconds per receiver, and the ratio of each
size's time to the one before it (about the size ratio when the scan is
linear). Goal: linear in receivers (the effect scan re-split the whole
module for every write it found: 34 s at 900 receivers, quadratic).
Not a timed test: it asserts nothing and is never run by pytest.

A second table reads one receiver connected for N models, as an audit app
registers it for each audited model: it is read once per model (its
``instance`` is that model's), so the goal is linear in senders too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_project(out: Path, receivers: int) -> Path:
    """Write the project into `out`: app `big`, receivers/6 models, `receivers` receivers in one module."""
    models = max(2, receivers // 6)
    (out / "site_cfg").mkdir(parents=True)
    (out / "site_cfg" / "__init__.py").write_text("")
    (out / "site_cfg" / "settings.py").write_text(
        "SECRET_KEY = 'bench'\nINSTALLED_APPS = ['django.contrib.contenttypes', 'big']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
        "DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\nUSE_TZ = True\n"
    )
    (out / "manage.py").write_text(
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_cfg.settings')\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n"
    )
    app = out / "big"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass BigConfig(AppConfig):\n    name = 'big'\n\n"
        "    def ready(self):\n        from . import signals  # noqa: F401\n"
    )
    (app / "models.py").write_text(
        "from django.db import models\n"
        + "".join(f"\n\nclass M{i}(models.Model):\n    note = models.CharField(max_length=20)\n" for i in range(models))
    )
    lines = ["from django.db.models.signals import post_save\nfrom django.dispatch import receiver\n\n"]
    lines.append("from .models import " + ", ".join(f"M{i}" for i in range(models)) + "\n")
    writes = (
        "    M{t}.objects.create(note='from {i}')\n",
        "    if created:\n        instance.note = 'seen'\n        instance.save(update_fields=['note'])\n",
        "    M{t}.objects.filter(pk=instance.pk).update(note='{i}')\n",
    )
    for i in range(receivers):
        source, target = i % models, (i * 7 + 1) % models
        body = writes[i % len(writes)].format(t=target, i=i)
        lines.append(
            f"\n\n@receiver(post_save, sender=M{source})\ndef on_save_{i}(sender, instance, created, **kwargs):\n{body}"
        )
    (app / "signals.py").write_text("".join(lines))
    return out


SHARED = """
from django.apps import apps


def helper(instance, sender):
    entry = apps.get_model("a.Entry")
    entry.objects.create(obj=instance)
    instance.save()


def log(sender, instance, created, **kwargs):
    if created:
        helper(instance, sender)
"""


def time_shared(folder: Path, senders: int, repeat: int) -> float:
    """Seconds to read one receiver connected for `senders` models (in this process: no project needed)."""
    from signalscope.graph.effects import scan_effects
    from signalscope.model import Connection, ReceiverRef, SenderRef
    from signalscope.model.cascade import ModelRef

    module = folder / "audit_receivers.py"
    module.write_text(SHARED)
    models = [ModelRef(f"a.M{i}", "a.models", f"M{i}") for i in range(senders)]
    models.append(ModelRef("a.Entry", "a.models", "Entry"))
    receiver = ReceiverRef("audit_receivers:log", None, None, "function")
    post_save = "django.db.models.signals:post_save"
    connections = [Connection(post_save, SenderRef("model", f"a.M{i}"), 0, receiver) for i in range(senders)]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        scan_effects(connections, modules={"audit_receivers": str(module)}, models=models, signals=[post_save])
        best = min(best, time.perf_counter() - start)
    return best


def time_check(project: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "signalscope", "check", "--project", str(project)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,900,1800")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"Python {sys.version.split()[0]}, signalscope check, best of {args.repeat}")
    print(f"{'receivers':>10}  {'seconds':>8}  {'us/receiver':>11}  {'x previous':>10}")
    previous = None
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            project = write_project(Path(tmp) / f"p{size}", size)
            seconds = time_check(project, args.repeat)
            ratio = f"{seconds / previous:10.2f}" if previous else f"{'':>10}"
            print(f"{size:>10}  {seconds:8.2f}  {seconds / size * 1e6:11.0f}  {ratio}")
            previous = seconds
        print("\none receiver connected for N models (graph.effects.scan_effects in this process)")
        print(f"{'senders':>10}  {'seconds':>8}  {'us/sender':>11}  {'x previous':>10}")
        previous = None
        for size in sizes:
            seconds = time_shared(Path(tmp), size, args.repeat)
            ratio = f"{seconds / previous:10.2f}" if previous else f"{'':>10}"
            print(f"{size:>10}  {seconds:8.3f}  {seconds / size * 1e6:11.0f}  {ratio}")
            previous = seconds


if __name__ == "__main__":
    main()

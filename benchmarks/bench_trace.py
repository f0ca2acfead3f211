"""Benchmark: what tracing costs per send and per receiver call, against sentry-sdk's signal spans.

    python benchmarks/bench_trace.py [--rounds 7]

Each round runs two fresh worker processes, one after the other (these
machines are noisy, so configurations are interleaved rather than timed in
blocks):

- the plain worker times, alternating batch by batch in one process:
  untraced ``send`` (Django's own methods), the same with a signalscope
  Tracer active, and untraced again after a tracer has stopped (its methods
  must be Django's own: nothing patched, 1.00x);
- the sentry worker (sentry-sdk patches Django for good once initialised,
  so it gets a process of its own) times the same sends with
  ``DjangoIntegration(signals_spans=True)`` inside a transaction, with
  tracing on and every event dropped locally.

The workload: ``send(sender=Group, instance=group, created=False)`` (a
post_save-like send) with 1, 5 and 20 trivial receivers; and a loop of
5,000 ``group.save()`` calls (an UPDATE on SQLite in memory) with three
receivers on pre_save and post_save.

It prints ns per send and ratios to untraced (medians over rounds), and the
added cost per receiver call and per send, fitted over N by least squares.
Goals (issue #5): signalscope adds at most 1/20 of what sentry-sdk adds
(about 0.5 us per receiver call, 0.2 us per send); the model-save loop at
most 1.05x untraced; no tracer active 1.00x.
Needs sentry-sdk (pip install -e '.[bench]'); without it the sentry columns
are left out. Not a timed test: it asserts nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECEIVERS = (1, 5, 20)
SENDS = 2_000  # per timed batch
SAVES = 5_000


def _setup() -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SECRET_KEY="bench",
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _receiver(sender: object, **kwargs: object) -> None:
    return None


def _workload() -> tuple[dict[int, object], object, object]:
    from django.contrib.auth.models import Group
    from django.db.models.signals import post_save, pre_save
    from django.dispatch import Signal

    signals = {}
    for n in RECEIVERS:
        signal = Signal()
        for i in range(n):
            # Distinct functions, as in a real project (and every one is live).
            func = _make_receiver(i)
            signal.connect(func, weak=False)
        signals[n] = signal
    for i in range(3):
        pre_save.connect(_make_receiver(i), sender=Group, weak=False)
        post_save.connect(_make_receiver(i + 3), sender=Group, weak=False)
    group = Group.objects.create(name="bench")
    return signals, Group, group


def _make_receiver(i: int):  # type: ignore[no-untyped-def]
    def receiver(sender: object, **kwargs: object) -> None:
        return None

    receiver.__qualname__ = f"receiver_{i}"
    return receiver


def _time_sends(signal, model, group) -> float:  # type: ignore[no-untyped-def]
    send = signal.send
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(SENDS):
        send(sender=model, instance=group, created=False)
    return (clock() - start) / SENDS


def _time_saves(group) -> float:  # type: ignore[no-untyped-def]
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(SAVES):
        group.save()
    return (clock() - start) / SAVES


def plain_worker(batches: int) -> dict[str, list[float]]:
    """Untraced, traced and after-trace batches, alternating, in this process."""
    _setup()
    from django.dispatch import Signal

    from signalscope.tracing import Tracer

    signals, model, group = _workload()
    pristine = {name: Signal.__dict__.get(name) for name in ("send", "send_robust", "_live_receivers")}
    results: dict[str, list[float]] = {}

    def untraced(key: str, run) -> None:  # type: ignore[no-untyped-def]
        results.setdefault(key, []).append(run())

    def traced(key: str, run) -> None:  # type: ignore[no-untyped-def]
        tracer = Tracer().start()
        try:
            results.setdefault(key, []).append(run())
        finally:
            tracer.stop()

    configs = [("untraced", untraced), ("signalscope", traced), ("after", untraced)]
    for batch in range(batches + 1):  # batch 0 warms up
        order = configs if batch % 2 else configs[::-1]
        for name, how in order:
            for n, signal in signals.items():
                how(f"{name}/{n}", lambda s=signal: _time_sends(s, model, group))
            how(f"{name}/saves", lambda: _time_saves(group))
            if name == "after":
                patched = [k for k, v in pristine.items() if Signal.__dict__.get(k) is not v]
                if patched:
                    raise SystemExit(f"bench_trace: still patched after stop: {patched}")
    return {k: v[1:] for k, v in results.items()}


def sentry_worker(batches: int) -> dict[str, list[float]]:
    """sentry-sdk's signal spans, inside a transaction, events dropped locally."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.transport import Transport

    class Drop(Transport):
        def capture_envelope(self, envelope: object) -> None:
            pass

    _setup()
    sentry_sdk.init(
        dsn="https://public@sentry.invalid/1",
        integrations=[DjangoIntegration(signals_spans=True)],
        traces_sample_rate=1.0,
        transport=Drop,
        default_integrations=False,
    )
    signals, model, group = _workload()
    results: dict[str, list[float]] = {}
    for _batch in range(batches + 1):
        for n, signal in signals.items():
            with sentry_sdk.start_transaction(name="bench", op="bench"):
                results.setdefault(f"sentry/{n}", []).append(_time_sends(signal, model, group))
        with sentry_sdk.start_transaction(name="bench", op="bench"):
            results.setdefault("sentry/saves", []).append(_time_saves(group))
    return {k: v[1:] for k, v in results.items()}


def memory_worker(sends: int) -> dict[str, list[float]]:
    """Peak memory of a default Tracer over `sends` post_save-like sends (3 receivers)."""
    import resource

    _setup()
    from django.db.models.signals import post_save

    from signalscope.tracing import Tracer

    _signals, model, group = _workload()
    for _ in range(1000):  # warm up: caches, interned strings
        post_save.send(sender=model, instance=group, created=False, update_fields=None, raw=False, using="default")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracer = Tracer().start()
    send = post_save.send  # bound after start: the hook is on the class
    for _ in range(sends):
        send(sender=model, instance=group, created=False, update_fields=None, raw=False, using="default")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log = tracer.stop()
    sends_kept = sum(1 for e in log.events if e.kind == "send")
    return {"memory/mb": [(after - before) / 1024], "memory/kept": [sends_kept], "memory/dropped": [log.dropped]}


def _worker(kind: str, batches: int) -> dict[str, list[float]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--batches", str(batches)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line through (N, added ns): (per send, per receiver call)."""
    slope, intercept = statistics.linear_regression([n for n, _ in points], [y for _, y in points])
    return intercept, slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, default=3, help="timed batches per configuration per worker")
    parser.add_argument(
        "--memory", type=int, metavar="SENDS", help="instead: peak memory of a default Tracer over SENDS sends"
    )
    parser.add_argument("--worker", choices=("plain", "sentry", "memory"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run = {"plain": plain_worker, "sentry": sentry_worker, "memory": memory_worker}[args.worker]
        print(json.dumps(run(args.batches)))
        return
    if args.memory:
        result = _worker("memory", args.memory)
        print(
            f"{args.memory:,} sends (post_save, 3 receivers) under a default Tracer: "
            f"{result['memory/mb'][0]:.0f} MB more peak RSS; kept {result['memory/kept'][0]:,.0f}, "
            f"dropped {result['memory/dropped'][0]:,.0f} (goal: under 100 MB)"
        )
        return
    try:
        import sentry_sdk  # noqa: F401

        kinds = ["plain", "sentry"]
    except ImportError:
        print("sentry-sdk is not installed: its columns are left out (pip install -e '.[bench]')")
        kinds = ["plain"]
    import django

    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.rounds} rounds")
    samples: dict[str, list[float]] = {}
    for i in range(args.rounds):
        for kind in kinds if i % 2 == 0 else kinds[::-1]:
            for key, values in _worker(kind, args.batches).items():
                samples.setdefault(key, []).extend(values)
    med = {key: statistics.median(values) for key, values in samples.items()}
    tools = ["signalscope", "after"] + (["sentry"] if "sentry" in kinds else [])

    print()
    header = f"{'workload':<26} {'untraced':>10}" + "".join(f" {t:>12} {'ratio':>6}" for t in tools)
    print(header)
    rows = [(f"send, {n} receiver{'s' if n > 1 else ''} (ns)", str(n)) for n in RECEIVERS]
    rows.append((f"{SAVES:,} saves, 6 receivers (us/save)", "saves"))
    for label, key in rows:
        scale = 1e3 if key == "saves" else 1
        base = med[f"untraced/{key}"]
        line = f"{label:<26} {base / scale:10.1f}"
        for tool in tools:
            value = med[f"{tool}/{key}"]
            line += f" {value / scale:12.1f} {value / base:6.2f}"
        print(line)

    print()
    print(f"{'added cost (fit over N)':<26} {'per send ns':>12} {'per call ns':>12}")
    fits = {}
    for tool in tools:
        if tool == "after":
            continue
        fits[tool] = _fit([(n, med[f"{tool}/{n}"] - med[f"untraced/{n}"]) for n in RECEIVERS])
        per_send, per_call = fits[tool]
        print(f"{tool:<26} {per_send:12.0f} {per_call:12.0f}")
    ours_send, ours_call = fits["signalscope"]
    saves = med["signalscope/saves"] / med["untraced/saves"]
    print()
    print(f"goal: per call <= 500 ns{' and <= 1/20 of sentry' if 'sentry' in fits else ''}: {ours_call:.0f} ns", end="")
    if "sentry" in fits:
        print(f" (sentry {fits['sentry'][1]:.0f} ns, 1/{fits['sentry'][1] / max(ours_call, 1):.0f})")
    else:
        print()
    print(f"goal: per send <= 200 ns: {ours_send:.0f} ns")
    print(f"goal: model-save loop <= 1.05x: {saves:.3f}x")
    print(f"goal: no tracer active 1.00x: {med['after/1'] / med['untraced/1']:.2f}x (Django's own methods in place)")
    print(
        "\nsignalscope and after: the same process as untraced, batches alternating;\n"
        "sentry: its own process (sentry-sdk patches Django for good), ratios to the plain worker's untraced."
    )


if __name__ == "__main__":
    main()

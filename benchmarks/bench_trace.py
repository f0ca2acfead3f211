"""Benchmark: what tracing costs per send and per receiver call, against sentry-sdk's signal spans.

    python benchmarks/bench_trace.py [--rounds 7]
    python benchmarks/bench_trace.py --profile      # where a traced send's time goes, step by step
    python benchmarks/bench_trace.py --memory 1000000
    python benchmarks/bench_trace.py --instructions # instructions per send (valgrind): load-proof

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

The workload: ``send(sender=S, instance=group, created=False)`` (a
post_save-like send) with 1, 5 and 20 trivial receivers, for three kinds of
sender S: a model class (Group), a string and an instance (the group); and a
loop of 5,000 ``group.save()`` calls (an UPDATE on SQLite in memory) with
three receivers on pre_save and post_save.

Times are the process's CPU time (all its threads: sentry-sdk's too), read
per batch; the wall clock would also count the other jobs of a shared
machine. It prints ns per send and ratios to untraced (medians over rounds), and the
added cost per receiver call and per send, fitted over N by least squares,
per kind of sender. Goals (issue #17): at most 1.2 us added per send on
every kind of sender, at most 0.5 us per receiver call, the model-save loop
at most 1.10x untraced (stretch: 1.05x), no tracer active 1.00x.

``--profile`` times, in one process and interleaved, the send path one
step at a time: a pass-through hook, then the context variable and the
clock, then the recorder's real hooks with a listener that does nothing,
then a tracer whose packing is skipped, then the whole tracer; and the
parts of packing one send (tracing.packing.pack) on their own.

``--instructions`` counts, with valgrind's callgrind, the instructions per
send and per save, untraced and traced: the difference of a run of 3,000
and one of 1,000, so the set-up cancels out. A count, not a time: the same
whatever else the machine runs (memory stalls are not in it).

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


#: The kinds of sender timed: the benchmark's keys are "<config>/<N>" for the model class (as before)
#: and "<config>/<kind>-<N>" for the others.
SENDER_KINDS = ("class", "str", "instance")


def _senders(model, group) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"class": model, "str": "bench-sender", "instance": group}


def _key(kind: str, n: int) -> str:
    return str(n) if kind == "class" else f"{kind}-{n}"


# The process's CPU time, not the wall clock: what the tracer costs is CPU in the program's own
# threads, and on a shared machine the wall clock also counts the time other jobs had the CPU.
CLOCK = time.process_time_ns


def _time_sends(signal, sender, group) -> float:  # type: ignore[no-untyped-def]
    send = signal.send
    clock = CLOCK
    start = clock()
    for _ in range(SENDS):
        send(sender=sender, instance=group, created=False)
    return (clock() - start) / SENDS


def _time_saves(group) -> float:  # type: ignore[no-untyped-def]
    clock = CLOCK
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
            for kind, sender in _senders(model, group).items():
                for n, signal in signals.items():
                    how(f"{name}/{_key(kind, n)}", lambda s=signal, who=sender: _time_sends(s, who, group))
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
        for kind, sender in _senders(model, group).items():
            for n, signal in signals.items():
                with sentry_sdk.start_transaction(name="bench", op="bench"):
                    results.setdefault(f"sentry/{_key(kind, n)}", []).append(_time_sends(signal, sender, group))
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
    parser.add_argument("--profile", action="store_true", help="instead: where a traced send's time goes")
    parser.add_argument(
        "--instructions", action="store_true", help="instead: instructions per send and per save (valgrind)"
    )
    parser.add_argument("--count", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("plain", "sentry", "memory", "profile"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run = {"plain": plain_worker, "sentry": sentry_worker, "memory": memory_worker, "profile": profile_worker}
        print(json.dumps(run[args.worker](args.batches)))
        return
    if args.count:
        count_worker(args.count)
        return
    if args.instructions:
        count_instructions()
        return
    if args.profile:
        import django

        print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.rounds} rounds, medians")
        profile: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for key, values in _worker("profile", args.batches).items():
                profile.setdefault(key, []).extend(values)
        print_profile(profile)
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
    header = f"{'workload':<36} {'untraced':>10}" + "".join(f" {t:>12} {'ratio':>6}" for t in tools)
    print(header)
    rows = [
        (f"send, {kind} sender, {n} receiver{'s' if n > 1 else ''} (ns)", _key(kind, n))
        for kind in SENDER_KINDS
        for n in RECEIVERS
    ]
    rows.append((f"{SAVES:,} saves, 6 receivers (us/save)", "saves"))
    for label, key in rows:
        scale = 1e3 if key == "saves" else 1
        base = med[f"untraced/{key}"]
        line = f"{label:<36} {base / scale:10.1f}"
        for tool in tools:
            value = med[f"{tool}/{key}"]
            line += f" {value / scale:12.1f} {value / base:6.2f}"
        print(line)

    print()
    print(f"{'added cost (fit over N)':<36} {'per send ns':>12} {'per call ns':>12}")
    fits: dict[tuple[str, str], tuple[float, float]] = {}
    for tool in tools:
        if tool == "after":
            continue
        for kind in SENDER_KINDS:
            points = [(n, med[f"{tool}/{_key(kind, n)}"] - med[f"untraced/{_key(kind, n)}"]) for n in RECEIVERS]
            fits[tool, kind] = _fit(points)
            per_send, per_call = fits[tool, kind]
            print(f"{tool + ', ' + kind + ' sender':<36} {per_send:12.0f} {per_call:12.0f}")
    saves = med["signalscope/saves"] / med["untraced/saves"]
    worst_send = max(fits["signalscope", kind][0] for kind in SENDER_KINDS)
    worst_call = max(fits["signalscope", kind][1] for kind in SENDER_KINDS)
    after = max(med[f"after/{_key(kind, 1)}"] / med[f"untraced/{_key(kind, 1)}"] for kind in SENDER_KINDS)

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    print()
    print(f"goal: per send <= 1200 ns on every kind of sender: {worst_send:.0f} ns ({verdict(worst_send <= 1200)})")
    line = f"goal: per call <= 500 ns: {worst_call:.0f} ns ({verdict(worst_call <= 500)})"
    if "sentry" in tools:
        sentry_call = fits["sentry", "class"][1]
        line += (
            f"; sentry-sdk {sentry_call:.0f} ns per call, 1/{sentry_call / max(fits['signalscope', 'class'][1], 1):.0f}"
        )
    print(line)
    print(f"goal: model-save loop <= 1.10x (stretch 1.05x): {saves:.3f}x ({verdict(saves <= 1.10)})")
    print(f"goal: no tracer active 1.00x: {after:.2f}x (Django's own methods in place)")
    print(
        "\nsignalscope and after: the same process as untraced, batches alternating;\n"
        "sentry: its own process (sentry-sdk patches Django for good), ratios to the plain worker's untraced."
    )


def count_worker(spec: str) -> None:
    """Run one counted workload: "<traced|untraced>,<class|str|instance|saves>,<N receivers>,<repeats>"."""
    _setup()
    from signalscope.tracing import Tracer

    mode, kind, n, repeats = spec.split(",")
    signals, model, group = _workload()
    signal = signals[int(n)]
    sender = _senders(model, group).get(kind)
    if mode == "traced":
        Tracer().start()
    send = signal.send  # bound after the start: a bound method keeps the function it was bound to
    for _ in range(200):  # warm: caches, interned names
        send(sender=sender or model, instance=group, created=False)
        group.save()
    if kind == "saves":
        for _ in range(int(repeats)):
            group.save()
    else:
        for _ in range(int(repeats)):
            send(sender=sender, instance=group, created=False)
    sys.stdout.flush()
    os._exit(0)  # not the tracer's stop, which reads the whole log: only the sends are counted


def count_instructions() -> None:
    """Instructions per send and per save, counted by valgrind's callgrind: the same on any machine load."""
    import re
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None:
        raise SystemExit("bench_trace --instructions needs valgrind (apt-get install valgrind)")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    low, high = 1000, 3000

    def counted(spec: str) -> int:
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
        out = subprocess.run([*command, "--count", spec], env=env, capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", out.stderr)
        if found is None:
            raise SystemExit(f"bench_trace: callgrind said no total for {spec}:\n{out.stderr[-2000:]}")
        return int(found.group(1))

    def per_item(spec: str) -> float:
        # The difference of two runs: the set-up, the warm-up and the exit cancel out.
        return (counted(f"{spec},{high}") - counted(f"{spec},{low}")) / (high - low)

    specs = [f"{mode},{kind},{n}" for mode in ("untraced", "traced") for kind, n in
             (("class", 1), ("class", 20), ("str", 1), ("instance", 1), ("saves", 1))]  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        counts = dict(zip(specs, pool.map(per_item, specs), strict=True))
    import django

    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}: instructions (callgrind)")
    added = {spec.partition(",")[2]: counts[spec] - counts["untraced," + spec.partition(",")[2]]
             for spec in specs if spec.startswith("traced")}  # fmt: skip
    per_call = (added["class,20"] - added["class,1"]) / 19
    print(f"{'workload':<36} {'untraced':>10} {'traced':>10} {'ratio':>6}")
    for key in added:
        label = f"{SAVES:,} saves, 6 receivers (per save)" if key.startswith("saves") else f"send, {key} receiver(s)"
        base = counts["untraced," + key]
        print(f"{label:<36} {base:10,.0f} {counts['traced,' + key]:10,.0f} {counts['traced,' + key] / base:6.2f}")
    print(f"added per receiver call: {per_call:,.0f} instructions")
    for kind in ("class", "str", "instance"):
        print(f"added per send, {kind} sender: {added[kind + ',1'] - per_call:,.0f} instructions")


PROFILE_STEPS = (
    "untraced",
    "a pass-through hook on send",
    "a hook that keeps a record, sets the context variable, reads the clock twice",
    "  the same, with a module global instead of the context variable",
    "only _live_receivers hooked: a generator that times each receiver",
    "the recorder's hooks, a listener that does nothing",
    "a tracer, packing skipped",
    "a tracer",
)


def profile_worker(batches: int) -> dict[str, list[float]]:
    """The send path one step at a time, interleaved in this process (see the module's docstring)."""
    import contextvars
    import threading
    import timeit

    _setup()
    from django.dispatch import Signal

    from signalscope.tracing import Tracer, packing, recorder

    signals, model, group = _workload()
    signal = signals[1]
    original_send = vars(Signal)["send"]
    current: contextvars.ContextVar[object] = contextvars.ContextVar("bench", default=None)
    get, put, reset, clock, thread = current.get, current.set, current.reset, time.perf_counter_ns, threading.get_ident
    ids = iter(range(1, 2**63)).__next__

    def passing(self, sender, **named):  # type: ignore[no-untyped-def]
        return original_send(self, sender, **named)

    def context_and_clock(self, sender, **named):  # type: ignore[no-untyped-def]
        sid = ids()
        get()
        record = [sid, None, self, sender, named, "send", thread(), 0, 0]
        token = put(record)
        record[7] = clock()
        responses = original_send(self, sender, **named)
        record[8] = clock()
        reset(token)
        return responses

    holder: list[object] = [None]

    def global_and_clock(self, sender, **named):  # type: ignore[no-untyped-def]
        # The design that skips the context variable while one thread runs: wrong under greenlets.
        sid = ids()
        outer = holder[0]
        record = [sid, outer, self, sender, named, "send", thread(), 0, 0]
        holder[0] = record
        record[7] = clock()
        responses = original_send(self, sender, **named)
        record[8] = clock()
        holder[0] = outer
        return responses

    original_live = vars(Signal)["_live_receivers"]

    def timing(record, receivers):  # type: ignore[no-untyped-def]
        times = record[1]
        for receiver in receivers:
            times.append(clock())
            yield receiver
        times.append(clock())

    def live_only(self, sender):  # type: ignore[no-untyped-def]
        # The design with one hook: no send hook, so no kwargs, no errors, no sends without receivers.
        sync, asynchronous = original_live(self, sender)
        if sync:
            sync = timing([ids(), [], self], sync)
        return sync, asynchronous

    def patched(hook, name="send"):  # type: ignore[no-untyped-def]
        original = vars(Signal)[name]

        def run() -> float:
            setattr(Signal, name, hook)
            try:
                return _time_sends(signal, model, group)
            finally:
                setattr(Signal, name, original)

        return run

    def listening() -> float:
        def listener(record: object) -> None:
            return None

        recorder.subscribe(listener)
        try:
            return _time_sends(signal, model, group)
        finally:
            recorder.unsubscribe(listener)

    def unpacked() -> float:
        real = recorder._pack
        recorder._pack = lambda record, path, details: ()
        tracer = Tracer().start()
        try:
            return _time_sends(signal, model, group)
        finally:
            recorder._pack = real
            tracer._sends.clear()
            tracer.stop()

    def traced() -> float:
        tracer = Tracer().start()
        try:
            return _time_sends(signal, model, group)
        finally:
            tracer.stop()

    runs = [lambda: _time_sends(signal, model, group), patched(passing), patched(context_and_clock),
            patched(global_and_clock), patched(live_only, "_live_receivers"), listening, unpacked, traced]  # fmt: skip
    steps = list(zip(PROFILE_STEPS, runs, strict=True))
    results: dict[str, list[float]] = {}
    for batch in range(batches + 1):
        for name, run in steps if batch % 2 else steps[::-1]:
            results.setdefault(f"step/{name}", []).append(run())
    # Packing one send's record, and its parts, on a record the recorder made.
    records: list[list[object]] = []
    recorder.subscribe(records.append)
    signal.send(sender=model, instance=group, created=False)
    recorder.unsubscribe(records.append)
    record = records[0]
    named = record[4]
    packing.pack(record, "bench:signal", ())
    numbers = 7 + len(record[11]) + len(record[18])  # one receiver: 10
    record[:3] = [1, 0, 2]  # plain numbers where the encoder wants them (the record is not packed again)
    scope = {"pack": packing.pack, "record": record, "named": named, "packing": packing, "model": model,
             "encode": __import__("struct").Struct(f"{numbers}Q").pack,
             "group": group, "MethodType": __import__("types").MethodType}  # fmt: skip
    parts = [
        ("pack one send (1 receiver)", "pack(record, 'bench:signal', ())"),
        ("  the sender's label", "packing._senders.get(id(model))"),
        ("  the kwargs' shape", "packing._shapes.get((*named, *map(type, named.values())))"),
        ("  the instance's label and pk", "kind = type(group); packing._models.get(id(kind)); group.pk"),
        ("  the numbers in one bytes object", "encode(*record[:3], 4, 5, 6, 2, *record[11], *record[18])"),
    ]
    for _batch in range(batches + 1):
        for name, statement in parts:
            number = 20_000
            best = min(timeit.repeat(statement, number=number, repeat=3, globals=scope, timer=time.process_time))
            best = best / number * 1e9
            results.setdefault(f"part/{name}", []).append(best)
    return {k: v[1:] for k, v in results.items()}


def print_profile(samples: dict[str, list[float]]) -> None:
    med = {key: statistics.median(values) for key, values in samples.items()}
    base = med["step/untraced"]
    print(f"\n{'step (send, class sender, 1 receiver)':<76} {'ns':>8} {'added':>8}")
    for name in PROFILE_STEPS:
        value = med[f"step/{name}"]
        print(f"{name:<76} {value:8.0f} {value - base:8.0f}")
    print(f"\n{'packing one send (tracing.packing.pack), and its parts':<76} {'ns':>8}")
    for key, value in med.items():
        if key.startswith("part/"):
            print(f"{key[5:]:<76} {value:8.0f}")


if __name__ == "__main__":
    main()

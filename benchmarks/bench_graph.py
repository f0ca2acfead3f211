"""Benchmark: build the dependency graph and write DOT and JSON for large generated registries.

    python benchmarks/bench_graph.py [--sizes 1000,5000,10000] [--repeat 3]

The registry is generated in memory (no Django): N receivers over N/10
models, on pre_save/post_save/pre_delete/post_delete and a custom signal,
with one effect per receiver writing another model (so cascades and
cycles exist). Prints seconds per stage, the best of `--repeat` runs, and
microseconds per receiver to show the slope. Goal (issue #4): graph + DOT
under 1 s at 10,000 receivers, linear in receivers.
Not a timed test: it asserts nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signalscope.graph.build import build_graph
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
from signalscope.render.graphdata import render_graph_json

S = "django.db.models.signals:"
SIGNALS = [S + "pre_save", S + "post_save", S + "pre_delete", S + "post_delete", "app_00.signals:thing_happened"]


def generate(receivers: int, seed: int = 1) -> CascadeMap:
    rng = random.Random(seed)
    n_models = max(receivers // 10, 2)
    apps = max(n_models // 10, 1)
    models = [f"app_{i % apps:02d}.Model{i:04d}" for i in range(n_models)]
    refs = tuple(ModelRef(label=m, module=f"{m.split('.')[0]}.models", name=m.split(".")[1]) for m in sorted(models))
    conns = []
    effects = []
    counts: dict[tuple[str, str], int] = {}
    for r in range(receivers):
        signal = SIGNALS[r % len(SIGNALS)]
        model = models[r % n_models]
        app = model.split(".")[0]
        path = f"{app}.receivers:handle_{r:05d}"
        position = counts.get((signal, model), 0)
        counts[(signal, model)] = position + 1
        conns.append(
            Connection(
                signal,
                SenderRef("model", model),
                position,
                ReceiverRef(path, f"{app}/receivers.py", 10 + r, "function"),
            )
        )
        target = models[rng.randrange(n_models)]
        effects.append(
            EffectRef(
                path,
                f"{app}/receivers.py",
                12 + r,
                "save",
                target,
                (S + "pre_save", S + "post_save"),
                f"{target.split('.')[1]}.objects.create()",
            )
        )
    registry = SignalMap(
        signalscope="bench",
        django="-",
        settings="bench.settings",
        settings_source="--settings",
        signals=tuple(SignalRef(p, p.split(":")[1], "model", "x:Signal", True) for p in sorted(SIGNALS)),
        connections=tuple(conns),
        apps=tuple(AppRef(f"app_{i:02d}", f"app_{i:02d}") for i in range(apps)),
    )
    return CascadeMap(registry=registry, models=refs, effects=tuple(effects))


def best(fn: object, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, best of {args.repeat}")
    print(
        f"{'receivers':>9} {'models':>6} {'nodes':>6} {'edges':>6} {'graph s':>8} {'dot s':>7} "
        f"{'json s':>7} {'graph+dot s':>11} {'us/receiver':>11}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        cmap = generate(size)
        t_graph, graph = best(lambda: build_graph(cmap), args.repeat)  # noqa: B023
        t_dot, _ = best(lambda: render_dot(graph), args.repeat)  # noqa: B023
        t_json, _ = best(lambda: render_graph_json(graph), args.repeat)  # noqa: B023
        total = t_graph + t_dot
        print(
            f"{size:>9} {len(cmap.models):>6} {graph.number_of_nodes():>6} {graph.number_of_edges():>6} "
            f"{t_graph:8.3f} {t_dot:7.3f} {t_json:7.3f} {total:11.3f} {total / size * 1e6:11.1f}"
        )
    print("\ngoal: graph + dot under 1 s at 10,000 receivers, and a flat us/receiver column (linear).")


if __name__ == "__main__":
    main()

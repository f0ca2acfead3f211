"""Benchmark: build the graph of (signal, sender) states and write DOT and JSON for large generated registries.

    python benchmarks/bench_graph.py [--sizes 1000,5000,10000] [--repeat 3]

The registry is generated in memory (no Django): N receivers over N/10
models, on pre_save/post_save/pre_delete/post_delete and a custom signal,
with one effect per receiver writing another model (so cascades and
cycles exist). Every 10th receiver is connected for three models and read
once per model (an effect per sender, as graph.effects reads it); every
20th effect is a delete, which cascades along the models' CASCADE
relations (graph.deletion: chains of up to four models); two any-sender
receivers per signal hear every state of their signal. (An any-sender
receiver is linked from each state of its signal, so the edges grow as
states times any-sender receivers: linear for a fixed number of those, as
here and in projects, where they are a handful whatever the size.)

Prints seconds per stage, the best of `--repeat` runs, and microseconds
per receiver; then, from the same run, each size's times over the
previous size's, next to the ratios of receivers and edges, which a
linear build keeps. "floor" copies the finished graph into a new networkx
graph: the least any build of it pays, and a yardstick for how much this
machine's cost per item grows with size by itself. Goal (issue #4):
graph + DOT under 1 s at 10,000 receivers, linear in receivers. Not a
timed test: it asserts nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import networkx as nx

from signalscope._gc import collection_paused
from signalscope.graph.build import build_graph, cascade_states, collapse_senders, cycle_edges, sender_node
from signalscope.graph.queries import walk_down
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
    # Model i + 1's rows go when model i's do (on_delete=CASCADE), in chains of four models.
    deletes: dict[str, list[tuple[str, str, str, bool]]] = {m: [] for m in models}
    for i in range(n_models - 1):
        if i % 4 != 3:
            deletes[models[i]].append((models[i + 1], "parent", "CASCADE", False))
    refs = tuple(
        ModelRef(label=m, module=f"{m.split('.')[0]}.models", name=m.split(".")[1], deletes=tuple(deletes[m]))
        for m in sorted(models)
    )
    conns = []
    effects = []
    counts: dict[tuple[str, str | None], int] = {}

    def connect(signal: str, sender: str | None, ref: ReceiverRef) -> None:
        position = counts.get((signal, sender), 0)
        counts[(signal, sender)] = position + 1
        kind = "any" if sender is None else "model"
        conns.append(Connection(signal, SenderRef(kind, sender), position, ref))

    for r in range(receivers):
        signal = SIGNALS[r % len(SIGNALS)]
        model = models[r % n_models]
        app = model.split(".")[0]
        path = f"{app}.receivers:handle_{r:05d}"
        ref = ReceiverRef(path, f"{app}/receivers.py", 10 + r, "function")
        if r < 2 * len(SIGNALS):  # two any-sender receivers per signal: linked from every state of it
            connect(signal, None, ref)
            senders: list[str | None] = [None]
        elif r % 10 == 9:  # connected for three models, read once per model
            senders = [model, models[(r + 1) % n_models], models[(r + 2) % n_models]]
            for sender in senders:
                connect(signal, sender, ref)
        else:
            connect(signal, model, ref)
            senders = [model]
        for sender in senders:
            target = models[rng.randrange(n_models)]
            name = target.split(".")[1]
            if r % 20 == 19:
                kind, sent, text = "delete", (S + "pre_delete", S + "post_delete"), f"{name}.objects.filter().delete()"
            else:
                kind, sent, text = "save", (S + "pre_save", S + "post_save"), f"{name}.objects.create()"
            effects.append(
                EffectRef(
                    path,
                    f"{app}/receivers.py",
                    12 + r,
                    kind,
                    target,
                    sent,
                    text,
                    sender=sender if len(senders) > 1 else None,
                    condition="created" if r % 3 == 0 else None,
                    is_after_commit=r % 7 == 0,
                )
            )
    registry = SignalMap(
        signalscope="bench",
        django="-",
        settings="bench.settings",
        settings_source="--settings",
        signals=tuple(SignalRef(p, p.split(":")[1], "model", "x:Signal", True) for p in sorted(SIGNALS)),
        connections=tuple(sorted(conns, key=lambda c: (c.signal, c.sender.kind, c.sender.label or "", c.position))),
        apps=tuple(AppRef(f"app_{i:02d}", f"app_{i:02d}") for i in range(apps)),
    )
    return CascadeMap(registry=registry, models=refs, effects=tuple(sorted(effects)))


def best(fn: object, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times), result


def floor(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The same nodes and edges put into a new networkx graph: what any build of this graph pays at least."""
    copy = nx.MultiDiGraph()
    copy.add_nodes_from(graph.nodes(data=True))
    copy.add_edges_from(graph.edges(keys=True, data=True))
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, networkx {nx.__version__}, best of {args.repeat}")
    print(
        f"{'receivers':>9} {'models':>6} {'states':>6} {'nodes':>6} {'edges':>6} {'graph s':>8} {'dot s':>7} "
        f"{'json s':>7} {'cycles s':>8} {'walk s':>7} {'collapse s':>10} {'floor s':>8} {'graph+dot s':>11} "
        f"{'us/receiver':>11}"
    )
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        cmap = generate(size)
        t_graph, graph = best(lambda: build_graph(cmap), args.repeat)  # noqa: B023
        t_dot, _ = best(lambda: render_dot(graph), args.repeat)  # noqa: B023
        t_json, _ = best(lambda: render_graph_json(graph), args.repeat)  # noqa: B023
        t_cycles, _ = best(lambda: cycle_edges(cascade_states(cmap)), args.repeat)  # noqa: B023
        # What `graph --model` walks: everything one model's writes set off (here, most of the graph).
        start = sender_node(cmap.models[0].label)
        t_walk, (reached, _edges) = best(lambda: walk_down(graph, start), args.repeat)  # noqa: B023
        t_collapse, _ = best(lambda: collapse_senders(graph), args.repeat)  # noqa: B023
        with collection_paused():  # as build_graph does
            t_floor, _ = best(lambda: floor(graph), args.repeat)  # noqa: B023
        states = sum(1 for _n, kind in graph.nodes(data="kind") if kind == "state")
        total = t_graph + t_dot
        rows.append((size, graph.number_of_edges(), total, t_graph, t_walk, t_floor))
        print(
            f"{size:>9} {len(cmap.models):>6} {states:>6} {graph.number_of_nodes():>6} {graph.number_of_edges():>6} "
            f"{t_graph:8.3f} {t_dot:7.3f} {t_json:7.3f} {t_cycles:8.3f} {t_walk:7.3f} {t_collapse:10.3f} "
            f"{t_floor:8.3f} {total:11.3f} {total / size * 1e6:11.1f}"
        )
        print(f"{'':>9} (the walk from {start} reached {len(reached)} nodes)")
    print("\nratios in this run, each size against the previous one (linear: time ratio = receivers ratio):")
    print(
        f"{'receivers':>9} {'x receivers':>11} {'x edges':>8} {'x graph+dot':>11} {'x graph':>8} {'x walk':>7} "
        f"{'x floor':>8}"
    )
    for now, then in zip(rows[1:], rows, strict=False):
        (size, edges, total, t_graph, t_walk, t_floor), (size0, edges0, total0, t_graph0, t_walk0, t_floor0) = now, then
        print(
            f"{size:>9} {size / size0:11.2f} {edges / edges0:8.2f} {total / total0:11.2f} {t_graph / t_graph0:8.2f} "
            f"{t_walk / t_walk0:7.2f} {t_floor / t_floor0:8.2f}"
        )
    print("\ngoal: graph + dot under 1 s at 10,000 receivers, and a flat us/receiver column (linear).")


if __name__ == "__main__":
    main()

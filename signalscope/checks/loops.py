"""SS005's loops: each cascade cycle whose every write can run again on the next pass, once, with its whole path.

The cascade's state graph (graph.build.cascade_states) links (signal,
sender) states by the receivers' writes; a cycle of it is a loop only if
every write on the way runs again when the loop comes round. Whether a
write runs is its condition (EffectRef.condition) on what the step before
sends (graph.impact.evaluate, three-valued): a create sends post_save with
``created=True``; a save, ``created=False`` (a loop saves rows that exist:
the first pass made them; a new object saved in place, ``Model(...).save()``,
and update_or_create may be either), with its literal ``update_fields``;
every write from code ``raw=False``. So ``if created:`` around the write of
a User -> Profile -> User sync ends it on the second pass. A condition that
can't be decided (None) does not stop a loop.

Each loop is reported once, rotated to start at its smallest state, so the
step that closes it is the one back into that state. Every write that can
loop is on one reported loop: the shortest through it, unless a loop
reported before already holds it (so the number of loops reported stays
within the number of writes, however many cycles the graph has).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..graph.arguments import sent_with
from ..graph.build import cascade_states, cycle_edges
from ..graph.impact import evaluate
from ..model.cascade import CascadeMap, EffectRef

__all__ = ["Loop", "Step", "can_run", "find_loops"]

State = tuple[str, str | None]  # (signal path, sender label or None for an unknown sender)


@dataclass(frozen=True, slots=True)
class Step:
    """One write of a loop: `receiver` runs on `before` and its `effect` sends `after`."""

    before: State
    after: State
    receiver: str
    effect: EffectRef


@dataclass(frozen=True, slots=True)
class Loop:
    """A loop of the cascade: `states` in order, and at each place the steps that make it.

    ``steps[t]`` go from ``states[t]`` to the next state (the last ones back
    to ``states[0]``: they close the loop), each on some pass of the loop on
    which every write can run; sorted by file and line.
    """

    states: tuple[State, ...]
    steps: tuple[tuple[Step, ...], ...]


def state_key(state: State) -> tuple[str, str]:
    """Sort key of a state: by sender label (an unknown sender first), then signal."""
    return (state[1] or "", state[0])


def _step_key(step: Step) -> tuple[Any, ...]:
    e = step.effect
    return (state_key(step.before), state_key(step.after), e.file or "~", e.line, step.receiver, e.step, e.text)


def _closing_key(step: Step) -> tuple[Any, ...]:
    return (step.effect.file or "~", step.effect.line, step.receiver, step.effect.step, step.effect.text)


def can_run(effect: EffectRef, sends: Sequence[Mapping[str, Any]]) -> bool:
    """Return whether `effect` may run when its receiver hears a send made with one of `sends`' arguments."""
    if effect.condition is None:
        return True
    return any(evaluate(effect.condition, args) is not False for args in sends)


def find_loops(cmap: CascadeMap) -> list[Loop]:
    """Return the loops of `cmap`'s cascade whose every write can run again, each once, sorted by their states."""
    states = cascade_states(cmap)
    steps = sorted(
        (
            Step(a, b, receiver, effect)
            for a, b in cycle_edges(states)
            for receiver, effect in states.edges[a, b]["effects"]
        ),
        key=_step_key,
    )
    leaving: dict[State, list[int]] = defaultdict(list)
    for index, step in enumerate(steps):
        leaving[step.before].append(index)
    # Which step can follow which: the next write runs on what this one sends.
    follows: list[set[int]] = []
    for step in steps:
        sends = sent_with(step.effect, step.after[0])
        follows.append({j for j in leaving[step.after] if can_run(steps[j].effect, sends)})

    component = _components(follows)
    by_pair: dict[tuple[State, State], list[int]] = defaultdict(list)
    for index, step in enumerate(steps):
        by_pair[(step.before, step.after)].append(index)

    covered: set[int] = set()
    seen: set[tuple[State, ...]] = set()
    loops = []
    for index in range(len(steps)):
        if index in covered:
            continue
        cycle = _shortest_cycle(index, follows, component)
        if cycle is None:
            continue
        ring = _rotated([steps[i].before for i in cycle])
        if ring in seen:
            covered.update(cycle)
            continue
        seen.add(ring)
        places = [by_pair[(ring[t], ring[(t + 1) % len(ring)])] for t in range(len(ring))]
        taking = _on_some_pass(places, follows)
        for found in taking:
            covered.update(found)
        loops.append(Loop(ring, tuple(tuple(sorted((steps[i] for i in found), key=_closing_key)) for found in taking)))
    return sorted(loops, key=lambda loop: [state_key(s) for s in loop.states])


def _components(follows: list[set[int]]) -> list[int]:
    """Return each step's strongly connected component, -1 for a step on no cycle."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(follows)))
    graph.add_edges_from((i, j) for i, nexts in enumerate(follows) for j in nexts)
    component = [-1] * len(follows)
    for number, members in enumerate(nx.strongly_connected_components(graph)):
        if len(members) > 1 or any(i in follows[i] for i in members):
            for i in members:
                component[i] = number
    return component


def _shortest_cycle(start: int, follows: list[set[int]], component: list[int]) -> list[int] | None:
    """Return the shortest cycle of steps from `start` back to it (breadth first), or None when it loops not."""
    if component[start] < 0:
        return None
    parent: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        at = queue.popleft()
        for nxt in sorted(follows[at]):
            if component[nxt] != component[start]:
                continue
            if nxt == start:
                path = [at]
                while (up := parent[path[-1]]) is not None:
                    path.append(up)
                return path[::-1]
            if nxt not in parent:
                parent[nxt] = at
                queue.append(nxt)
    return None


def _rotated(ring: list[State]) -> tuple[State, ...]:
    """Return `ring` rotated to its smallest form: the loop starts at its smallest state."""
    turns = [ring[i:] + ring[:i] for i in range(len(ring))]
    return tuple(min(turns, key=lambda turn: [state_key(s) for s in turn]))


def _on_some_pass(places: list[list[int]], follows: list[set[int]]) -> list[set[int]]:
    """Return, at each place of a loop, the steps on some pass round it on which each step can follow the last."""
    size = len(places)
    taking: list[set[int]] = [set() for _ in range(size)]
    for first in places[0]:
        forward = [{first}]
        for t in range(1, size):
            forward.append({j for j in places[t] if any(j in follows[i] for i in forward[-1])})
        last = {i for i in forward[-1] if first in follows[i]}
        if not last:
            continue
        back = [set[int]() for _ in range(size)]
        back[-1] = last
        for t in range(size - 2, -1, -1):
            back[t] = {i for i in forward[t] if follows[i] & back[t + 1]}
        for t in range(size):
            taking[t] |= back[t]
    return taking

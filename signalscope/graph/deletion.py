"""What deleting a model's rows sends, in Django's order: its Collector, replayed on the models' relations.

``Model.delete()`` and ``QuerySet.delete()`` hand the rows to
``django.db.models.deletion.Collector``, which (Django 4.2 to 6.x alike):

1. collects the rows, depth first: the rows' multi-table parents (deleted
   after them), then each reverse relation in ``Options.get_fields`` order:
   ``CASCADE`` collects the related rows in turn, ``PROTECT`` raises
   ProtectedError, ``RESTRICT`` raises RestrictedError unless the rows are
   also collected through a cascade, ``SET_NULL``/``SET_DEFAULT``/``SET()``
   queue an UPDATE, ``DO_NOTHING`` is skipped; a related model that nobody
   listens to and that cascades nowhere is "fast deleted", with no signal;
2. sorts the collected models so that each comes before the models it
   depends on (the dependents, which hold the foreign keys, first);
3. sends ``pre_delete`` for every collected row, in that order, then runs the
   updates and deletes and sends ``post_delete`` in the same order. No signal
   is sent for an automatic many-to-many through model.

Everything raised in step 1 happens before any signal is sent. The replay
knows models, not rows: a related model's signals are sent only when rows
refer to the deleted one, which is written as the condition of its sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model.cascade import ModelRef

__all__ = ["DELETE_SIGNALS", "PARENT_OF", "Deletion", "DeletionIndex", "collect"]

#: How `Deletion.why` ends for a multi-table parent: "blog.BlogPage (its parent)", the child it is deleted with.
PARENT_OF = " (its parent)"

_SIGNALS = "django.db.models.signals:"
DELETE_SIGNALS = (_SIGNALS + "pre_delete", _SIGNALS + "post_delete")

_UPDATES = frozenset(("SET_NULL", "SET_DEFAULT", "SET"))


@dataclass(frozen=True, slots=True)
class Deletion:
    """What deleting rows of `model` does, as Django's Collector would.

    ``models`` are the collected models in the order their pre_delete (and
    then post_delete) are sent, the deleted model included; ``why`` maps a
    cascaded model to the relation that collects it, as ``"store.Order.user"``;
    ``stops`` are the PROTECT/RESTRICT relations that make the delete raise
    first when a row refers to the object, as (model, field, on_delete);
    ``updates`` the SET_NULL/SET_DEFAULT/SET relations, updated without a
    signal, as (model, field, on_delete); ``fast`` the related models
    deleted in one query with no signal (nobody listens to them), as
    (model, the relation).
    """

    model: str
    models: tuple[str, ...]
    why: dict[str, str]
    stops: tuple[tuple[str, str, str], ...]
    updates: tuple[tuple[str, str, str], ...]
    fast: tuple[tuple[str, str], ...] = ()  # (model, why) deleted in one query, with no signal

    def sends(self) -> list[tuple[str, str]]:
        """Return the (signal, sender) pairs the delete sends, in order: every pre_delete, then every post_delete."""
        return [(signal, label) for signal in DELETE_SIGNALS for label in self.models]


class DeletionIndex:
    """The models' relations, and who listens to their delete signals: what `collect` needs, made once."""

    def __init__(self, models: tuple[ModelRef, ...], is_listened: Callable[[str], bool]) -> None:
        self.models = {m.label: m for m in models}
        self.is_listened = is_listened
        self._cache: dict[str, Deletion] = {}

    def deletion(self, model: str) -> Deletion:
        """Return what deleting rows of `model` does (cached)."""
        found = self._cache.get(model)
        if found is None:
            found = self._cache[model] = collect(model, self)
        return found

    def can_fast_delete(self, label: str) -> bool:
        """Return whether the Collector deletes `label`'s rows in one query, with no signal (can_fast_delete)."""
        ref = self.models.get(label)
        if ref is None or self.is_listened(label):
            return False
        if ref.generic or ref.parents:
            # Collector: every parent link must be the field the delete came through; the replay
            # does not know which field that is, so a model with parents is collected.
            return False
        return all(on_delete == "DO_NOTHING" for _m, _f, on_delete, _n in ref.deletes)


def collect(model: str, index: DeletionIndex) -> Deletion:
    """Replay Django's Collector for deleting rows of `model`; return the models in the order it sends their signals."""
    data: list[str] = []  # collected models, in the order they were added (Collector.data's keys)
    dependencies: dict[str, set[str]] = {}  # model -> the models to delete before it
    why: dict[str, str] = {}
    stops: list[tuple[str, str, str]] = []
    updates: list[tuple[str, str, str]] = []
    fast: list[tuple[str, str]] = []
    # The Collector recurses; the replay keeps its own stack, in the same depth-first order.
    # Each entry: (model, source model, nullable, collect_related, reverse_dependency, reason).
    todo: list[tuple[str, str | None, bool, bool, bool, str | None]] = [(model, None, False, True, False, None)]
    while todo:
        label, source, nullable, collect_related, reverse, reason = todo.pop()
        if label in data:
            continue  # Collector.add: rows collected already add nothing, and collect stops there
        if source is not None and not reverse and index.can_fast_delete(label):
            # Collector.collect starts with it: rows nobody listens to that cascade nowhere go in one query.
            if (label, reason or "") not in fast:
                fast.append((label, reason or ""))
            continue
        data.append(label)
        if reason is not None:
            why[label] = reason
        if source is not None and not nullable:
            first, then = (label, source) if reverse else (source, label)
            dependencies.setdefault(first, set()).add(then)
        ref = index.models.get(label)
        if ref is None:
            continue
        later: list[tuple[str, str | None, bool, bool, bool, str | None]] = []
        for parent in ref.parents:
            later.append((parent, label, False, False, True, f"{label}{PARENT_OF}"))
        if collect_related:
            for related, field, on_delete, null in ref.deletes:
                if on_delete == "DO_NOTHING":
                    continue
                if on_delete == "CASCADE" and index.can_fast_delete(related):
                    if (related, f"{related}.{field}") not in fast:  # one DELETE query, no signal
                        fast.append((related, f"{related}.{field}"))
                    continue
                if on_delete == "CASCADE":
                    later.append((related, label, null, True, False, f"{related}.{field}"))
                elif on_delete in ("PROTECT", "RESTRICT"):
                    stops.append((related, field, on_delete))
                elif on_delete in _UPDATES:
                    updates.append((related, field, on_delete))
            for related in ref.generic:
                later.append((related, label, True, True, False, f"{related} (a GenericRelation)"))
        todo.extend(reversed(later))
    # RESTRICT only stops the delete when the rows are not collected through a cascade too.
    stops = [s for s in stops if s[2] == "PROTECT" or s[0] not in data]
    ordered = _sort(data, dependencies)
    sent = tuple(m for m in ordered if not (index.models.get(m) and index.models[m].is_auto_created))
    quiet = tuple(
        f for f in fast if f[0] not in data and not (index.models.get(f[0]) and index.models[f[0]].is_auto_created)
    )
    return Deletion(model=model, models=sent, why=why, stops=tuple(stops), updates=tuple(updates), fast=quiet)


def _sort(data: list[str], dependencies: dict[str, set[str]]) -> list[str]:
    """Order `data` as Collector.sort does: each model once those it depends on are placed; kept on a cycle."""
    placed: list[str] = []
    done: set[str] = set()
    while len(placed) < len(data):
        found = False
        for label in data:
            if label in done:
                continue
            if not (dependencies.get(label, set()) - done):
                placed.append(label)
                done.add(label)
                found = True
        if not found:
            return data
    return placed

"""Every schema id signalscope writes, with its history: the one place a version is bumped.

A file's ``"schema"`` number changes whenever a field is renamed, removed or
changes meaning (adding a field a reader may ignore does not bump it). Each
writer imports its number from here, and its history is told in SCHEMAS.
"""

from __future__ import annotations

__all__ = ["CASCADE", "CHECK", "DIFF", "GRAPH", "IMPACT", "PYTEST_TRACE", "REGISTRY", "SCHEMAS", "SNAPSHOT", "TRACE"]

#: `signalscope list --json`: the registry (model.to_dict, model.dumps).
REGISTRY = 1
#: The registry plus the models and what receivers write (model.cascade.cascade_to_dict).
CASCADE = 2
#: `signalscope impact --format json`: one model action's impact tree.
IMPACT = 2
#: `signalscope graph --format json`: networkx node-link data of the dependency graph.
GRAPH = 2
#: `signalscope trace`: the trace JSON, each JSON line's events, and the Chrome format's ``otherData``.
TRACE = 2
#: `signalscope snapshot`: the wiring file `signalscope diff` compares.
SNAPSHOT = 1
#: `signalscope check --format json`: the findings.
CHECK = 1
#: `signalscope diff --json`: the changes between two snapshots.
DIFF = 1
#: The pytest plugin's ``--signalscope-report`` file: every test's trace events, by phase.
PYTEST_TRACE = 1

#: Every schema: name -> (current version, its history, oldest first).
SCHEMAS: dict[str, tuple[int, str]] = {
    "registry": (REGISTRY, "1: first release (0.1); load_steps and user_model added (0.2)"),
    "cascade": (
        CASCADE,
        "1: first release (0.1); 2: each model's deletes, parents, generic relations, managers and "
        "is_auto_created; each effect's sender, condition and is_after_commit; unread receivers (0.2)",
    ),
    "impact": (
        IMPACT,
        "1: first release (0.1); 2: each node's condition, is_after_commit, effect and model; the kinds stop, "
        "update, skipped and field; "
        "delete in Django's Collector order; actions m2m-add/-remove/-clear and "
        "bulk_create; the impact of a signal (0.2)",
    ),
    "graph": (
        GRAPH,
        "1: first release (0.1); 2: nodes are (signal, sender) states (kind state: signal, name, sender, "
        "in_cycle) instead of one node per signal; connected edges carry their order in the state; effect "
        "edges carry the sender they hold for (None: every sender), the model they write (model, was sender), "
        "condition and is_after_commit; receivers carry not_read (why their code was not read); a delete sends in "
        "Django's Collector order (0.2)",
    ),
    "trace": (
        TRACE,
        "1: first release (0.1); 2: processes and notes, and each event's process, details and label; "
        "group events (request, test, setup) (0.2)",
    ),
    "snapshot": (SNAPSHOT, "1: first release (0.1)"),
    "check": (CHECK, "1: first release (0.1)"),
    "diff": (DIFF, "1: first release (0.1)"),
    "pytest_trace": (
        PYTEST_TRACE,
        "1: first release (0.1); its events are those of the trace schema (its fields of schema 2 from 0.2)",
    ),
}

"""Records of what a Session call answers, when no other record holds it: impact, the report's data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import SignalMap
from .cascade import ImpactNode
from .check import Finding
from .trace import TraceExcerpt, TraceLog

__all__ = ["Impact", "ReportData"]


@dataclass(frozen=True, slots=True)
class Impact:
    """What runs, in order, when `action` is done to `model`: `impact`'s answer."""

    action: str  # one of graph.impact.ACTIONS, or "send" for a signal's impact
    model: str | None  # the model's label as the project spells it (for "send": the sender, None for any)
    tree: ImpactNode
    signal: str | None = None  # for "send": the signal's path


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything `report` shows, gathered from one scan of the project."""

    registry: SignalMap
    graph: Any  # the dependency graph (a networkx MultiDiGraph)
    findings: tuple[Finding, ...]
    sources: dict[str, str]  # receiver path -> its function's source, first decorator to last line
    impacts: dict[str, dict[str, ImpactNode]]  # model -> action -> tree
    log: TraceLog | TraceExcerpt | None = field(default=None)  # a trace's excerpt: what the report shows

"""Describe the installed models' relations as plain ModelRef records (for the cascade scan)."""

from __future__ import annotations

from typing import Any

from ..model.cascade import ModelRef

__all__ = ["scan_models"]


def scan_models() -> tuple[ModelRef, ...]:
    """Return a ModelRef for every installed model (auto-created through models included).

    `relations` maps an instance attribute to the single related instance it
    holds (forward ForeignKey and OneToOne, reverse OneToOne); `m2m` maps a
    many-to-many attribute (either side) to its through model; `cascades`
    lists the models whose rows are deleted with this one's
    (``on_delete=CASCADE``).
    """
    from django.apps import apps
    from django.db.models import CASCADE

    result = []
    for model in apps.get_models(include_auto_created=True):
        relations: list[tuple[str, str]] = []
        m2m: list[tuple[str, str]] = []
        cascades: set[str] = set()
        field: Any
        for field in model._meta.get_fields():
            related = getattr(field, "related_model", None)
            if not getattr(field, "is_relation", False) or related is None or isinstance(related, str):
                continue
            label = related._meta.label
            concrete = not field.auto_created or field.concrete
            attr = field.name if concrete else _accessor(field)
            if attr is None:
                continue
            if field.many_to_many:
                through = field.remote_field.through if concrete else field.through
                if through is not None and not isinstance(through, str):
                    m2m.append((attr, through._meta.label))
            elif field.many_to_one or field.one_to_one:
                relations.append((attr, label))
            if not concrete and getattr(field, "on_delete", None) is CASCADE:
                cascades.add(label)
        result.append(
            ModelRef(
                label=model._meta.label,
                module=model.__module__,
                name=model.__name__,
                relations=tuple(sorted(relations)),
                m2m=tuple(sorted(m2m)),
                cascades=tuple(sorted(cascades)),
            )
        )
    return tuple(sorted(result))


def _accessor(field: Any) -> str | None:
    try:
        name = field.get_accessor_name()
    except AttributeError:
        return None
    # A related_name ending in "+" hides the reverse accessor.
    return None if not name or name.endswith("+") else str(name)

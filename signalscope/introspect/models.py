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
    models = apps.get_models(include_auto_created=True)
    for model in models:
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
                deletes=_deletes(model),
                parents=_parents(model),
                generic=tuple(
                    f.related_model._meta.label
                    for f in model._meta.private_fields
                    if hasattr(f, "bulk_related_objects") and isinstance(getattr(f, "related_model", None), type)
                ),
                managers=_managers(model),
                is_auto_created=bool(model._meta.auto_created),
            )
        )
    return tuple(sorted(result))


def _parents(model: Any) -> tuple[str, ...]:
    concrete = model._meta.concrete_model or model
    return tuple(parent._meta.label for parent, link in concrete._meta.parents.items() if link)


def _deletes(model: Any) -> tuple[tuple[str, str, str, bool], ...]:
    """The reverse relations Django's Collector follows on delete, in its order (deletion's
    get_candidate_relations_to_delete: hidden ones included)."""
    found = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_one or rel.one_to_many)):
            continue
        related: Any = getattr(rel, "related_model", None)
        if not isinstance(related, type):
            continue
        on_delete = rel.field.remote_field.on_delete
        module = getattr(on_delete, "__module__", "")
        name = getattr(on_delete, "__qualname__", repr(on_delete))
        if module == "django.db.models.deletion":
            # SET(value) returns a local function ("SET.<locals>.set_on_delete").
            name = "SET" if name.startswith("SET.") else name
        else:
            name = f"{module}:{name}"
        label: str = getattr(related, "_meta").label  # noqa: B009 - isinstance narrowed it to a bare type
        found.append((label, rel.field.name, name, bool(rel.field.null)))
    return tuple(found)


def _managers(model: Any) -> tuple[tuple[str, str, str], ...]:
    """The managers reachable by attribute: Options.managers, and class attributes that hold another
    model's manager class (simple-history's HistoryDescriptor), read without running any descriptor."""
    found = {}
    for manager in model._meta.managers:
        cls = type(manager)
        found[manager.name] = (manager.name, model._meta.label, f"{cls.__module__}:{cls.__qualname__}")
    for klass in reversed(model.__mro__):
        for attr, value in vars(klass).items():
            if attr in found or attr.startswith("__"):
                continue
            try:
                fields = vars(value)
            except TypeError:
                continue
            target, manager_class = fields.get("model"), fields.get("manager_class")
            meta = getattr(target, "_meta", None) if isinstance(target, type) else None
            if meta is None or not isinstance(manager_class, type) or target is model:
                continue
            found[attr] = (attr, meta.label, f"{manager_class.__module__}:{manager_class.__qualname__}")
    return tuple(sorted(found.values()))


def _accessor(field: Any) -> str | None:
    try:
        name = field.get_accessor_name()
    except AttributeError:
        return None
    # A related_name ending in "+" hides the reverse accessor.
    return None if not name or name.endswith("+") else str(name)

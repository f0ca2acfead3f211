"""What of a set-up process is the project's own: its imported modules, its apps, its user model."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..loader import Project
    from ..model.cascade import ModelRef

__all__ = ["ProjectApp", "project_apps", "project_modules", "user_model_label"]


@dataclass(frozen=True, slots=True, order=True)
class ProjectApp:
    """An installed app whose code is the project's own (not an installed package)."""

    label: str
    module: str  # "billing"
    config: str  # "billing.apps.BillingConfig"
    config_file: str | None  # "billing/apps.py", relative as Project.relpath gives it
    folder: Path  # the package's folder
    root: Path  # the sys.path entry it is imported from


def project_modules(project: Project) -> dict[str, str]:
    """Return the project's own modules imported in this process: name -> file.

    Only what is already imported: nothing is imported here.
    """
    modules = {}
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if filename and project.is_project_file(filename):
            modules[name] = filename
    return modules


def project_apps(project: Project) -> list[ProjectApp]:
    """Return the installed apps whose package is the project's own, in INSTALLED_APPS order."""
    from django.apps import apps

    found = []
    for config in apps.get_app_configs():
        module = sys.modules.get(config.name)
        filename = getattr(module, "__file__", None)
        if not filename or not project.is_project_file(filename):
            continue
        folder = Path(config.path)
        config_module = sys.modules.get(type(config).__module__)
        found.append(
            ProjectApp(
                label=config.label,
                module=config.name,
                config=f"{type(config).__module__}.{type(config).__qualname__}",
                config_file=project.relpath(getattr(config_module, "__file__", None)),
                folder=folder,
                root=folder.parents[config.name.count(".")],
            )
        )
    return found


def user_model_label(models: tuple[ModelRef, ...]) -> str | None:
    """Return settings.AUTH_USER_MODEL spelled as the model's label ("auth.User"), or None without one."""
    from django.conf import settings

    user_model = str(getattr(settings, "AUTH_USER_MODEL", "")) or None
    if user_model:
        user_model = next((m.label for m in models if m.label.lower() == user_model.lower()), user_model)
    return user_model

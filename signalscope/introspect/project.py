"""What of a set-up process is the project's own: its imported modules, its apps, its user model."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..loader import Project
    from ..model.cascade import ModelRef

__all__ = [
    "READ_CHOICES",
    "ProjectApp",
    "model_settings",
    "project_apps",
    "project_modules",
    "readable_modules",
    "user_model_label",
]

#: What `signalscope impact`/`graph` read of receivers' code (``--read``): the project's own modules,
#: installed packages' too (the default), or Django's own as well.
READ_CHOICES = ("project", "site-packages", "all")


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


def readable_modules(project: Project, read: str = "site-packages") -> tuple[dict[str, str], dict[str, str]]:
    """Return the imported modules whose code may be read (name -> file), and those left out (name -> why).

    `read` is one of READ_CHOICES. Never read: the standard library, and
    modules with no Python source (compiled, built in); Django itself only
    with "all"; installed packages unless "project". Only what is already
    imported: nothing is imported here.
    """
    import sysconfig

    stdlib = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    readable: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str) or not filename:
            left_out[name] = "no Python source (built in, or a namespace package)"
            continue
        if project.is_project_file(filename):
            readable[name] = filename
            continue
        real = os.path.realpath(filename)
        if not filename.endswith(".py"):
            left_out[name] = "compiled code: no Python source"
        elif any(real.startswith(folder + os.sep) for folder in stdlib) and not _in_site_packages(real):
            left_out[name] = "the standard library"
        elif name == "django" or name.startswith("django."):
            if read == "all":
                readable[name] = filename
            else:
                left_out[name] = "Django's own code (read it with --read all)"
        elif read == "project":
            left_out[name] = "an installed package (read it with --read site-packages)"
        else:
            readable[name] = filename
    return readable, left_out


def _in_site_packages(path: str) -> bool:
    return any(part in ("site-packages", "dist-packages") for part in Path(path).parts)


def model_settings(models: tuple[ModelRef, ...]) -> dict[str, str]:
    """Return the settings that hold an installed model's label ("AUDITLOG_LOGENTRY_MODEL": "auditlog.LogEntry").

    Only such values are kept: no other setting's value leaves this function.
    """
    from django.conf import settings

    labels = {m.label.lower(): m.label for m in models}
    found = {}
    for name in dir(settings):
        if not name.isupper():
            continue
        try:
            value = getattr(settings, name)
        except Exception:  # a setting that can't be read holds no label
            continue
        if isinstance(value, str) and value.lower() in labels:
            found[name] = labels[value.lower()]
    return found


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

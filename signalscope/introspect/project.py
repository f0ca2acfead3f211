"""What of a set-up process is the project's own: its imported modules, its apps, its user model."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
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
    "module_locator",
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
    stdlib = _stdlib_folders()
    readable: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str) or not filename:
            left_out[name] = "no Python source (built in, or a namespace package)"
            continue
        why = _why_not_read(project, name, filename, read, stdlib)
        if why is None:
            readable[name] = filename
        else:
            left_out[name] = why
    return readable, left_out


def module_locator(project: Project, read: str = "site-packages") -> Callable[[str], str | None]:
    """Return a function giving the file of a module not imported yet (a function-level import), if it may be read.

    The file is looked for in its package's ``__path__``, with the package
    imported already: nothing is imported or run.
    """
    stdlib = _stdlib_folders()

    def locate(name: str) -> str | None:
        parent, _, leaf = name.rpartition(".")
        paths = getattr(sys.modules.get(parent), "__path__", None) if parent else None
        if not paths:
            return None
        for folder in list(paths):
            for candidate in (os.path.join(folder, leaf + ".py"), os.path.join(folder, leaf, "__init__.py")):
                if os.path.isfile(candidate):
                    return candidate if _why_not_read(project, name, candidate, read, stdlib) is None else None
        return None

    return locate


def _stdlib_folders() -> set[str]:
    import sysconfig

    return {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}


def _why_not_read(project: Project, name: str, filename: str, read: str, stdlib: set[str]) -> str | None:
    """Return why module `name` at `filename` is not read under `read`, or None when it is."""
    if project.is_project_file(filename):
        return None
    real = os.path.realpath(filename)
    if not filename.endswith(".py"):
        return "compiled code: no Python source"
    if any(real.startswith(folder + os.sep) for folder in stdlib) and not _in_site_packages(real):
        return "the standard library"
    if name == "django" or name.startswith("django."):
        return None if read == "all" else "Django's own code (read it with --read all)"
    if read == "project":
        return "an installed package (read it with --read site-packages)"
    return None


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

"""Find a Django project's settings, put it on sys.path and set it up, as manage.py and its server would."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ast
    from types import TracebackType

from .errors import RERUN_FOR_TRACEBACK, ProjectLoadError, SettingsNotFound, UsageError

__all__ = [
    "DEFAULT_APPLICATION",
    "LOAD_STEPS",
    "Project",
    "find_manage_py",
    "find_user_frame",
    "load_application",
    "load_project",
    "relative_to_sys_path",
    "settings_from_manage_py",
]

SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"

#: What `load_project` did, in order, as `Project.load_steps` names it (and ``list --json``'s ``load_steps``).
LOAD_STEPS = ("setup", "urls", "application")
#: The application loaded when the settings name none: what runserver serves then.
DEFAULT_APPLICATION = "django.core.wsgi.get_wsgi_application()"


@dataclass(slots=True)
class Project:
    """A Django project set up in this process (one per process: setup can't be undone)."""

    settings_module: str
    settings_source: str  # "--settings", "DJANGO_SETTINGS_MODULE" or "manage.py"
    root: Path | None  # the folder holding manage.py, when there is one
    added_paths: tuple[Path, ...]  # what was put on sys.path, in order
    urls_loaded: bool
    django_version: str
    search_roots: tuple[str, ...] = field(default=())  # for relative file names
    #: The server's application loaded: "shop.wsgi.application (WSGI_APPLICATION)", or DEFAULT_APPLICATION;
    #: None when it was not loaded.
    application: str | None = None
    _relpaths: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)
    # The application object, kept alive as its server keeps it: receivers bound weakly to its
    # middleware instances would otherwise die as soon as it was built.
    _application: Any = field(default=None, repr=False, compare=False)

    @property
    def load_steps(self) -> tuple[str, ...]:
        """Return the steps of LOAD_STEPS that ran: "setup", then "urls" and "application" when they did."""
        done = {"setup": True, "urls": self.urls_loaded, "application": self.application is not None}
        return tuple(step for step in LOAD_STEPS if done[step])

    def relpath(self, filename: str | None) -> str | None:
        """Return `filename` relative to the sys.path entry holding it, POSIX style.

        Project files come out as "accounts/signals.py", Django's as
        "django/db/__init__.py": the same on every machine. A file outside
        every entry keeps its absolute path.
        """
        if filename is None:
            return None
        try:
            return self._relpaths[filename]
        except KeyError:
            result = self._relpaths[filename] = _relpath(filename, self.search_roots)
            return result

    def is_project_file(self, filename: str | None) -> bool:
        """Return whether `filename` is the project's own: under its folders, not an installed package."""
        if not filename:
            return False
        path = os.path.abspath(filename)
        return any(_is_under(path, str(d)) for d in self.added_paths) and not any(
            _is_under(path, os.path.abspath(entry))
            for entry in sys.path
            if entry.endswith(("site-packages", "dist-packages"))
        )


def _is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


def _relpath(filename: str, roots: tuple[str, ...]) -> str | None:
    if not filename or filename.startswith("<"):
        return None
    absolute = os.path.abspath(filename)
    for root in roots:  # longest first
        if absolute.startswith(root + os.sep):
            return Path(absolute[len(root) + 1 :]).as_posix()
    return Path(absolute).as_posix()


def relative_to_sys_path(filename: str) -> str:
    """Return `filename` relative to the longest sys.path folder that holds it; as it is under none.

    For a process signalscope did not load (the debug toolbar's): the
    project's own folders are whatever sys.path holds.
    """
    roots = sorted((p for p in sys.path if p and filename.startswith(p.rstrip("/") + "/")), key=len, reverse=True)
    return filename[len(roots[0].rstrip("/")) + 1 :] if roots else filename


def settings_from_manage_py(manage_py: Path) -> str | None:
    """Return the settings module that `manage_py` sets by default, read with `ast`.

    Recognises ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")`` and
    ``os.environ["DJANGO_SETTINGS_MODULE"] = "x"``; the file is never run.
    Returns None when it sets no literal module name.

    Raises ProjectLoadError when the file cannot be read or parsed.
    """
    import ast

    try:
        source = manage_py.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(manage_py))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectLoadError(f"Could not read {manage_py}: {exc}.") from exc
    except SyntaxError as exc:
        raise ProjectLoadError(
            f"{manage_py}:{exc.lineno}: SyntaxError: {exc.msg}.",
            hint="Fix manage.py, or name the settings module with --settings.",
        ) from exc
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and _is_environ(node.func.value)
            and len(node.args) == 2
            and _is_str(node.args[0], SETTINGS_ENV)
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            return node.args[1].value
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Subscript)
            and _is_environ(node.targets[0].value)
            and _is_str(node.targets[0].slice, SETTINGS_ENV)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None


def _is_environ(node: ast.expr) -> bool:
    import ast

    # os.environ, or environ imported from os
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id == "environ"


def _is_str(node: ast.expr, value: str) -> bool:
    import ast

    return isinstance(node, ast.Constant) and node.value == value


def _library_dirs() -> tuple[str, ...]:
    """Return the folders whose files are not the user's: stdlib, site-packages, Django, us."""
    import sysconfig

    dirs = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(name)
        if path:
            dirs.add(os.path.abspath(path))
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            dirs.add(os.path.abspath(entry))
    dirs.add(os.path.dirname(os.path.abspath(__file__)))
    try:
        import django

        dirs.add(os.path.dirname(os.path.abspath(django.__file__)))
    except ImportError:  # pragma: no cover - Django is a dependency
        pass
    return tuple(sorted(dirs))


def find_user_frame(exc: BaseException) -> tuple[str, int] | None:
    """Return (file, line) of the deepest frame of `exc` in the user's own code.

    Library frames (stdlib, site-packages, Django, signalscope) are skipped;
    for a SyntaxError the file and line of the bad code are used.
    """
    import traceback

    libs = _library_dirs()

    def is_user(filename: str | None) -> bool:
        if not filename or filename.startswith("<"):
            return False
        path = os.path.abspath(filename)
        return not any(_is_under(path, d) for d in libs)

    if isinstance(exc, SyntaxError) and is_user(exc.filename) and exc.lineno:
        return exc.filename or "", exc.lineno
    found = None
    tb: TracebackType | None = exc.__traceback__
    for frame, lineno in traceback.walk_tb(tb):
        if is_user(frame.f_code.co_filename):
            found = (frame.f_code.co_filename, lineno)
    return found


_FIX_HINT = "Fix the error above" + RERUN_FOR_TRACEBACK


def _application_error(what: str, where: str, exc: BaseException, root: Path | None) -> ProjectLoadError:
    """The load error for a server application that could not be loaded: `what` failed, for project `where`."""
    return ProjectLoadError(
        f"Could not {what} of {where}: {_describe_failure(exc, root)}",
        hint=_hint(exc, "Fix the error above, or skip loading the server's application with --no-app."),
    )


def _hint(exc: BaseException, hint: str) -> str:
    """Return `hint`, or for a SystemExit what to do about code that exits while it is imported."""
    if not isinstance(exc, SystemExit):
        return hint
    return (
        "signalscope sets the project up as manage.py does before it runs a command: code that exits there "
        "(settings, an app's ready(), the URLconf, the WSGI/ASGI application) stops every command; "
        "exit in a management command instead."
    )


def _describe_failure(exc: BaseException, root: Path | None) -> str:
    where = find_user_frame(exc)
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError):
        text = f"SyntaxError: {exc.msg}"
    elif isinstance(exc, SystemExit):
        # str(SystemExit(0)) is "0" and str(SystemExit()) is "": show the code as given.
        text = f"SystemExit({exc.code!r}) (sys.exit() was called while the project loaded)"
    if where is None:
        return text
    filename, line = where
    shown = filename
    if root is not None:
        with contextlib.suppress(ValueError):  # another drive, on Windows
            shown = os.path.relpath(filename, root)
        if shown.startswith(".."):
            shown = filename
    return f"{shown}:{line}: {text}"


def find_manage_py(start: Path) -> Path | None:
    """Return the folder holding manage.py: `start` or the nearest of its parents, as git finds .git; else None."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / "manage.py").is_file():
            return folder
    return None


def _resolve_settings(settings: str | None, project_dir: Path | None, cwd: Path) -> tuple[str, str, Path | None]:
    """Return (module, source, root) by precedence: flag, environment, manage.py.

    Without `project_dir` and `settings`, manage.py is looked for in `cwd`
    and then each of its parents; with `settings` alone, only in `cwd`.
    """
    if project_dir is not None:
        manage_dir: Path | None = project_dir
    elif settings:
        manage_dir = cwd
    else:
        manage_dir = find_manage_py(cwd)
    manage_py = manage_dir / "manage.py" if manage_dir is not None else None
    if manage_py is not None and not manage_py.is_file():
        manage_py = None
    root = manage_dir if manage_py is not None else project_dir
    if settings:
        return settings, "--settings", root
    env = os.environ.get(SETTINGS_ENV)
    if env:
        return env, SETTINGS_ENV, root
    if manage_py is not None:
        module = settings_from_manage_py(manage_py)
        if module:
            return module, "manage.py", root
        raise SettingsNotFound(
            f"{manage_py} does not set {SETTINGS_ENV} to a literal module name.",
            hint="Name the settings module with --settings MODULE or the DJANGO_SETTINGS_MODULE variable.",
        )
    looked = f"in {project_dir}" if project_dir is not None else f"in {cwd} or any folder above it"
    raise SettingsNotFound(
        "No Django settings found. Tried: --settings (not given), "
        f"the {SETTINGS_ENV} environment variable (not set), "
        f"and manage.py {looked} (no such file).",
        hint="Run signalscope in the folder that holds manage.py (or below it), "
        "or pass --project DIR or --settings MODULE.",
    )


def load_project(
    *,
    settings: str | None = None,
    project: str | os.PathLike[str] | None = None,
    pythonpath: tuple[str | os.PathLike[str], ...] | list[str] = (),
    urls: bool = True,
    app: bool | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Project:
    """Set up the Django project as ``manage.py runserver`` would and return it.

    Settings come from `settings`, else ``DJANGO_SETTINGS_MODULE``, else the
    default that ``manage.py`` sets, read statically: the one in `project`,
    or without `project` and `settings` the one in the current folder or
    the nearest folder above it, as git finds ``.git``. `project` (or that
    folder) and each `pythonpath` folder go first on sys.path (the current
    folder when there is none); then
    ``django.setup()`` runs (unless this process is set up already), after
    the imports manage.py makes first. Unless `urls` is false,
    ``ROOT_URLCONF`` is imported, since receivers connected at URL import
    time are real ones. The server's application is loaded as
    runserver loads it (see `load_application`), with its request handler
    and middleware, whose receivers are real too: with `app` None (the
    default) when this call sets Django up, not in a process set up
    already; always with `app` true (a management command that answers as
    the command line does); never with `app` false (``Project.application``
    is then None).

    Raises UsageError (a folder that does not exist), SettingsNotFound, and
    ProjectLoadError (settings not importable, ImproperlyConfigured, or any
    exception raised by the project's code, named by file and line).
    """
    here = Path(cwd) if cwd is not None else Path.cwd()
    project_dir = None
    if project is not None:
        project_dir = (here / project).resolve()
        if not project_dir.is_dir():
            raise UsageError(f"--project {project}: no such folder.")
    extra = []
    for entry in pythonpath:
        path = (here / entry).resolve()
        if not path.is_dir():
            raise UsageError(f"--pythonpath {entry}: no such folder.")
        extra.append(path)

    module, source, root = _resolve_settings(settings, project_dir, here)
    added: list[Path] = []
    if root is not None:
        added.append(root)
    added.extend(extra)
    if not added:
        # Like `python -m django`: the current folder is where the settings live.
        added.append(here)
    for path in reversed(added):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    os.environ[SETTINGS_ENV] = module

    where = f"the project with settings {module!r} (from {source})"
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError as exc:
        spec = None
        missing = exc.name
    except (Exception, SystemExit) as exc:  # an error in the package __init__ of the settings module
        raise ProjectLoadError(
            f"Could not import the settings module of {where}: {_describe_failure(exc, root)}",
            hint=_hint(exc, _FIX_HINT),
        ) from exc
    else:
        missing = module
    if spec is None:
        tried = ", ".join(str(p) for p in added)
        raise ProjectLoadError(
            f"Could not import the settings module of {where}: "
            f"no module named {missing!r} on sys.path (added: {tried}).",
            hint="Check the module name, or point --project / --pythonpath at the folder that contains it.",
        )

    import django
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    # In a process already set up (a shell, a test run, a system check), setting up again would
    # re-apply LOGGING: read the live state as it is instead. Unless asked, its server application
    # is not loaded either: get_wsgi_application() sets Django up again, and the middleware it
    # builds would connect receivers in a process that may serve requests with its own.
    sets_up = not apps.ready
    loads_app = sets_up if app is None else app
    try:
        if sets_up:
            # manage.py imports django.core.management before it sets up Django, and that
            # import connects receivers of its own: django.core.cache's close_caches and
            # django.db's close_old_connections, in the order their imports finish (close_caches
            # first on Python 3.11 and 3.12, the other first on 3.13), as in the server.
            import django.core.management

            django.setup()
    except ImproperlyConfigured as exc:
        raise ProjectLoadError(
            f"Django found a configuration error in {where}: {_describe_failure(exc, root)}",
            hint="Fix the setting it names" + RERUN_FOR_TRACEBACK,
        ) from exc
    except (Exception, SystemExit) as exc:  # SystemExit: settings or a ready() that exits
        hint = _hint(exc, _FIX_HINT)
        if isinstance(exc, ModuleNotFoundError) and find_user_frame(exc) is None:
            hint = f"Is {exc.name!r} listed in INSTALLED_APPS and installed in this environment ({sys.executable})?"
        raise ProjectLoadError(f"Could not set up {where}: {_describe_failure(exc, root)}", hint=hint) from exc

    if loads_app:
        # runserver's command module imports the request handler (django.core.handlers.base
        # connects reset_urlconf to request_finished) before its system checks import the URLconf.
        try:
            importlib.import_module("django.core.servers.basehttp")
        except (Exception, SystemExit) as exc:
            raise ProjectLoadError(
                f"Could not import Django's server of {where}: {_describe_failure(exc, root)}",
                hint=_hint(exc, "Fix the error above, or skip loading the server's application with --no-app."),
            ) from exc

    urls_loaded = False
    if urls:
        from django.conf import settings as dj_settings

        urlconf = getattr(dj_settings, "ROOT_URLCONF", None)
        if urlconf:
            try:
                importlib.import_module(urlconf)
            except (Exception, SystemExit) as exc:
                raise ProjectLoadError(
                    f"Could not import ROOT_URLCONF {urlconf!r} of {where}: {_describe_failure(exc, root)}",
                    hint=_hint(exc, "Fix the error above, or skip URL loading with --no-urls."),
                ) from exc
            urls_loaded = True

    application: tuple[str, Any] | None = None
    if loads_app:
        application = load_application(where, root)

    roots = {os.path.abspath(p) for p in sys.path if p and os.path.isabs(p)}
    roots.update(str(p) for p in added)
    search_roots = tuple(sorted(roots, key=lambda r: (-len(r), r)))
    return Project(
        settings_module=module,
        settings_source=source,
        root=root,
        added_paths=tuple(added),
        urls_loaded=urls_loaded,
        django_version=django.get_version(),
        search_roots=search_roots,
        application=application[0] if application is not None else None,
        _application=application[1] if application is not None else None,
    )


def load_application(where: str, root: Path | None = None) -> tuple[str, Any]:
    """Load the set-up project's server application, as ``manage.py runserver`` does; return (its name, it).

    The application is ``WSGI_APPLICATION`` (runserver's choice, through
    ``get_internal_wsgi_application``), else ``ASGI_APPLICATION`` (an ASGI
    server's, such as daphne's runserver), else Django's default WSGI
    handler. Building it builds the middleware chain; no request is served.
    `where` names the project in messages, and file names in them are
    relative to `root`.

    Raises ProjectLoadError for any exception loading it, named by file and line.
    """
    from django.conf import settings as dj_settings
    from django.utils.module_loading import import_string

    for setting in ("WSGI_APPLICATION", "ASGI_APPLICATION"):
        path = getattr(dj_settings, setting, None)
        if not path:
            continue
        name = f"{path} ({setting})"
        try:
            return name, import_string(str(path))
        except (Exception, SystemExit) as exc:
            raise _application_error(f"load the application {path!r} named by {setting}", where, exc, root) from exc
    try:
        from django.core.wsgi import get_wsgi_application

        return DEFAULT_APPLICATION, get_wsgi_application()
    except (Exception, SystemExit) as exc:
        what = "build Django's default WSGI application (the settings name no WSGI_APPLICATION)"
        raise _application_error(what, where, exc, root) from exc

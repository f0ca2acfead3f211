"""Importing signalscope needs no settings; `list --json` imports no rich and no networkx."""

from __future__ import annotations

import sys

from helpers import FIXTURES, python_snippet, run


def test_package_imports_without_django_settings() -> None:
    code = (
        "import sys\n"
        "import signalscope, signalscope.model, signalscope.render, signalscope.errors\n"
        "import signalscope.cli.app, signalscope.cli.main\n"
        "assert 'django.conf' not in sys.modules, 'django.conf imported'\n"
        "assert 'networkx' not in sys.modules\n"
        "print('ok')\n"
    )
    assert python_snippet(code) == "ok\n"


def test_list_json_imports_no_rich_networkx_graph_or_tracer() -> None:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('MODULES ' + ' '.join(sorted(\n"
        "    m for m in sys.modules if m.split('.')[0] in ('rich', 'networkx')\n"
        "    or m.startswith(('signalscope.graph', 'signalscope.tracing', 'signalscope.model.'))\n"
        # allowed: the renderers' one escaping helper (a regex, stdlib only), the one JSON writer, the schema ids
        # and the registry filters (fnmatch)
        "    and m not in ('signalscope.model.escaping', 'signalscope.model.jsonio', 'signalscope.model.schemas',\n"
        "                  'signalscope.model.select')))\n"
        "    + '\\n'))\n"
        "from signalscope.cli.main import main\n"
        f"main(['list', '--json', '--project', {str(FIXTURES / 'shop')!r}])\n"
    )
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert "MODULES \n" in result.stderr, result.stderr


def test_scanning_wakes_no_lazy_object() -> None:
    code = (
        "import signalscope\n"
        f"smap = signalscope.load(project={str(FIXTURES / 'shop')!r})\n"
        "from django.core.files.storage import default_storage\n"
        "from django.utils.functional import empty\n"
        "assert default_storage._wrapped is empty, 'default_storage was set up'\n"
        "print(len(smap.connections))\n"
    )
    assert int(python_snippet(code)) > 20


def test_signals_frozen_by_gc_freeze_are_still_found() -> None:
    # Pre-forking servers call gc.freeze() after loading the app; gc.get_objects()
    # then lists none of the frozen objects.
    code = (
        "import gc, json, signalscope\n"
        "from signalscope.model import to_dict\n"
        f"project = signalscope.load_project(project={str(FIXTURES / 'kinds')!r})\n"
        "before = to_dict(signalscope.scan(project))\n"
        "gc.freeze()\n"
        "after = to_dict(signalscope.scan(project))\n"
        "assert before == after, 'frozen signals were missed'\n"
        "print(len(before['signals']))\n"
    )
    assert int(python_snippet(code)) > 20


def test_load_project_in_a_process_already_set_up_reads_it_as_it_is() -> None:
    code = (
        "import os, sys, logging\n"
        f"sys.path.insert(0, {str(FIXTURES / 'shop')!r})\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'shop.settings'\n"
        "import django; django.setup()\n"
        "marker = logging.Handler(); logging.getLogger('django').addHandler(marker)\n"
        "import signalscope\n"
        "project = signalscope.load_project()\n"
        "assert marker in logging.getLogger('django').handlers, 'logging was configured again'\n"
        "smap = signalscope.scan(project)\n"
        "print(project.settings_source, len(smap.connections))\n"
    )
    source, count = python_snippet(code).split()
    assert source == "DJANGO_SETTINGS_MODULE" and int(count) > 20

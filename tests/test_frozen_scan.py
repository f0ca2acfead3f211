"""The heap walk for gc.freeze() runs only when a signal can be frozen: never for Python 3.12's own start-up freeze."""

from __future__ import annotations

from helpers import FIXTURES, python_snippet

# Make the walk fail loudly: a scan that doesn't need it must not start it.
NO_WALK = (
    "import signalscope.introspect.discover as discover, signalscope.introspect.receivers as receivers\n"
    "def refuse():\n"
    "    raise AssertionError('walked the heap')\n"
    "discover.reachable_objects = receivers.reachable_objects = refuse\n"
)


def test_no_walk_without_a_freeze_after_django() -> None:
    # On Python 3.12 gc.get_freeze_count() is 375 at start-up (static tuples): no signal can be among them.
    code = (
        "import gc, signalscope\n"
        f"{NO_WALK}"
        f"project = signalscope.load_project(project={str(FIXTURES / 'kinds')!r})\n"
        "from signalscope.introspect.discover import is_frozen_after_django\n"
        "assert not is_frozen_after_django(gc.get_objects())\n"
        "print(len(signalscope.scan(project).signals))\n"
    )
    assert int(python_snippet(code)) > 20


def test_a_freeze_before_django_is_imported_hides_no_signal() -> None:
    code = (
        "import gc, json\n"
        "gc.freeze()  # as a server's config might, before it imports the app\n"
        "import signalscope\n"
        f"{NO_WALK}"
        f"project = signalscope.load_project(project={str(FIXTURES / 'kinds')!r})\n"
        "from signalscope.model import to_dict\n"
        "frozen = to_dict(signalscope.scan(project))  # no walk\n"
        "gc.unfreeze()  # now gc.get_objects() lists everything\n"
        "assert to_dict(signalscope.scan(project)) == frozen\n"
        "print(len(frozen['signals']))\n"
    )
    assert int(python_snippet(code)) > 20


def test_a_freeze_after_django_is_seen() -> None:
    code = (
        "import gc, signalscope\n"
        f"project = signalscope.load_project(project={str(FIXTURES / 'senders')!r})\n"
        "from signalscope.introspect.discover import is_frozen_after_django\n"
        "from signalscope.model import to_dict\n"
        "before = to_dict(signalscope.scan(project))\n"
        "gc.freeze()\n"
        "assert is_frozen_after_django(gc.get_objects())\n"
        "assert to_dict(signalscope.scan(project)) == before, 'frozen signals or senders were missed'\n"
        "print('ok')\n"
    )
    assert python_snippet(code).strip() == "ok"

"""--help's prose is wrapped once, to the terminal's width, never again inside the source's own line breaks."""

from __future__ import annotations

import itertools

import pytest
from helpers import clean_env, signalscope

from signalscope.cli.options import reflow

COMMANDS = ["list", "graph", "impact", "debug", "trace", "check", "snapshot", "diff", "report"]


def test_reflow_joins_prose_and_keeps_indented_lines() -> None:
    examples = "  signalscope list\n  signalscope graph\n"
    text = f"Summary line.\n\nOne paragraph\nwrapped in the source.\n\n{examples}"
    assert reflow(text) == f"Summary line.\n\nOne paragraph wrapped in the source.\n\n{examples}"


def _prose_paragraphs(text: str) -> list[list[str]]:
    """The paragraphs of prose in a --help: not in a panel, not an indented example, not the usage line."""
    paragraphs: list[list[str]] = [[]]
    for line in text.splitlines():
        is_prose = line.startswith(" ") and not line.startswith("  ") and not line.startswith(" Usage:")
        if is_prose and line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("command", COMMANDS)
def test_help_prose_is_wrapped_once(command: str, columns: int) -> None:
    result = signalscope(command, "--help", env=clean_env(COLUMNS=str(columns)))
    assert result.returncode == 0, result.stderr
    assert all(len(line) <= columns for line in result.stdout.splitlines())
    paragraphs = _prose_paragraphs(result.stdout)
    assert paragraphs
    room = columns - 2  # rich pads the text by one column on each side
    for paragraph in paragraphs:
        for line, following in itertools.pairwise(paragraph):
            # A line ends early only where the next word would not have fitted on it.
            assert len(line) + 1 + len(following.split()[0]) > room, (command, columns, line, following)

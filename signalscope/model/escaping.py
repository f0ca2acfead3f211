"""The one visible escaping of the project's names in human output: shown, never obeyed by a terminal.

Model labels, receiver paths, file names, dispatch_uids and exception
messages come from the user's project, and any of them can hold an ESC
sequence, a newline, or a character XML forbids. Every human renderer (and
GraphML) passes such names through `escape_controls`, so a name can neither
drive the terminal nor break a line, a table or a file format. Backslashes
are left alone: the output is for reading, and names without control
characters, which is all of them in practice, come out unchanged.
"""

from __future__ import annotations

import re

__all__ = ["escape_controls"]

# C0 and C1 controls and DEL; line and paragraph separators; the bidirectional embeddings,
# overrides and isolates that reorder what a terminal shows ("Trojan Source"); lone
# surrogates, which no UTF-8 stream can carry; and U+FFFE/U+FFFF, which XML 1.0 forbids.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return _SHORT.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    r"""Return `text` with each control character written out as a Python-style escape.

    ESC becomes the four characters ``\x1b``, a newline ``\n``, a tab ``\t``,
    U+2028 ``\u2028``; everything else is kept. The result holds no control
    character, is valid in XML 1.0, and escaping it again changes nothing.
    `text` itself is returned when there is nothing to escape.
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_shown, text)

"""The one JSON writer: every file signalscope writes as JSON is text from here (UTF-8 as is, keys sorted).

Two forms: `dump_json` (indented by two, a document) and `dump_json_line`
(compact, one line: JSON lines, the Chrome trace, data embedded in HTML).
Both write non-ASCII text as it is, not as ``\\u`` escapes, so a name reads
the same in every command's output. The exceptions are the characters
model.escaping shows escaped in human output (beyond the C0 controls JSON
escapes itself): C1 controls and DEL, line and paragraph separators,
bidirectional controls, lone surrogates (a name decoded with
surrogateescape: no UTF-8 can hold one) and U+FFFE/U+FFFF. They are written
as their ``\\u`` escapes, which read back as the same text, so JSON shown on
a terminal cannot drive it and always encodes as UTF-8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "dump_json",
    "dump_json_line",
    "flat_encoder",
    "iter_json",
    "iter_json_line",
    "iter_object",
    "json_string",
    "leaf_json",
]

#: A str as a JSON string literal, non-ASCII as is (the C-accelerated encoder).
json_string: Callable[[str], str] = json.encoder.encode_basestring

_SCALARS = frozenset((str, int, float, bool, type(None)))
_leaf_encoders: dict[str, json.JSONEncoder] = {}
_scalar = json.JSONEncoder(ensure_ascii=False).encode
_line = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
# model.escaping's unsafe characters less C0 (the encoder escapes those); none is ASCII but DEL.
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _leaf_encoder(inner: str) -> json.JSONEncoder:
    encoder = _leaf_encoders.get(inner)
    if encoder is None:
        encoder = _leaf_encoders[inner] = json.JSONEncoder(
            ensure_ascii=False, sort_keys=True, separators=("," + inner, ": ")
        )
    return encoder


def _safe(text: str) -> str:
    """Return JSON `text` with each unsafe character (see the module) as its JSON escape.

    Such characters can only be inside the strings of the text, where the
    escape stands for the same character.
    """
    if (text.isascii() and "\x7f" not in text) or _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape_unsafe, text)


def _escape_unsafe(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dump_json(data: Any, *, records: Mapping[type, Callable[[Any, str], str]] | None = None) -> str:
    """Return `data` as indented, key-sorted JSON text ending in a newline.

    Byte-identical to ``json.dumps(data, indent=2, sort_keys=True,
    ensure_ascii=False) + "\\n"`` (tests hold it to that) but for the unsafe
    characters the module names, written as escapes; written here because with an indent the standard library
    drops to its pure-Python encoder, which also recurses once per level.
    This walk keeps a stack of its own, so a tree of any depth (an impact
    tree hundreds of receivers deep) is written. A dict or list holding only
    scalars (every receiver record) is encoded in one call to the C encoder,
    whose item separator already carries the newline and indentation.

    `records` maps a type to the function writing one value of it as JSON
    text, given the newline-and-indentation it starts at: how model.dumps
    writes receiver records straight from their fields. Otherwise handles
    dicts with str keys, lists, tuples, str, int, float, bool and None.
    """
    out: list[str] = []
    append = out.append
    # Each entry is (text to write first, a value, its newline-and-indentation); no newline: only the text.
    todo: list[tuple[str, Any, str | None]] = [("", data, "\n")]
    pop, push = todo.pop, todo.append
    while todo:
        prefix, value, newline = pop()
        append(prefix)
        if newline is None:
            continue
        kind = type(value)
        if kind is str:
            append(json_string(value))
        elif kind is dict or kind is list or isinstance(value, (dict, list, tuple)):
            is_dict = isinstance(value, dict)
            if not value:
                append("{}" if is_dict else "[]")
                continue
            inner = newline + "  "
            if _SCALARS.issuperset(map(type, value.values() if is_dict else value)):
                text = _leaf_encoder(inner).encode(value)
                append(text[0] + inner + text[1:-1] + newline + text[-1])
                continue
            if is_dict:
                push((newline + "}", None, None))
                keys = sorted(value)
                for i in range(len(keys) - 1, 0, -1):
                    push(("," + inner + json_string(keys[i]) + ": ", value[keys[i]], inner))
                push(("{" + inner + json_string(keys[0]) + ": ", value[keys[0]], inner))
            else:
                push((newline + "]", None, None))
                sep = "," + inner
                for i in range(len(value) - 1, 0, -1):
                    push((sep, value[i], inner))
                push(("[" + inner, value[0], inner))
        elif records is not None and kind in records:
            append(records[kind](value, newline))
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        else:
            append(_scalar(value))
    append("\n")
    return _safe("".join(out))


def flat_encoder(inner: str) -> Callable[[Mapping[str, Any]], str]:
    """The C encoder of a dict of scalars whose keys are in order already, items at `inner`, as dump_json spaces them.

    ``{"a": 1,<inner>"b": 2}``: dump_json's leaf text before the newline
    after ``{`` and before ``}`` are added. For a record writer (dump_json's
    `records`) that writes an object a few known fields at a time.
    """
    encoder = _flat_encoders.get(inner)
    if encoder is None:
        encoder = _flat_encoders[inner] = _one_shot("," + inner, sort_keys=False)
    return encoder


def leaf_json(value: Mapping[str, Any], newline: str) -> str | None:
    """Return the dict of scalars `value` as dump_json writes it at `newline`; None when a value is no scalar."""
    if not value:
        return "{}"
    if not _SCALARS.issuperset(map(type, value.values())):
        return None
    inner = newline + "  "
    encoder = _sorted_encoders.get(inner)
    if encoder is None:
        encoder = _sorted_encoders[inner] = _one_shot("," + inner, sort_keys=True)
    text = encoder(value)
    return text[0] + inner + text[1:-1] + newline + text[-1]


_flat_encoders: dict[str, Callable[[Any], str]] = {}
_sorted_encoders: dict[str, Callable[[Any], str]] = {}


def _one_shot(item_separator: str, *, sort_keys: bool) -> Callable[[Any], str]:
    """Return ``JSONEncoder(ensure_ascii=False, separators=(item_separator, ": "), sort_keys=...).encode``
    for dicts of scalars, calling the C encoder straight away.

    The same text: encode() makes that C encoder anew on every call (most of
    its cost for a small dict), with a circular-reference check that
    scalars never need.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(item_separator, ": "), sort_keys=sort_keys).encode
    encode = make(None, None, json_string, None, ": ", item_separator, sort_keys, False, True)
    join = "".join

    def encoded(value: Any) -> str:
        return join(encode(value, 0))

    return encoded


def dump_json_line(data: Any) -> str:
    """Return `data` as one line of compact, key-sorted JSON ending in a newline.

    ``json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",",
    ":")) + "\\n"``, unsafe characters escaped as in dump_json: for JSON lines, the Chrome trace and data embedded in a
    page.
    """
    return _safe(_line(data)) + "\n"


class _Items:
    """Where iter_json writes the items of its list: a value dump_json writes as a NUL, which JSON text never holds."""


def _items_mark(value: Any, newline: str) -> str:
    return "\x00" + newline + "\x00"


def iter_json(
    data: Mapping[str, Any],
    key: str,
    chunks: Iterable[Sequence[Any]],
    *,
    records: Mapping[type, Callable[[Any, str], str]] | None = None,
) -> Iterator[str]:
    """Yield ``dump_json({**data, key: [every item of chunks]})`` as text, one piece per chunk of items.

    The same bytes, joined, as dump_json of the whole list, which is never
    made: each chunk's items are written by dump_json (with `records`) and
    indented to where the list stands (a raw newline in JSON text is only
    ever layout: strings escape theirs). `key` is a key of `data`, whose
    value is ignored.
    """
    head, newline, tail = dump_json({**data, key: _Items()}, records={_Items: _items_mark}).split("\x00")
    yield head
    started = False
    for chunk in chunks:
        if not chunk:
            continue
        text = dump_json(list(chunk), records=records)  # "[" newline-and-two items "\n]\n"
        yield ("," if started else "[") + text[1:-3].replace("\n", newline)
        started = True
    yield (newline + "]" if started else "[]") + tail


def iter_json_line(data: Mapping[str, Any], key: str, chunks: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Yield ``dump_json_line({**data, key: [every item of chunks]})`` as text, one piece per chunk of items.

    The same bytes, joined, as dump_json_line of the whole list, which is
    never made. `key` is a key of `data`, whose value is ignored.
    """
    mark = "\x00signalscope-items\x00"
    head, _, tail = dump_json_line({**data, key: mark}).partition(_line(mark))
    yield head + "["
    started = False
    for chunk in chunks:
        if not chunk:
            continue
        yield ("," if started else "") + _safe(_line(list(chunk))[1:-1])
        started = True
    yield "]" + tail


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_GOES_ON = re.compile(r"[0-9.eE+-]*")


def iter_object(read: Callable[[int], str], key: str, *, size: int = 1 << 20) -> Iterator[tuple[str | None, Any]]:
    """Read a JSON object from text given `size` characters at a time by `read`, without holding it whole.

    Yields ``(None, item)`` for each item of its list `key` as soon as it is
    read, then ``(name, value)`` for each of its other members, in the order
    of the text. Raises ValueError (not JSON, not an object, `key` not a
    list, a member given twice, text after it): the caller reads the text
    whole then, for the standard library's own message. Each item is read by
    the C decoder (``raw_decode``); an item cut by the end of what was read
    is read again once more has come.
    """
    decode = json.JSONDecoder().raw_decode
    buffer, pos, done = "", 0, False

    def more(wanted: int = size) -> bool:
        nonlocal buffer, pos, done
        if done:
            return False
        piece = read(wanted)
        if not piece:
            done = True
            return False
        buffer = buffer[pos:] + piece
        pos = 0
        return True

    def skip() -> str:
        """Skip whitespace; return the next character ("" at the end)."""
        nonlocal pos
        while True:
            pos = _WHITESPACE.match(buffer, pos).end()  # type: ignore[union-attr]
            if pos < len(buffer) or not more():
                return buffer[pos : pos + 1]

    def value() -> Any:
        nonlocal pos
        skip()  # raw_decode takes no whitespace before the value
        while True:
            try:
                found, end = decode(buffer, pos)
            except json.JSONDecodeError:
                if more(max(size, len(buffer) - pos)):  # as much again: a long value is read in few tries
                    continue
                raise ValueError("not JSON") from None
            if type(found) in (int, float) and _NUMBER_GOES_ON.fullmatch(buffer, end) and more():
                continue  # "3." read as 3, "12" of 1234: a number may go on in the next piece
            pos = end
            return found

    def expect(char: str) -> None:
        nonlocal pos
        if skip() != char:
            raise ValueError(f"expected {char!r}")
        pos += 1

    def ended(close: str) -> bool:
        """Read what follows an item: True after `close`, False after a comma."""
        nonlocal pos
        following = skip()
        pos += 1
        if following == close:
            return True
        if following != ",":
            raise ValueError(f"expected ',' or {close!r}")
        return False

    expect("{")
    names: set[str] = set()
    if skip() == "}":
        pos += 1
    else:
        while True:
            if skip() != '"':
                raise ValueError("expected a name")
            name = value()
            if name in names:
                raise ValueError(f"{name!r} twice")
            names.add(name)
            expect(":")
            if name == key:
                expect("[")
                if skip() == "]":
                    pos += 1
                else:
                    while True:
                        yield None, value()
                        if ended("]"):
                            break
            else:
                yield name, value()
            if ended("}"):
                break
    if skip() != "":
        raise ValueError("text after the object")
    if key not in names:
        raise ValueError(f"no {key!r}")

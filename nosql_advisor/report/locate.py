"""Where a finding lives in a declared schema file: the JSON pointer of its field path and the
line it is on, so SARIF (and GitHub code scanning) can annotate the schema a team edits.

The file may hold a bare $jsonSchema, `{"$jsonSchema": ...}` or a whole validator document
(schema/load.py); the field path is dot notation with arrays transparent, so the walk steps
through `items` where the schema declares an array. A path the schema does not declare (an
undeclared field, DM504) points at the deepest level it does declare.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


class Located:
    """A JSON value's place: the line its key (or, at the root, the value) stands on, and its
    members when it is an object or an array."""

    __slots__ = ("line", "children")

    def __init__(self, line: int, children: dict | list | None = None) -> None:
        self.line, self.children = line, children


def parse_with_lines(text: str) -> Located:
    """Parse JSON text keeping each member's line (1-based). Scalars are decoded by the json
    module itself; only objects and arrays are walked here."""
    newlines = [match.start() for match in re.finditer("\n", text)]
    node, end = _parse(text, newlines, _skip(text, 0), 1)
    if _skip(text, end) != len(text):
        raise ValueError("extra data after the JSON value")
    return node


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _line(newlines: list[int], index: int) -> int:
    return bisect_left(newlines, index) + 1


def _parse(text: str, newlines: list[int], index: int, line: int) -> tuple[Located, int]:
    char = text[index] if index < len(text) else ""
    if char == "{":
        members: dict[str, Located] = {}
        index = _skip(text, index + 1)
        if text[index] == "}":
            return Located(line, members), index + 1
        while True:
            key_line = _line(newlines, index)
            key, index = _DECODER.raw_decode(text, index)
            index = _skip(text, index)
            if text[index] != ":":
                raise ValueError(f"expected ':' at line {_line(newlines, index)}")
            child, index = _parse(text, newlines, _skip(text, index + 1), key_line)
            members[key] = child
            index = _skip(text, index)
            if text[index] == "}":
                return Located(line, members), index + 1
            if text[index] != ",":
                raise ValueError(f"expected ',' at line {_line(newlines, index)}")
            index = _skip(text, index + 1)
    if char == "[":
        items: list[Located] = []
        index = _skip(text, index + 1)
        if text[index] == "]":
            return Located(line, items), index + 1
        while True:
            child, index = _parse(text, newlines, index, _line(newlines, index))
            items.append(child)
            index = _skip(text, index)
            if text[index] == "]":
                return Located(line, items), index + 1
            if text[index] != ",":
                raise ValueError(f"expected ',' at line {_line(newlines, index)}")
            index = _skip(text, index + 1)
    _, end = _DECODER.raw_decode(text, index)
    return Located(line), end


def _member(node: Located, key: str) -> Located | None:
    return node.children.get(key) if isinstance(node.children, dict) else None


def schema_root(root: Located) -> tuple[Located, str]:
    """The $jsonSchema inside the file and its pointer (the layouts schema/load.py accepts)."""
    node, pointer = root, ""
    validator = _member(node, "validator")
    if validator is not None:
        node, pointer = validator, "/validator"
    inner = _member(node, "$jsonSchema")
    if inner is not None:
        return inner, pointer + "/$jsonSchema"
    conjunction = _member(node, "$and")
    if conjunction is not None and isinstance(conjunction.children, list):
        for index, part in enumerate(conjunction.children):
            inner = _member(part, "$jsonSchema")
            if inner is not None:
                return inner, f"{pointer}/$and/{index}/$jsonSchema"
    return node, pointer


def escape(token: str) -> str:
    """RFC 6901: `~` is `~0`, `/` is `~1`."""
    return token.replace("~", "~0").replace("/", "~1")


def locate_path(text: str, path: str | None) -> dict:
    """{"pointer", "line"} of a dot path in a schema file's text (the whole schema for None)."""
    return locate_in(parse_with_lines(text), path)


def locate_in(root: Located, path: str | None) -> dict:
    """`locate_path` in a file parsed once with `parse_with_lines`."""
    node, pointer = schema_root(root)
    for name in (path.split(".") if path else []):
        holder, holder_pointer = node, pointer
        items = _member(node, "items")
        if _member(node, "properties") is None and items is not None and isinstance(items.children, dict):
            holder, holder_pointer = items, pointer + "/items"  # arrays are transparent in a path
        properties = _member(holder, "properties")
        if properties is None:
            break
        child = _member(properties, name)
        if child is None:
            node, pointer = properties, holder_pointer + "/properties"  # undeclared: its parent's list
            break
        node, pointer = child, f"{holder_pointer}/properties/{escape(name)}"
    return {"pointer": pointer, "line": node.line}

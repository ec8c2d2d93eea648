"""Edits of a YAML file's text at the exact place of one value, as a person would make them: a scalar replaced where
it stands (in the quoting it had), lines of a block inserted or removed, and nothing else touched.

PyYAML's composer gives each node its start and end in the text; the edit is made on the text itself, never by
re-dumping the document (a dump would re-indent lists and change quoting and comments). Each caller checks the result
by parsing it (`verify`): it must equal the old data with exactly the intended change, or nothing is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

FLOW_UNSAFE = set(",[]{}")


class SpanError(ValueError):
    """A change that cannot be made at its place in the file; the message says why (safe to show)."""


def version(text: str) -> str:
    """What an editor sends back to say which content it edited: a change since is refused (409)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def compose(text: str, name: str) -> Node:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise SpanError(f"{name} is not valid YAML: {exc}") from exc
    if node is None:
        raise SpanError(f"{name} is empty")
    return node


def plain(text: str) -> Any:
    return yaml.safe_load(text)


def child(node: Node, key: str) -> tuple[ScalarNode, Node] | None:
    """The key and value nodes of `key` in a mapping node (None when it has no such key)."""
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return k, v
    return None


def at(node: Node, path: Sequence[str | int]) -> Node | None:
    """The node at `path` (mapping keys and sequence indexes) under `node`."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, SequenceNode) or not 0 <= step < len(node.value):
                return None
            node = node.value[step]
        else:
            found = child(node, step)
            if found is None:
                return None
            node = found[1]
    return node


def last_line(text: str, node: Node) -> int:
    """The (0-based) line where the node's content ends: its last scalar, a flow collection's closing bracket."""
    if isinstance(node, MappingNode) and node.value and not node.flow_style:
        return last_line(text, node.value[-1][1])
    if isinstance(node, SequenceNode) and node.value and not node.flow_style:
        return last_line(text, node.value[-1])
    end = node.end_mark
    line = end.line if end.column > 0 else end.line - 1
    lines = text.splitlines()
    while line > node.start_mark.line and not lines[line].strip():
        line -= 1  # a block scalar's end is past its trailing blank lines
    return line


def is_block(node: Node) -> bool:
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style


def _plain_ok(value: str, flow: bool) -> bool:
    if not value or value != value.strip() or "\n" in value or (flow and FLOW_UNSAFE & set(value)):
        return False
    try:
        return bool(yaml.safe_load(f"k: {value}") == {"k": value})
    except yaml.YAMLError:
        return False


def render(value: str, style: str | None, *, flow: bool = False) -> str:
    """`value` as a one-line YAML scalar in the style the old one had where it can be: plain stays plain, 'single'
    stays single; anything else (a block scalar, a value plain YAML would misread) is "double-quoted"."""
    if style == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if style in (None, "") and _plain_ok(value, flow):
        return value
    return json.dumps(value, ensure_ascii=False)  # JSON's escapes are YAML's double-quoted ones


def replace_scalar(text: str, node: Node, value: str, *, flow: bool = False) -> str:
    """The text with one scalar replaced where it stands, in its style (see `render`)."""
    if not isinstance(node, ScalarNode):
        raise SpanError("only a text can be changed here")
    new = render(value, node.style, flow=flow)
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("|", ">"):
        end = _line_end(text, last_line(text, node))  # a block scalar becomes a one-line value: keep the newline
    return text[:start] + new + text[end:]


def _line_end(text: str, line: int) -> int:
    lines = text.splitlines(keepends=True)
    index = sum(len(item) for item in lines[: line + 1])
    return index - 1 if lines[line].endswith("\n") else index


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def splice(text: str, first: int, last: int, new_lines: Sequence[str]) -> str:
    """The text with lines `first`..`last` (inclusive; `last = first - 1` inserts before `first`) replaced."""
    lines = lines_of(text)
    if first > 0 and not lines[first - 1].endswith("\n"):
        lines[first - 1] += "\n"
    if last >= 0 and last < len(lines) and not lines[last].endswith("\n") and new_lines and last + 1 == len(lines):
        lines[last] += "\n"
    return "".join(lines[:first] + list(new_lines) + lines[last + 1 :])


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def verify(after: str, expected: Any, name: str) -> str:
    """The new text, if it reads as exactly the expected data."""
    try:
        got = plain(after)
    except yaml.YAMLError as exc:
        raise SpanError(f"{name}: the change would not parse ({exc}); nothing was written") from exc
    if got != expected:
        raise SpanError(f"{name}: the change would alter more than the edited text; nothing was written")
    return after

"""YAML that remembers where things are: each mapping's line, each key's line, and keys given twice.

Workflow files are edited by hand; every problem the loader reports names its line.
"""

from __future__ import annotations

from typing import Any

import yaml


class LineMap(dict):
    """A YAML mapping that remembers its line, each key's line, and keys given twice."""

    def __init__(self) -> None:
        super().__init__()
        self.line: int | None = None
        self.key_lines: dict[Any, int] = {}
        self.duplicates: list[tuple[Any, int]] = []


class LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    mapping = LineMap()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            mapping.duplicates.append((key, line))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def line_of(node: Any, key: Any = None) -> int | None:
    """The line of `key` in a mapping read by LineLoader (else the mapping's own line); None for other values."""
    if isinstance(node, LineMap):
        return node.key_lines.get(key, node.line) if key is not None else node.line
    return None

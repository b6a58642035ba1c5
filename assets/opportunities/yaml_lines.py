"""YAML read with the line of every value, so a refused catalogue points at the line to fix."""

from __future__ import annotations

from pathlib import Path

import yaml


class YamlError(ValueError):
    """The file is not valid YAML; the message names the file and line."""


class LineMap(dict):
    """A YAML mapping that remembers its own line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list


def load_with_lines(path: Path, text: str):
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise YamlError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    finally:
        loader.dispose()
    return None if node is None else _convert(node, loader)


def _convert(node: yaml.Node, loader: yaml.SafeLoader):
    if isinstance(node, yaml.MappingNode):
        mapping = LineMap()
        mapping.line, mapping.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            mapping[key] = _convert(value_node, loader)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = LineList(_convert(item, loader) for item in node.value)
        items.line, items.item_lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
        return items
    return loader.construct_object(node, deep=True)

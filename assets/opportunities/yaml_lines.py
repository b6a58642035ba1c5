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


def read_yaml_text(path: Path) -> str:
    """The file's text (UTF-8, with or without a BOM); a YamlError naming the line of the first byte that is not
    UTF-8, or why the file cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise YamlError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise YamlError(f"{path}, line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
                        "save the file as UTF-8") from None


def first_content_line(text: str) -> int:
    """The first line holding something other than blanks, comments or document markers (1 for an empty file)."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "---", "%")):
            return number
    return 1


def load_with_lines(path: Path, text: str):
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # checks every character first
        node = loader.get_single_node()
        return None if node is None else _convert(path, node, loader)
    except yaml.reader.ReaderError as error:  # a control character: its position in the text gives the line
        line = text[:error.position].count("\n") + 1
        raise YamlError(f"{path}, line {line}: not valid YAML (control character U+{error.character:04X} is not "
                        "allowed)") from None
    except yaml.YAMLError as error:
        raise YamlError(_syntax_error(path, error)) from None
    except RecursionError:  # thousands of nested [ or {: no configuration is written so
        line = (loader.get_mark().line + 1) if loader is not None else 1
        raise YamlError(f"{path}, line {line}: not valid YAML here (lists or mappings nested too deeply)") from None
    finally:
        if loader is not None:
            loader.dispose()


UNCLOSED = {"while scanning a quoted scalar": "a quoted value", "while parsing a flow sequence": "a [ list",
            "while parsing a flow mapping": "a { mapping"}


def _syntax_error(path: Path, error: yaml.YAMLError) -> str:
    mark, context_mark = getattr(error, "problem_mark", None), getattr(error, "context_mark", None)
    unclosed = UNCLOSED.get(getattr(error, "context", None))
    if unclosed and mark and context_mark:  # the mistake is where the quote or bracket opened, not where YAML gave up
        return (f"{path}, line {context_mark.line + 1}: not valid YAML ({unclosed} opened on this line is not closed:"
                f" {' '.join(str(error.problem).split())} on line {mark.line + 1})")
    where = f", line {mark.line + 1}" if mark else ""
    return f"{path}{where}: not valid YAML ({_reason(error)})"


def _reason(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error)
    if "'\\t'" in problem:
        return "a tab is used for indentation; YAML indents with spaces only"
    context = getattr(error, "context", None)
    if context and problem.startswith("but "):  # "expected a single document in the stream but found another..."
        problem = f"{context} {problem}"
    return " ".join(problem.split())  # one line, whatever the parser wrote


def _construct(path: Path, node: yaml.Node, loader: yaml.SafeLoader, key=None):
    """The value of a scalar node; a value YAML cannot build (2025-02-30, an unknown tag) names its line."""
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
        reason = " ".join(str(getattr(error, "problem", None) or error).split())
        what = "is not a valid date" if node.tag.endswith(":timestamp") else "cannot be read"
        where = f"{key}: " if key is not None else ""
        raise YamlError(f"{path}, line {node.start_mark.line + 1}: {where}{node.value!r} {what} ({reason})") from None


def _convert(path: Path, node: yaml.Node, loader: yaml.SafeLoader, key=None):
    if isinstance(node, yaml.MappingNode):
        mapping = LineMap()
        mapping.line, mapping.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(f"{path}, line {key_line}: a key must be a plain word, not a list or a mapping")
            key = _construct(path, key_node, loader)
            # `key:` left empty then given a value further down (settings appended to the default file) is no
            # conflict; two values for one key are: which one the firm meant cannot be guessed.
            if key in mapping.key_lines and mapping[key] is not None:
                raise YamlError(f"{path}, line {key_line}: key {key!r} is given twice "
                                f"(first on line {mapping.key_lines[key]})")
            mapping[key] = _convert(path, value_node, loader, key)
            mapping.key_lines[key] = key_line
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = LineList(_convert(path, item, loader) for item in node.value)
        items.line, items.item_lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
        return items
    return _construct(path, node, loader, key)

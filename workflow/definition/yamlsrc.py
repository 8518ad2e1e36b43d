"""YAML loading that remembers line numbers, so that every problem can name `file:line`."""

from __future__ import annotations

from typing import Any

import yaml


class LineDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"duplicate id {key!r}")
        self.key, self.line = key, line


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


class _Loader(_BaseLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise DuplicateKey(key, line)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _date_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    # Dates stay ISO strings: fields are stored as JSON and compared as text in expressions.
    return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


def load(text: str, filename: str) -> Any:
    """Parse YAML text; raise DefinitionError-ready messages as ValueError(file:line: ...)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except DuplicateKey as exc:
        raise ValueError(f"{filename}:{exc.line}: duplicate id {exc.key!r}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ValueError(f"{filename}:{line}: bad YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{filename}:1: bad YAML: {exc}") from None


def load_plain(text: str) -> Any:
    """Parse YAML for data input (--from FILE.yaml), dates kept as ISO strings."""
    return yaml.load(text, Loader=_Loader)

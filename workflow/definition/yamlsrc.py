"""YAML loading that remembers line numbers, so that every problem can name `file:line`.

Before anything is built, the parsed node graph is checked (`_check_nodes`): only the plain
YAML types (text, numbers, booleans, null, dates, lists, mappings, `<<` merges); mapping keys
that are text; at most MAX_DEPTH levels; and aliases that expand to at most ALIAS_BUDGET nodes
and characters in all (a "billion laughs" document is a few hundred bytes that expand to
gigabytes when walked, hashed or printed). Each refusal names its line."""

from __future__ import annotations

from typing import Any

import yaml

ALIAS_BUDGET = 100_000  # nodes + characters that all the aliases of one document may add
MAX_DEPTH = 64  # nesting of lists and mappings
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"))
_MERGE = _TAG + "merge"


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


class YamlProblem(ValueError):
    """A document refused by the node check: `line: problem` (1-based line)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line, self.problem = line, problem


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _check_nodes(root: yaml.Node, text_keys: bool = True) -> None:
    """Refuse what the plain data model has no place for, before anything is constructed: other
    tags (!!binary, !!set, !!python/..., !custom), keys that are not text (`1:`, `? [a]`, with
    `text_keys`), nesting beyond MAX_DEPTH, recursive aliases, and aliases that together expand
    beyond ALIAS_BUDGET. Each node is walked once; an alias (the same node met again) costs its
    expanded size, memoised, so the check itself stays linear in the document."""
    expanded: dict[int, int] = {}
    open_nodes: set[int] = set()
    spent = 0

    def walk(node: yaml.Node, depth: int, line: int) -> int:
        nonlocal spent
        key = id(node)
        if key in expanded:  # met before: an alias
            spent += expanded[key]
            if spent > ALIAS_BUDGET:
                raise YamlProblem(line, f"aliases expand to more than {ALIAS_BUDGET:,} nodes and characters "
                                        "(a \"billion laughs\" document?)")
            return expanded[key]
        own_line = node.start_mark.line + 1
        if key in open_nodes:
            raise YamlProblem(line, "a recursive alias (a node that contains itself)")
        if depth > MAX_DEPTH:
            raise YamlProblem(own_line, f"nested more than {MAX_DEPTH} levels deep")
        if node.tag not in _PLAIN_TAGS:
            raise YamlProblem(own_line, f"the YAML tag {_tag_name(node.tag)} is not allowed (only text, numbers, "
                                        "booleans, dates, lists and mappings)")
        if isinstance(node, yaml.ScalarNode):
            size = 1 + len(node.value)
        else:
            open_nodes.add(key)
            size = 1
            if isinstance(node, yaml.SequenceNode):
                for child in node.value:
                    size += walk(child, depth + 1, own_line)
            else:
                for key_node, value_node in node.value:
                    key_line = key_node.start_mark.line + 1
                    if key_node.tag == _MERGE:
                        size += 1
                    elif text_keys and not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _TAG + "str"):
                        what = f"{_tag_name(key_node.tag)[2:]} {key_node.value!r}" \
                            if isinstance(key_node, yaml.ScalarNode) else "a list or mapping"
                        raise YamlProblem(key_line, f"keys must be text, not {what} (quote it: \"...\")")
                    else:
                        size += walk(key_node, depth + 1, key_line)
                    size += walk(value_node, depth + 1, key_line)
            open_nodes.discard(key)
        expanded[key] = size
        return size

    walk(root, 0, root.start_mark.line + 1)


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


def _load(text: str, text_keys: bool = True) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, text_keys)
        try:
            return loader.construct_document(node)
        except (ValueError, TypeError, OverflowError) as exc:  # `!!int abc`, an integer of 5,000 digits
            if isinstance(exc, YamlProblem):
                raise
            raise YamlProblem(1, f"bad value: {exc}") from None
    finally:
        loader.dispose()


def load(text: str, filename: str, text_keys: bool = True) -> Any:
    """Parse YAML text; raise DefinitionError-ready messages as ValueError(file:line: ...)."""
    try:
        return _load(text, text_keys)
    except DuplicateKey as exc:
        raise ValueError(f"{filename}:{exc.line}: duplicate id {exc.key!r} (given twice)") from None
    except YamlProblem as exc:
        raise ValueError(f"{filename}:{exc.line}: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ValueError(f"{filename}:{line}: bad YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{filename}:1: bad YAML: {exc}") from None
    except RecursionError:
        raise ValueError(f"{filename}:1: bad YAML: nested too deeply") from None


def load_plain(text: str) -> Any:
    """Parse YAML for data input (--from FILE.yaml), dates kept as ISO strings, checked like a
    definition (YamlProblem, a ValueError, for what the check refuses)."""
    return _load(text)

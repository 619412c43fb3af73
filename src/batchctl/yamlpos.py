"""A YAML loader that builds plain data and records the line/column of every key path, for positioned errors.

Imports: errors, yaml. Refuses duplicate keys, recursive or exploding aliases, over-deep nesting and documents over
5 MiB; implicit timestamps stay strings and mapping keys are kept as written (`ON:` is the key "ON", not True).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from batchctl.errors import ConfigSyntaxError

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "KeyPath",
    "Position",
    "PositionLoader",
    "Positions",
    "load_with_positions",
]

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# A "billion laughs" document is small but expands exponentially through aliases; a real jobs.yaml reuses a few
# anchored blocks at most, so a few thousand nodes from aliases is generous.
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class Position(NamedTuple):
    """1-based line and column."""

    line: int
    col: int


_START = Position(1, 1)


class Positions:
    """Where each key path of a document was written: the key itself for mappings, the item for lists."""

    def __init__(self, table: dict[KeyPath, Position], *, root: Position = _START) -> None:
        self._table = table
        self._root = root

    def lookup(self, path: Sequence[str | int]) -> Position:
        """Position of `path`, else of its deepest ancestor that exists (what a missing key needs)."""
        key = tuple(path)
        for end in range(len(key), 0, -1):
            found = self._table.get(key[:end])
            if found is not None:
                return found
        return self._root


def _resolvers_without_timestamp() -> dict[Any, list[tuple[str, Any]]]:
    return {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class PositionLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: `2024-01-01` stays a string, as a config value should."""


PositionLoader.yaml_implicit_resolvers = _resolvers_without_timestamp()


# PyYAML built without libyaml still works through PositionLoader, only slower.
_LIBYAML: bool = bool(getattr(yaml, "__with_libyaml__", False))
if _LIBYAML:
    from yaml._yaml import CParser

    class _LibyamlLoader(Composer, CParser, SafeConstructor, Resolver):
        """PositionLoader's behaviour with libyaml scanning and parsing (about 6x faster on a 100-job file).

        The Python Composer comes first in the MRO on purpose: CParser's own composer recurses on the C stack and
        crashes the interpreter on deeply nested input, while the Python one over CParser's events raises
        RecursionError, which we report.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _LibyamlLoader.yaml_implicit_resolvers = _resolvers_without_timestamp()


def _at(mark: yaml.Mark | None) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark is not None else _START


class _Builder:
    """Turn a composed node tree into plain dicts/lists/scalars, recording positions as it goes."""

    def __init__(self, loader: SafeConstructor, filename: str) -> None:
        self.loader = loader
        self.filename = filename
        self.table: dict[KeyPath, Position] = {}
        self.built: set[int] = set()
        self.open: set[int] = set()
        self.alias_nodes = 0

    def fail(self, node: Node, message: str) -> ConfigSyntaxError:
        line, col = _at(node.start_mark)
        return ConfigSyntaxError(f"{self.filename}:{line}:{col}: {message}")

    def build(self, node: Node, path: KeyPath, *, expanding: bool) -> Any:
        ident = id(node)
        if ident in self.open:
            raise self.fail(
                node, "an alias refers to a node that contains it (recursive data is not allowed)"
            )
        # The composer returns the anchored node itself for every alias, so a node seen before is an expansion.
        expanding = expanding or ident in self.built
        self.built.add(ident)
        if expanding:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise self.fail(
                    node,
                    f"anchors and aliases expand to more than {MAX_ALIAS_NODES:,} nodes; "
                    "refusing what looks like an alias bomb",
                )
        if len(path) > MAX_DEPTH:
            raise self.fail(node, f"data is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ScalarNode):
            return self.loader.construct_object(node)
        self.open.add(ident)
        try:
            if isinstance(node, MappingNode):
                if node.tag != _MAP_TAG:
                    raise self.fail(node, f"unsupported tag {node.tag!r} on a mapping")
                return self.mapping(node, path, expanding=expanding)
            if isinstance(node, SequenceNode):
                if node.tag != _SEQ_TAG:
                    raise self.fail(node, f"unsupported tag {node.tag!r} on a list")
                return self.sequence(node, path, expanding=expanding)
            raise self.fail(node, f"unsupported YAML node {type(node).__name__}")
        finally:
            self.open.discard(ident)

    def sequence(self, node: SequenceNode, path: KeyPath, *, expanding: bool) -> list[Any]:
        items: list[Any] = []
        for index, item in enumerate(node.value):
            self.table.setdefault((*path, index), _at(item.start_mark))
            items.append(self.build(item, (*path, index), expanding=expanding))
        return items

    def mapping(self, node: MappingNode, path: KeyPath, *, expanding: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "a mapping key must be plain text, not a list or mapping")
            # Keys are names in a config file: keep them as written, so `ON:` or `1:` do not become True or 1.
            key = str(key_node.value)
            if key in result:
                raise self.fail(key_node, f"duplicate key {key!r} (each key may appear once in a mapping)")
            self.table.setdefault((*path, key), _at(key_node.start_mark))
            result[key] = self.build(value_node, (*path, key), expanding=expanding)
        for merge in merges:
            # `<<: *base` or `<<: [*a, *b]`: explicit keys win, then earlier sources win (YAML merge-key spec).
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise self.fail(source, "a merge key (<<) takes a mapping or a list of mappings")
                merged = self.build(source, path, expanding=expanding)
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result


def _byte_size(text: str) -> int:
    if len(text) > MAX_DOCUMENT_BYTES or len(text) * 4 <= MAX_DOCUMENT_BYTES:
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _syntax_error(exc: yaml.YAMLError, text: str, filename: str) -> ConfigSyntaxError:
    if isinstance(exc, yaml.MarkedYAMLError):
        line, col = _at(exc.problem_mark or exc.context_mark)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        source_line = text.split("\n", line)[line - 1] if line <= text.count("\n") + 1 else ""
        tab = source_line[col - 1 : col] == "\t" or "'\\t'" in problem
        hint = "indent YAML with spaces; tabs are not allowed" if tab else None
        return ConfigSyntaxError(f"{filename}:{line}:{col}: {problem}", hint=hint)
    if isinstance(exc, yaml.reader.ReaderError):
        pos = min(max(exc.position, 0), len(text))
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        # libyaml reports the character as '?': read it from the text.
        char = ord(text[pos]) if pos < len(text) else 0
        return ConfigSyntaxError(
            f"{filename}:{line}:{col}: unacceptable character #x{char:04x}: {exc.reason}",
            hint="is this a binary file? jobs.yaml must be UTF-8 text",
        )
    return ConfigSyntaxError(f"{filename}:1:1: {exc}")


def load_with_positions(text: str, *, filename: str) -> tuple[Any, Positions]:
    """Parse one YAML document into plain data plus the position of every key path (None for an empty one)."""
    size = _byte_size(text)
    if size > MAX_DOCUMENT_BYTES:
        raise ConfigSyntaxError(
            f"{filename}:1:1: the document is {size:,} bytes; at most {MAX_DOCUMENT_BYTES:,} (5 MiB) are read",
            hint="jobs.yaml describes jobs; keep data in S3 or in the image",
        )
    return _parse(text, filename=filename, libyaml=_LIBYAML)


def _parse(text: str, *, filename: str, libyaml: bool) -> tuple[Any, Positions]:
    loader: PositionLoader | _LibyamlLoader
    try:
        loader = _LibyamlLoader(text) if libyaml else PositionLoader(text)
    except yaml.YAMLError as exc:  # the pure-Python reader refuses control characters before any parsing
        raise _syntax_error(exc, text, filename) from exc
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Positions({})
        builder = _Builder(loader, filename)
        data = builder.build(node, (), expanding=False)
        return data, Positions(builder.table, root=_at(node.start_mark))
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, filename) from exc
    except RecursionError as exc:
        raise ConfigSyntaxError(
            f"{filename}:1:1: data is nested too deeply (more than {MAX_DEPTH} levels)"
        ) from exc
    finally:
        loader.dispose()

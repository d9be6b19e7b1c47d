"""YAML for presets that a hostile file cannot turn into a hang, a memory bomb or a crash.

`yaml.safe_load` refuses to build Python objects, but it still expands aliases
("billion laughs": 400 bytes that stand for 10^9 strings once something walks them),
recurses once per nesting level (the C composer segfaults on 100,000 `[`) and lets the
second of two equal keys win silently. `load_yaml` first streams the parser's events,
which costs no recursion and stops at the first limit crossed, and only then composes
the document, with a loader that refuses duplicate keys.

    >>> load_yaml("epochs: 3\\nepochs: 5\\n")
    Traceback (most recent call last):
    ...
    training_lib.config.safe_yaml.UnsafeYamlError: key 'epochs' is set twice: line 1 and line 2
"""
from __future__ import annotations

from typing import Any

import yaml

try:  # the C parser is ~10x faster; both are safe loaders
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader

MAX_DEPTH = 20  # nested mappings/lists; presets use 3
MAX_ALIASES = 100  # `*name` references
MAX_NODES = 20_000  # values of the document with every alias expanded; presets have ~100
_MERGE_TAG = "tag:yaml.org,2002:merge"


class UnsafeYamlError(yaml.YAMLError):
    """The document crosses a limit or sets a key twice (a plain message, no marks)."""


def load_yaml(text: str) -> Any:
    """Parse one YAML document within the limits above, refusing duplicate keys."""
    check_limits(text)
    return yaml.load(text, Loader=_PresetLoader)  # noqa: S506 - a SafeLoader subclass


def check_limits(text: str) -> None:
    """Stream the parser's events; raise UnsafeYamlError at the first limit crossed.

    The expanded size is counted without expanding: each anchored node remembers how
    many values it stands for, and an alias adds that many.
    """
    expanded = 0  # values of the document so far, aliases expanded
    aliases = 0
    size_of: dict[str, int] = {}  # anchor -> values it stands for
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, `expanded` when it opened)
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise UnsafeYamlError(f"line {_line(event)}: more than {MAX_ALIASES} aliases "
                                      f"(*{event.anchor}); a preset needs few or none")
            expanded += size_of.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            expanded += 1
            if event.anchor:
                size_of[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) >= MAX_DEPTH:
                raise UnsafeYamlError(f"line {_line(event)}: nested deeper than {MAX_DEPTH} "
                                      "levels; a preset needs 3")
            expanded += 1
            open_nodes.append((event.anchor, expanded))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, opened_at = open_nodes.pop()
            if anchor:
                size_of[anchor] = expanded - opened_at + 1
        if expanded > MAX_NODES:
            raise UnsafeYamlError(f"line {_line(event)}: more than {MAX_NODES} values once "
                                  "aliases are expanded (an alias bomb?); a preset has ~100")


def _line(event: yaml.Event) -> int | str:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else "?"


class _PresetLoader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key set twice in one mapping (naming both lines)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise UnsafeYamlError(f"key {key!r} is set twice: line {first_line[key]} "
                                      f"and line {line}")
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)

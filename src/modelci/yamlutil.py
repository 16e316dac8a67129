"""YAML loading shared by modelci.yaml and data contracts.

One loader class, :class:`UniqueKeyLoader`: libyaml's C parser where PyYAML was built with
it (ten times faster than the pure-Python one on a 6,000-column contract), keys given twice
refused, and alias expansion bounded so a "billion laughs" document is refused in
milliseconds instead of being expanded.
"""

from __future__ import annotations

import reprlib
from collections.abc import Hashable
from typing import Any

import yaml

#: aliases may grow a document to this many values, or to ALIAS_FACTOR times the values
#: written in it, whichever is larger
ALIAS_BUDGET = 100_000
ALIAS_FACTOR = 10

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


class AliasBombError(yaml.constructor.ConstructorError):
    """Aliases expand the document beyond the bound, or refer to themselves."""


class UniqueKeyLoader(_Base):  # type: ignore[misc]
    """A safe loader that refuses a key given twice in one mapping and alias bombs.

    PyYAML silently keeps the last of two equal keys, so a second ``data:`` section (or a
    column declared twice) would quietly drop the first; that is always a mistake. Aliases
    are checked on the composed node graph, before anything is built from it.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        # an alias is written "*name": text without a star has none, and needs no check
        self._aliased = not isinstance(stream, str) or "*" in stream

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None and self._aliased:
            check_expansion(node)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand it past the bound, or that contains itself.

    Sizes are counted on the shared graph (each node once, with memoised subtree sizes),
    so the check is linear in what was written however far the aliases would expand.
    """
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    nodes: dict[int, yaml.Node] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            open_.discard(key)
            continue
        if key in sizes:
            continue
        if key in open_:
            message = "an alias refers to the node that contains it; remove it"
            raise AliasBombError(None, None, message, node.start_mark)
        open_.add(key)
        nodes[key] = node
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    written = len(sizes)
    limit = max(ALIAS_BUDGET, ALIAS_FACTOR * written)
    if sizes[id(root)] <= limit:
        return
    # point at the anchor whose copies cost the most: the largest node used more than once
    uses: dict[int, int] = {}
    for node in nodes.values():
        for child in _children(node):
            uses[id(child)] = uses.get(id(child), 0) + 1
    shared = [k for k, count in uses.items() if count > 1] or [id(root)]
    worst = nodes[max(shared, key=lambda k: sizes[k])]
    raise AliasBombError(
        None,
        None,
        f"aliases expand the document to more than {limit:,} values (from {written:,} "
        "written): write the values out instead of repeating large anchors",
        worst.start_mark,
    )


def shown(value: Any) -> str:
    """A repr short enough for a one-line error, however large the value."""
    return _short.repr(value)


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {shown(key)} is given twice; keep one", key_node.start_mark
                )
            seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
    return mapping


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load(loader_class: type[UniqueKeyLoader], text: str) -> tuple[Any, yaml.Node | None]:
    """Parse ``text`` once: the data and the node graph it was built from (for line numbers)."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, node

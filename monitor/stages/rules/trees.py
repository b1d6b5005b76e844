"""What a rule's Boolean tree says before any article is seen: the terms that must occur
for it to hold (its triggers), the fields it scopes, whether any hit fires it."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.stages.rules.model import RuleDefinition
from monitor.stages.rules.nodes import And, Near, Node, Not, Or, Scope, Term


def triggers(
    node: Node, ids: Mapping[tuple[object, ...], int], shared: Mapping[int, int]
) -> frozenset[int] | None:
    """Terms one of which occurs in every article ``node`` holds for (None if there are none,
    as for a NOT), choosing among the children of an AND the terms fewest rules share."""
    if isinstance(node, Term):
        return frozenset((ids[node.key()],))
    if isinstance(node, Not):
        return None
    if isinstance(node, Scope):
        return triggers(node.child, ids, shared)
    if isinstance(node, Or):
        parts = [triggers(child, ids, shared) for child in node.children]
        return None if None in parts else frozenset().union(*parts)  # type: ignore[arg-type]
    children = (node.left, node.right) if isinstance(node, Near) else node.children
    choices = [found for c in children if (found := triggers(c, ids, shared)) is not None]
    if not choices:
        return None
    return min(choices, key=lambda terms: (sum(shared[t] for t in terms), len(terms)))


def is_simple(definition: RuleDefinition) -> bool:
    """A rule that fires on any occurrence of its terms: no filters, no structure to evaluate."""
    tree = definition.query
    plain = isinstance(tree, Term) or (
        isinstance(tree, Or) and all(isinstance(c, Term) for c in tree.children)
    )
    return (
        plain
        and definition.exclude is None
        and not (definition.languages or definition.sources or definition.exclude_sources)
    )


def scoped_fields(tree: Node | None) -> set[str]:
    if tree is None:
        return set()
    if isinstance(tree, Scope):
        return set(tree.fields) | scoped_fields(tree.child)
    if isinstance(tree, Not):
        return scoped_fields(tree.child)
    if isinstance(tree, Near):
        return scoped_fields(tree.left) | scoped_fields(tree.right)
    if isinstance(tree, And | Or):
        return set().union(*(scoped_fields(c) for c in tree.children))
    return set()

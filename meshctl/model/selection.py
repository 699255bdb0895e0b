"""Label and namespace selection (skv2 ObjectSelector), shared by gateway, delegation and policy selection."""

from __future__ import annotations

from typing import Iterable, TypeVar

from .common import LabelExpression, ObjectSelector
from .resources import Resource

R = TypeVar("R", bound=Resource)


def expression_matches(expr: LabelExpression, labels: dict[str, str]) -> bool:
    present = expr.key in labels
    value = labels.get(expr.key)
    op = expr.operator
    if op in ("Equals", "DoubleEquals", "In"):
        return present and value in expr.values
    if op in ("NotEquals", "NotIn"):
        return not present or value not in expr.values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("GreaterThan", "LessThan"):
        try:
            have, want = int(value or ""), int(expr.values[0])
        except (ValueError, IndexError):
            return False  # Kubernetes: non-integer values never satisfy Gt/Lt
        return have > want if op == "GreaterThan" else have < want
    return False


def labels_match(selector_labels: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector_labels.items())


def selector_matches(selector: ObjectSelector, owner_namespace: str, resource: Resource) -> bool:
    """Namespaces default to the owner's; "*" means all. Labels and expressions are ANDed (our decision)."""
    namespaces = selector.namespaces or [owner_namespace]
    if "*" not in namespaces and resource.namespace not in namespaces:
        return False
    if not labels_match(selector.labels, resource.labels):
        return False
    return all(expression_matches(e, resource.labels) for e in selector.expressions)


def select(selector: ObjectSelector, owner_namespace: str, candidates: Iterable[R]) -> list[R]:
    """Matching resources sorted by namespace then name (the guide's deterministic order)."""
    hits = [r for r in candidates if selector_matches(selector, owner_namespace, r)]
    hits.sort(key=lambda r: (r.namespace, r.name))
    return hits

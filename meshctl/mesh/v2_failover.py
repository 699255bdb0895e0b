"""Endpoint priorities and locality weights from a Gloo v2 FailoverPolicy, relative to the client's locality.

Shared by the sandbox (Backend.priorities) and the xDS translator (EDS priorities and locality weights), so a
node in a locality gets exactly the priorities the sandbox shows for that locality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from .backends import REGION_LABEL, SUBZONE_LABEL, ZONE_LABEL, Endpoint, Locality, locality_priorities

# priorityLabels keys that name the client's own locality rather than a workload label
_LOCALITY_KEYS = {"region": "region", REGION_LABEL: "region", "zone": "zone", ZONE_LABEL: "zone",
                  "subzone": "sub_zone", "subZone": "sub_zone", SUBZONE_LABEL: "sub_zone"}


def _covers(pattern: Locality, loc: Locality) -> bool:
    """A (partial) locality pattern covers a locality: every part the pattern gives is equal."""
    return all(not want or want == have for want, have in ((pattern.region, loc.region), (pattern.zone, loc.zone),
                                                           (pattern.sub_zone, loc.sub_zone)))


def _specificity(pattern: Locality) -> int:
    return sum(1 for part in (pattern.region, pattern.zone, pattern.sub_zone) if part)


@dataclass(frozen=True)
class Target:
    locality: Locality
    weight: int | None


@dataclass(frozen=True)
class Mapping:
    source: Locality
    targets: tuple[Target, ...]

    def levels(self) -> list[int]:
        """The priority step of each target: targets in order, consecutive weighted targets share one step
        (traffic that fails over there is split by weight)."""
        out: list[int] = []
        step = -1
        for i, t in enumerate(self.targets):
            if not (t.weight is not None and i and self.targets[i - 1].weight is not None):
                step += 1
            out.append(step)
        return out


@dataclass(frozen=True)
class FailoverPlan:
    """What one FailoverPolicy says for one destination; `policy` names it for display."""

    policy: str
    mappings: tuple[Mapping, ...] = ()
    priority_labels: tuple[str, ...] = ()

    def mapping_for(self, client: Locality | None) -> Mapping | None:
        """The most specific mapping whose `from` covers the client (first listed among equals)."""
        if client is None or not client.region:
            return None
        hits = [m for m in self.mappings if _covers(m.source, client)]
        return max(hits, key=lambda m: _specificity(m.source)) if hits else None

    def priorities(self, endpoints: Iterable[Endpoint], client: Locality | None,
                   client_labels: dict[str, str] | None = None) -> list[list[Endpoint]]:
        eps = list(endpoints)
        if self.priority_labels and not self.mappings:
            return self._label_priorities(eps, client, client_labels or {})
        mapping = self.mapping_for(client)
        if mapping is None or client is None:
            return locality_priorities(eps, client)
        steps = mapping.levels()
        rest = 2 + (max(steps) + 1 if steps else 0)

        def level(e: Endpoint) -> int:
            if e.locality.region == client.region:
                return 0 if (client.zone and e.locality.zone == client.zone) else 1
            for target, step in zip(mapping.targets, steps, strict=True):
                if _covers(target.locality, e.locality):
                    return 2 + step
            return rest

        return _grouped(eps, level)

    def _label_priorities(self, eps: list[Endpoint], client: Locality | None,
                          client_labels: dict[str, str]) -> list[list[Endpoint]]:
        """Istio failoverPriority: endpoints matching all labels first, then all but the last, and so on."""
        def matches(key: str, e: Endpoint) -> bool:
            if "=" in key:
                k, v = key.split("=", 1)
                return e.label_dict.get(k) == v
            attr = _LOCALITY_KEYS.get(key)
            if attr is not None:
                want = getattr(client, attr, "") if client is not None else ""
                return bool(want) and getattr(e.locality, attr) == want
            return key in client_labels and e.label_dict.get(key) == client_labels[key]

        def level(e: Endpoint) -> int:
            matched = 0
            for key in self.priority_labels:
                if not matches(key, e):
                    break
                matched += 1
            return len(self.priority_labels) - matched

        return _grouped(eps, level)

    def locality_weight(self, client: Locality | None, loc: Locality) -> int | None:
        """The Envoy locality weight of endpoints in `loc` for this client, when the mapping gives one."""
        mapping = self.mapping_for(client)
        if mapping is None or client is None or loc.region == client.region:
            return None
        for target in mapping.targets:
            if _covers(target.locality, loc):
                return target.weight
        return None

    def uses_weights(self, client: Locality | None) -> bool:
        mapping = self.mapping_for(client)
        return mapping is not None and any(t.weight is not None for t in mapping.targets)


def _grouped(eps: list[Endpoint], level_of: Callable[[Endpoint], int]) -> list[list[Endpoint]]:
    levels: dict[int, list[Endpoint]] = {}
    for e in eps:
        levels.setdefault(level_of(e), []).append(e)
    return [levels[k] for k in sorted(levels)]  # empty levels dropped: Envoy needs contiguous priorities

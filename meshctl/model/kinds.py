"""Every kind meshctl loads, by (apiVersion, kind): the v1beta1, discovery and meshctl kinds of resources.py and the
Gloo v2 kinds of v2/resources.py, v2/resilience.py and v2/policies.py. One table for the loader and the Kubernetes client, kept out of both modules so
neither imports the other."""

from __future__ import annotations

from .resources import BASE_KINDS, Resource
from .v2.policies import POLICY_KINDS
from .v2.resilience import RESILIENCE_KINDS
from .v2.resources import V2_KINDS

KINDS: dict[tuple[str, str], type[Resource]] = {**BASE_KINDS, **V2_KINDS, **RESILIENCE_KINDS, **POLICY_KINDS}

# kind → the apiVersion(s) that define it, for "RouteTable is known as apiVersion A or B" messages
KNOWN_KIND_NAMES: dict[str, str] = {}
for _api, _kind in KINDS:
    KNOWN_KIND_NAMES[_kind] = f"{KNOWN_KIND_NAMES[_kind]} or {_api}" if _kind in KNOWN_KIND_NAMES else _api

"""The random route-tree generator in Gloo v2 form: the same trees, written as v2 RouteTables (root tables bound to
a VirtualGateway listener, children selected by name or by labels, both sort methods, table weights and creation
times that tie), so the differential test compares the sandbox with real Envoy on v2 configurations."""

from __future__ import annotations

from typing import Any

from fixtures_e2e import _HOST_FOR, RouteTreeGenerator

from meshctl.devtools.gloo_v2 import convert_documents

# v2 hosts allow a wildcard only as the left-most label and no bare `*`
_V2_DOMAINS = {"p.*": "*.p.test", "*": "*.test"}
_HOST_FOR.setdefault("*.p.test", ["x.p.test", "deep.x.p.test"])
_HOST_FOR.setdefault("*.test", ["other.test", "zz.test"])
_TIMES = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z", ""]


class RouteTreeGeneratorV2(RouteTreeGenerator):
    def config(self) -> list[dict[str, Any]]:
        docs = super().config()
        for d in docs:
            if d["kind"] == "VirtualHost":
                d["spec"]["domains"] = [_V2_DOMAINS.get(x, x) for x in d["spec"]["domains"]]
            if d["kind"] == "RouteTable":
                created = self.rng.choice(_TIMES)
                if created:
                    d["metadata"]["creationTimestamp"] = created
        return convert_documents(docs, listener_port=8080)

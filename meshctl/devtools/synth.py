"""Synthetic configurations and requests for benchmarks and property tests (deterministic from a seed).

N routes in about N/10 RouteTables, three levels of delegation below one VirtualHost, mixed matchers
(prefix, exact, regex, headers, query, method) and both sort methods.
"""

from __future__ import annotations

import random

import yaml

from ..routing.evaluate import Request
from ..routing.types import RoutingView

GATEWAY_NS = "synth"
DOMAIN = "synth.example.com"


def _leaf(rng: random.Random, name: str, top_level: bool, services: int) -> dict:
    roll = rng.random()
    seg = f"/{name}"
    if roll < 0.55:
        uri = {"prefix": seg}
    elif roll < 0.8:
        uri = {"exact": f"{seg}/item"}
    elif roll < 0.92:
        uri = {"regex": f"{seg}/[0-9]+"}
    else:  # case-insensitive only where no delegating parent could disagree
        uri = {"prefix": seg, "ignoreCase": True} if top_level else {"prefix": seg.upper()}
    matcher: dict = {"uri": uri}
    extra = rng.random()
    if extra < 0.1:
        matcher["headers"] = [{"name": "x-canary", "value": "1"}]
    elif extra < 0.18:
        matcher["method"] = rng.choice(["GET", "POST"])
    elif extra < 0.22:
        matcher["queryParameters"] = [{"name": "v", "value": str(rng.randint(1, 3))}]
    route: dict = {"name": name, "matchers": [matcher]}
    if rng.random() < 0.5:
        route["directResponseAction"] = {"status": 200, "body": name}
    else:
        route["routeAction"] = {"destinations": [{"kubeService": {
            "name": f"svc{rng.randrange(services)}", "namespace": GATEWAY_NS, "clusterName": "synth-1"}}]}
    return route


def synthetic_documents(n_routes: int, seed: int = 0, services: int = 20) -> list[dict]:
    """Resources (as dicts) for about `n_routes` flattened routes."""
    rng = random.Random(seed)
    n_tables = max(3, n_routes // 10)
    level1 = max(1, n_tables // 7)
    level2 = min(n_tables - level1, 2 * level1)
    level3 = max(0, n_tables - level1 - level2)
    tables: list[dict] = []
    counter = 0

    def table(name: str, routes: list[dict], weight: int) -> dict:
        return {"apiVersion": "networking.enterprise.mesh.gloo.solo.io/v1beta1", "kind": "RouteTable",
                "metadata": {"name": name, "namespace": GATEWAY_NS, "labels": {"tier": name.split("-")[0]}},
                "spec": {"weight": weight, "routes": routes}}

    def leaves(count: int, top_level: bool = False) -> list[dict]:
        nonlocal counter
        out = []
        for _ in range(count):
            counter += 1
            out.append(_leaf(rng, f"r{counter}", top_level, services))
        return out

    # level 3: leaves only
    l3_names = [f"l3-{i}" for i in range(level3)]
    for name in l3_names:
        tables.append(table(name, leaves(10), rng.choice([0, 0, 5, 10])))
    # level 2: delegate to a share of level-3 tables, the rest leaves
    l2_names = [f"l2-{i}" for i in range(level2)]
    for i, name in enumerate(l2_names):
        children = l3_names[i::level2] if level2 else []
        routes = [{"name": f"to-{c}", "matchers": [{"uri": {"prefix": f"/{c}"}}],
                   "delegateAction": {"refs": [{"name": c, "namespace": GATEWAY_NS}]}} for c in children]
        routes += leaves(max(0, 10 - len(routes)))
        tables.append(table(name, routes, rng.choice([0, 5])))
    # level 1
    l1_names = [f"l1-{i}" for i in range(level1)]
    for i, name in enumerate(l1_names):
        children = l2_names[i::level1] if level1 else []
        routes = [{"name": f"to-{c}", "matchers": [{"uri": {"prefix": f"/{c}"}}],
                   "delegateAction": {"refs": [{"name": c, "namespace": GATEWAY_NS}],
                                      **({"sortMethod": "ROUTE_SPECIFICITY"} if rng.random() < 0.3 else {})}}
                  for c in children]
        routes += leaves(max(0, 10 - len(routes)))
        tables.append(table(name, routes, 0))
    vh_routes = []
    for i, name in enumerate(l1_names):
        vh_routes.append({"name": f"to-{name}", "matchers": [{"uri": {"prefix": f"/{name}"}}],
                          "delegateAction": {"refs": [{"name": name, "namespace": GATEWAY_NS}],
                                             "sortMethod": "ROUTE_SPECIFICITY" if i % 3 == 2 else "TABLE_WEIGHT"}})
    vh_routes += leaves(max(0, n_routes - counter), top_level=True)
    vh_routes.append({"name": "catch-all", "matchers": [{"uri": {"prefix": "/"}}],
                      "directResponseAction": {"status": 404, "body": "synthetic catch-all"}})
    docs = [
        {"apiVersion": "networking.enterprise.mesh.gloo.solo.io/v1beta1", "kind": "VirtualGateway",
         "metadata": {"name": "synth-gateway", "namespace": GATEWAY_NS},
         "spec": {"connectionHandlers": [{"http": {"routeConfig": [{"virtualHostSelector": {}}]}}]}},
        {"apiVersion": "networking.enterprise.mesh.gloo.solo.io/v1beta1", "kind": "VirtualHost",
         "metadata": {"name": "synth-vh", "namespace": GATEWAY_NS},
         "spec": {"domains": [DOMAIN], "routes": vh_routes}},
        *tables,
        {"apiVersion": "meshctl.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "synth-1"},
         "spec": {"locality": {"region": "r1", "zone": "r1a"},
                  "services": [{"name": f"svc{i}", "namespace": GATEWAY_NS, "ports": [{"name": "http", "port": 8080}],
                                "endpoints": [{"address": f"10.9.{i // 250}.{i % 250 + 1}"}]}
                               for i in range(services)]}},
    ]
    return docs


def synthetic_config_text(n_routes: int, seed: int = 0) -> str:
    return yaml.safe_dump_all(synthetic_documents(n_routes, seed), sort_keys=False, default_flow_style=False)


def synthetic_requests(view: RoutingView, n: int, seed: int = 0, miss_ratio: float = 0.1) -> list[Request]:
    """Requests aimed at random routes of the view (via witnesses), plus some that match nothing specific."""
    from ..routing.shadow import witness_for

    rng = random.Random(seed)
    routes = [(v, r) for g in view.gateways for v in g.virtual_hosts for r in v.routes if r.matchers]
    pool: list[Request] = []
    for v, r in rng.sample(routes, min(len(routes), max(1, n // 4))):
        domain = next((d for d in v.domains if "*" not in d), DOMAIN)
        w = witness_for(rng.choice(r.matchers), domain)
        if w is not None:
            pool.append(w)
    out: list[Request] = []
    for _ in range(n):
        if not pool or rng.random() < miss_ratio:
            out.append(Request("GET", DOMAIN, f"/miss/{rng.randrange(10**6)}"))
        else:
            base = rng.choice(pool)
            out.append(Request(base.method, base.authority, base.path, dict(base.headers)))
    return out


V2_API = "networking.gloo.solo.io/v2"


def synthetic_v2_documents(n_routes: int, n_tables: int = 100, seed: int = 0, services: int = 20) -> list[dict]:
    """Gloo v2 resources for about `n_routes` flattened routes in `n_tables` RouteTables: one root table bound to a
    VirtualGateway listener delegates to child tables by name and by labels (both sort methods); a tenth of the
    children delegate once more to grandchild tables selected by labels."""
    rng = random.Random(seed)
    n_children = max(1, n_tables - 1)
    per_table = max(1, n_routes // n_children)
    counter = 0

    def leaves(count: int, top_level: bool = False) -> list[dict]:
        nonlocal counter
        out = []
        for _ in range(count):
            counter += 1
            v1 = _leaf(rng, f"r{counter}", top_level, services)
            route = {"name": v1["name"], "matchers": v1["matchers"]}
            if "directResponseAction" in v1:
                route["directResponse"] = v1["directResponseAction"]
            else:
                svc = v1["routeAction"]["destinations"][0]["kubeService"]["name"]
                route["forwardTo"] = {"destinations": [{"ref": {"name": svc, "namespace": GATEWAY_NS},
                                                        "port": {"number": 8080}}]}
            out.append(route)
        return out

    def table(name: str, http: list[dict], labels: dict[str, str], weight: int) -> dict:
        return {"apiVersion": V2_API, "kind": "RouteTable",
                "metadata": {"name": name, "namespace": GATEWAY_NS, "labels": labels,
                             "creationTimestamp": f"2024-01-01T00:{rng.randrange(60):02d}:00Z"},
                "spec": {"weight": weight, "http": http}}

    grandchildren = n_children // 10
    children = n_children - grandchildren
    tables: list[dict] = []
    for i in range(grandchildren):
        tables.append(table(f"g-{i}", leaves(per_table), {"tier": "g", "group": f"g{i}"}, rng.choice([0, 5])))
    root_http: list[dict] = []
    for i in range(children):
        http: list[dict] = []
        if i < grandchildren:  # one grandchild table each, selected by labels
            http.append({"name": f"to-g{i}", "matchers": [{"uri": {"prefix": "/g"}}],
                         "delegate": {"routeTables": [{"labels": {"tier": "g", "group": f"g{i}"}}]}})
        http += leaves(per_table - len(http))
        tables.append(table(f"c-{i}", http, {"tier": "c", "group": f"c{i}"}, rng.choice([0, 0, 5, 10])))
        # the root reaches each child under its own prefix, by name or by labels, with either sort method
        selector = {"name": f"c-{i}", "namespace": GATEWAY_NS} if i % 2 == 0 else {"labels": {"group": f"c{i}"}}
        root_http.append({"name": f"to-c{i}", "matchers": [{"uri": {"prefix": f"/c{i}"}}],
                          "delegate": {"routeTables": [selector],
                                       "sortMethod": "ROUTE_SPECIFICITY" if i % 3 == 2 else "TABLE_WEIGHT"}})
    root_http += leaves(max(0, n_routes - counter), top_level=True)
    root_http.append({"name": "catch-all", "matchers": [{"uri": {"prefix": "/"}}],
                      "directResponse": {"status": 404, "body": "synthetic catch-all"}})
    root = {"apiVersion": V2_API, "kind": "RouteTable", "metadata": {"name": "synth-root", "namespace": GATEWAY_NS},
            "spec": {"hosts": [DOMAIN], "virtualGateways": [{"name": "synth-gateway"}], "http": root_http}}
    return [
        {"apiVersion": V2_API, "kind": "VirtualGateway", "metadata": {"name": "synth-gateway", "namespace": GATEWAY_NS},
         "spec": {"listeners": [{"http": {}, "port": {"number": 8080}}]}},
        root, *tables,
        {"apiVersion": "meshctl.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "synth-1"},
         "spec": {"locality": {"region": "r1", "zone": "r1a"},
                  "services": [{"name": f"svc{i}", "namespace": GATEWAY_NS, "ports": [{"name": "http", "port": 8080}],
                                "endpoints": [{"address": f"10.9.{i // 250}.{i % 250 + 1}"}]}
                               for i in range(services)]}},
    ]


def synthetic_v2_config_text(n_routes: int, seed: int = 0, n_tables: int = 100) -> str:
    return yaml.safe_dump_all(synthetic_v2_documents(n_routes, n_tables, seed), sort_keys=False,
                              default_flow_style=False)

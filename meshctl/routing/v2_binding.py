"""Which v2 root RouteTables bind to a VirtualGateway listener, and which of their hosts it serves (G1-G5)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.v2.resources import ListenerV2, ObjectSelectorV2, RouteTableFilter, RouteTableV2, VirtualGatewayV2


def dns_matches(pattern: str, host: str) -> bool:
    """G5 (Istio semantics): equal; or the filter wildcard covers the host; a table wildcard host binds when it is
    equally or more specific than the filter wildcard (`*.a.example.com` under `*.example.com`)."""
    pattern, host = pattern.lower(), host.lower()
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*"):
        suffix = pattern[1:]
        if host.startswith("*"):
            return host[1:].endswith(suffix)
        return host.endswith(suffix) and len(host) > len(suffix)
    return False


def filter_namespace_matches(filter_host: str, table: RouteTableV2, gateway: VirtualGatewayV2) -> tuple[bool, str]:
    """Split `[ns/]dnsName` (default `*/`); `.` is the gateway's namespace. Returns (namespace ok, dnsName)."""
    ns, sep, dns = filter_host.rpartition("/")
    if not sep:
        return True, filter_host
    if ns in ("", "*"):
        return True, dns
    if ns == ".":
        return table.namespace == gateway.namespace, dns
    return table.namespace == ns, dns


def selector_matches(sel: ObjectSelectorV2 | None, table: RouteTableV2) -> bool:
    """G4 (our decision): a nil selector is no constraint; workspace/cluster are not checked (one workspace)."""
    if sel is None:
        return True
    if sel.name and sel.name != table.name:
        return False
    if sel.namespace and sel.namespace != table.namespace:
        return False
    return all(table.labels.get(k) == v for k, v in sel.labels.items())


def filter_hosts(f: RouteTableFilter, table: RouteTableV2, gateway: VirtualGatewayV2) -> list[str]:
    if not selector_matches(f.selector, table):
        return []
    ns_ok, dns = filter_namespace_matches(f.host or "*", table, gateway)
    if not ns_ok:
        return []
    return [h for h in table.spec.hosts if dns_matches(dns, h)]


@dataclass
class Binding:
    table: RouteTableV2
    hosts: list[str]  # the table's hosts this listener serves (in the table's order)


def references_gateway(table: RouteTableV2, gateway: VirtualGatewayV2) -> list[int]:
    """Indexes of `virtualGateways` entries naming this gateway (namespace defaults to the table's, G1)."""
    return [i for i, ref in enumerate(table.spec.virtual_gateways)
            if ref.name == gateway.name and (ref.namespace or table.namespace) == gateway.namespace]


def bind(listener: ListenerV2, gateway: VirtualGatewayV2, table: RouteTableV2) -> Binding | None:
    """G3: no filters → every host; else the hosts admitted by at least one filter (OQ3: only those are served)."""
    if not listener.allowed_route_tables:
        return Binding(table, list(table.spec.hosts))
    admitted: set[str] = set()
    for f in listener.allowed_route_tables:
        admitted.update(filter_hosts(f, table, gateway))
    hosts = [h for h in table.spec.hosts if h in admitted]
    return Binding(table, hosts) if hosts else None

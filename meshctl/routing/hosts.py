"""Virtual host selection by request authority, by Envoy's domain rules (exact, *.suffix, prefix.*, *)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from .types import VirtualHostView

DomainKind = Literal["exact", "suffix", "prefix", "any"]


@dataclass(frozen=True)
class HostMatch:
    virtual_host: VirtualHostView
    domain: str  # the domain as written that won
    kind: DomainKind


def split_authority(authority: str) -> tuple[str, str | None]:
    """("host", "port" or None); IPv6 literals keep their brackets."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return authority, None
        host, rest = authority[: end + 1], authority[end + 1:]
        return host, (rest[1:] if rest.startswith(":") else None)
    if ":" in authority:
        host, port = authority.rsplit(":", 1)
        return host, port
    return authority, None


def normalise_host(authority: str) -> str:
    """Lower-case host without the port (Envoy compares domains case-insensitively, port stripped)."""
    host, _ = split_authority(authority)
    return host.lower()


def domain_kind(domain: str) -> DomainKind:
    if domain == "*":
        return "any"
    if domain.startswith("*"):
        return "suffix"
    if domain.endswith("*"):
        return "prefix"
    return "exact"


class HostIndex:
    """The domains of one gateway's virtual hosts, arranged for Envoy's search order."""

    def __init__(self, virtual_hosts: Sequence[VirtualHostView]) -> None:
        self.exact: dict[str, tuple[VirtualHostView, str]] = {}
        suffixes: list[tuple[str, VirtualHostView, str]] = []
        prefixes: list[tuple[str, VirtualHostView, str]] = []
        self.any: tuple[VirtualHostView, str] | None = None
        for vh in virtual_hosts:
            for domain in vh.domains:
                low = domain.lower()
                kind = domain_kind(low)
                if kind == "exact":
                    self.exact.setdefault(low, (vh, domain))  # Envoy rejects duplicates; keep the first
                elif kind == "suffix":
                    suffixes.append((low[1:], vh, domain))
                elif kind == "prefix":
                    prefixes.append((low[:-1], vh, domain))
                elif self.any is None:
                    self.any = (vh, domain)
        # longest wildcard first; sorted() is stable, so equal lengths keep written order
        self.suffixes = sorted(suffixes, key=lambda s: -len(s[0]))
        self.prefixes = sorted(prefixes, key=lambda p: -len(p[0]))
        self._cache: dict[str, HostMatch | None] = {}

    def select(self, authority: str) -> HostMatch | None:
        hit = self._cache.get(authority)
        if hit is not None or authority in self._cache:
            return hit
        result = self._select(authority)
        if len(self._cache) < 10_000:
            self._cache[authority] = result
        return result

    def _select(self, authority: str) -> HostMatch | None:
        host = normalise_host(authority)
        if not host:
            return None
        # only the host: the gateway listener strips the port first (strip_any_host_port), so a domain written
        # with a port never matches in Envoy (the xDS differential test checks this against real Envoy)
        exact = self.exact.get(host)
        if exact is not None:
            return HostMatch(exact[0], exact[1], "exact")
        for suffix, vh, domain in self.suffixes:
            if host.endswith(suffix) and len(host) > len(suffix):  # a wildcard never matches an empty string
                return HostMatch(vh, domain, "suffix")
        for prefix, vh, domain in self.prefixes:
            if host.startswith(prefix) and len(host) > len(prefix):
                return HostMatch(vh, domain, "prefix")
        if self.any is not None:
            return HostMatch(self.any[0], self.any[1], "any")
        return None


def select_virtual_host(virtual_hosts: Sequence[VirtualHostView], authority: str) -> HostMatch | None:
    return HostIndex(virtual_hosts).select(authority)

"""V4: an ExternalService address may appear once among the ExternalServices visible in any one workspace; the
one accepted earlier wins and the newer one is refused (not translated anywhere)."""

from __future__ import annotations

import ipaddress
import weakref
from dataclasses import dataclass

from ..findings import Finding, Severity, format_path
from ..resources import ExternalService
from ..snapshot import Snapshot
from .workspaces import WorkspaceModel, workspaces_of


def normalised_address(address: str) -> str:
    """(our decision, OQ7) the same address = the same normalised IP or CIDR; anything else compared as text."""
    text = address.strip()
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text.lower()


def accepted_order(es: ExternalService) -> tuple[str, str, str]:
    return (es.metadata.creation_timestamp, es.namespace, es.name)


@dataclass(frozen=True)
class AddressConflict:
    winner: ExternalService
    loser: ExternalService
    address: str
    workspace: str


class ExternalServiceAddresses:
    def __init__(self, snapshot: Snapshot, model: WorkspaceModel | None = None) -> None:
        self.model = model or workspaces_of(snapshot)
        candidates = [r for r in snapshot.of_kind("ExternalService")
                      if isinstance(r, ExternalService) and self.model.config_counts(r)]
        candidates.sort(key=accepted_order)
        self.conflicts: list[AddressConflict] = []
        self.refused: set[tuple[str, str, str]] = set()
        visible_in = {es.key: self.model.visible_in(es) for es in candidates}
        for workspace in self.model.workspaces:
            taken: dict[str, ExternalService] = {}
            for es in candidates:
                if workspace not in visible_in[es.key] or es.key in self.refused:
                    continue
                for address in es.spec.addresses:
                    norm = normalised_address(address)
                    first = taken.get(norm)
                    if first is not None and first.key != es.key:
                        self.conflicts.append(AddressConflict(first, es, address, workspace))
                        self.refused.add(es.key)
                        break
                else:
                    for address in es.spec.addresses:
                        taken.setdefault(normalised_address(address), es)

    def is_refused(self, es: ExternalService) -> bool:
        return es.key in self.refused

    def findings(self) -> list[Finding]:
        out = []
        for c in self.conflicts:
            index = next((i for i, a in enumerate(c.loser.spec.addresses) if a == c.address), 0)
            path = ("spec", "addresses", index)
            file, line, col = c.loser.locate(path)
            out.append(Finding(
                Severity.ERROR, "external-service-address-conflict",
                f"address {c.address} is already declared by ExternalService {c.winner.namespace}/{c.winner.name}, "
                f"accepted earlier; both are visible in workspace {c.workspace}, so "
                f"{c.loser.namespace}/{c.loser.name} is refused and not translated",
                file=file, line=line, column=col, resource=c.loser.display, path=format_path(path)))
        return out


_CACHE: "weakref.WeakKeyDictionary[Snapshot, ExternalServiceAddresses]" = weakref.WeakKeyDictionary()


def external_service_addresses(snapshot: Snapshot) -> ExternalServiceAddresses:
    found = _CACHE.get(snapshot)
    if found is None:
        found = ExternalServiceAddresses(snapshot)
        _CACHE[snapshot] = found
    return found

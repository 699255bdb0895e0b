"""Plugin `export-envoy`: the Envoy resources each node would get, written to files (one directory per node)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from meshctl.extend import MeshctlAPI


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name)


def run(api: MeshctlAPI, args: Any) -> int:
    from meshctl.cli.common import UsageError
    from meshctl.mesh.index import Locality
    from meshctl.xds.cache import NodeInfo
    from meshctl.xds.translate import Translator
    from meshctl.xds.translate_json import resources_json

    try:
        locality = Locality.parse(args.node_locality)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    nodes = list(args.node or []) or [f"gateway:{g.name}" for g in api.view.gateways]
    if not nodes:
        raise UsageError("no gateway in the configuration and no --node given")
    out = Path(args.out)
    translator = Translator(api.snapshot)
    written = []
    for role in nodes:
        loc = (locality.region, locality.zone, locality.sub_zone) if locality else ("", "", "")
        node = NodeInfo(id=f"export-{_safe(role)}", cluster=role, locality=loc, metadata={})
        resources = translator.node_resources(node)
        directory = out / _safe(role)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for kind, items in resources_json(resources.by_type()).items():
                target = directory / f"{kind}.json"
                tmp = target.with_suffix(".json.tmp")
                tmp.write_text(json.dumps(items, indent=2) + "\n", encoding="utf-8")
                os.replace(tmp, target)  # atomic: a reader never sees half a file
                written.append({"node": role, "file": str(target), "resources": len(items)})
        except OSError as exc:
            raise UsageError(f"cannot write {directory}: {exc.strerror or exc}") from exc
    api.output.table(["NODE", "FILE", "RESOURCES"], [[w["node"], w["file"], w["resources"]] for w in written])
    return 0

"""`meshctl export`: print resources as YAML ready for `kubectl apply` (server-managed fields stripped)."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from ..model.resources import DISCOVERY_KINDS, MESHCTL_V1ALPHA1, Resource, UnknownResource
from ..model.schema import to_dict
from ..sources.kube_manifest import clean_manifest
from .common import EXIT_OK, add_source_args, load_sources

EXAMPLE = """example:
  meshctl export --demo > mesh.yaml && kubectl apply -f mesh.yaml
  meshctl export --context mgmt -n bookinfo
  meshctl export --context east --include-discovery
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="print resources as YAML for kubectl apply",
                       description="Print the Gloo resources of the given sources as YAML documents separated "
                                   "by ---, with status, resourceVersion, uid, managedFields and "
                                   "creationTimestamp removed, ready for `kubectl apply -f -`.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    p.add_argument("-n", "--namespace", metavar="NS", help="only resources of this namespace")
    p.add_argument("--include-discovery", action="store_true",
                   help="also export discovery objects (Service, Endpoints, EndpointSlice, Node, Pod)")
    p.add_argument("--include-meshctl", action="store_true",
                   help="also export meshctl's own kinds (meshctl.io/v1alpha1 Cluster)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.kubeconfig and not args.context:
        from .kube_args import contexts_from_args

        args.context = contexts_from_args(args)
    snapshot = load_sources(args)
    documents = [manifest_of(r) for r in snapshot if wanted(r, args)]
    print(render(documents), end="")
    return EXIT_OK


def wanted(resource: Resource, args: argparse.Namespace) -> bool:
    meshctl_only = resource.api_version.startswith(MESHCTL_V1ALPHA1.split("/")[0] + "/")
    if meshctl_only:
        if not args.include_meshctl:
            return False
    elif resource.kind in DISCOVERY_KINDS and not isinstance(resource, UnknownResource):
        if not args.include_discovery:
            return False
    namespace = getattr(args, "namespace", None)
    if namespace and (not resource.NAMESPACED or resource.namespace != namespace):
        return False
    return True


def manifest_of(resource: Resource) -> dict[str, Any]:
    raw = resource.raw if resource.raw else to_dict(resource)
    manifest = clean_manifest(raw)
    if resource.NAMESPACED:  # what the loader assumed (kubectl would too) is written out, so nothing is implied
        manifest.setdefault("metadata", {}).setdefault("namespace", resource.namespace)
    return manifest


def render(documents: list[dict[str, Any]]) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False, default_flow_style=False, width=120)
                        for d in documents)

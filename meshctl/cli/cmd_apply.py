"""`meshctl apply -f FILE --context CTX`: write resources to a cluster after a server-side dry run, never blindly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..model.yamldoc import parse_text, read_text
from .common import EXIT_FINDINGS, EXIT_OK, UsageError, add_output_arg, emit

EXAMPLE = """example:
  meshctl apply -f reviews-routetable.yaml --context mgmt
  meshctl export --context mgmt -n bookinfo > edit.yaml; $EDITOR edit.yaml; meshctl apply -f edit.yaml --context mgmt
  meshctl apply -f change.yaml --dry-run

A manifest that carries metadata.resourceVersion is applied only if the live object still has that
version; otherwise the conflict is shown as diffs (base / live / yours) and nothing is written.
Exit status: 0 all applied, 1 any conflict / denial / invalid object / error, 2 usage or --read-only.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apply", help="apply resources to a Kubernetes cluster (dry run first)",
                       description="Create or update resources in a cluster. Each one is first checked with a "
                                   "server-side dry run; a failing dry run stops that resource. Updates carry "
                                   "the resourceVersion the edit started from, so a concurrent change is "
                                   "reported as a conflict instead of being overwritten.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-f", "--filename", action="append", required=True, metavar="FILE",
                   help="YAML file with one or more resources ('-' reads stdin; repeatable)")
    p.add_argument("--context", metavar="CTX", help="Kubernetes context to write to (default: the current one)")
    p.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    p.add_argument("-n", "--namespace", metavar="NS", help="namespace for resources that name none")
    p.add_argument("--dry-run", action="store_true", help="only run the server-side dry run; write nothing")
    p.add_argument("--base", metavar="FILE",
                   help="the manifest as it was when the edit began (improves the conflict diff and lets "
                        "removed fields be removed)")
    add_output_arg(p, ("text", "json"), "text")
    p.set_defaults(func=run)


def _read_documents(name: str) -> list[dict]:
    if name == "-":
        text, problems = sys.stdin.read(), []
    else:
        if not Path(name).is_file():
            raise UsageError(f"no such file: {name}")
        text, problems = read_text(Path(name))
    if text is None:
        raise UsageError(problems[0].render() if problems else f"cannot read {name}")
    docs, problems = parse_text(text, name)
    errors = [p for p in problems if p.severity.value == "error"]
    if errors:
        raise UsageError(errors[0].render())
    return [d.data for d in docs]


def run(args: argparse.Namespace) -> int:
    if getattr(args, "read_only", False):
        raise UsageError("apply refused: --read-only forbids every change to a cluster (nothing was sent)")
    from ..sources.kube_apply import apply_resource
    from ..sources.kube_client import KubeClient, KubeConfigError

    manifests = [m for name in args.filename for m in _read_documents(name)]
    if not manifests:
        raise UsageError("no resources to apply")
    bases = {}
    if args.base:
        for doc in _read_documents(args.base):
            meta = doc.get("metadata") or {}
            bases[(doc.get("kind"), meta.get("namespace") or args.namespace or "default", meta.get("name"))] = doc
    try:
        client = KubeClient(args.context, args.kubeconfig)
    except KubeConfigError as exc:
        raise UsageError(str(exc)) from exc
    results = []
    try:
        for manifest in manifests:
            meta = manifest.get("metadata") or {}
            base = bases.get((manifest.get("kind"), meta.get("namespace") or args.namespace or "default",
                              meta.get("name")))
            results.append(apply_resource(client.context, manifest, None, dry_run_first=True, base=base,
                                          client=client, dry_run_only=args.dry_run, namespace=args.namespace))
    finally:
        client.close()
    if args.output == "json":
        emit([r.to_dict() for r in results], "json")
    else:
        emit("\n".join(r.render() for r in results), "text")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS

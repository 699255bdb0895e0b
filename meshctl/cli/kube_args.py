"""Command-line glue for live clusters: --context / --kubeconfig / --cluster-name / -n into sources and snapshots.

`cli.common.load_sources` imports it only when a context is named, so plain file commands never load kubernetes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..model.snapshot import Snapshot, load_snapshot
from ..sources.base import Source
from ..sources.files import DemoSource, FileSource
from ..sources.kube import KubeSource
from ..sources.kube_client import KubeClient, KubeConfigError, list_contexts


def parse_cluster_names(values: list[str] | None) -> dict[str, str]:
    """`--cluster-name CTX=NAME` (repeatable) into {context: cluster name}."""
    names: dict[str, str] = {}
    for value in values or []:
        context, sep, name = value.partition("=")
        if not sep or not context or not name:
            raise UsageError(f"--cluster-name must be CONTEXT=NAME, got {value!r}")
        names[context] = name
    return names


def contexts_from_args(args: argparse.Namespace, default_to_current: bool = False) -> list[str]:
    """The named contexts; with none named, the kubeconfig's current one when asked for (or --kubeconfig given)."""
    contexts = list(dict.fromkeys(getattr(args, "context", None) or []))
    kubeconfig = getattr(args, "kubeconfig", None)
    if not contexts and (default_to_current or kubeconfig):
        try:
            _, current = list_contexts(kubeconfig)
        except KubeConfigError as exc:
            raise UsageError(str(exc)) from exc
        if not current:
            raise UsageError("the kubeconfig has no current context; name one with --context")
        contexts = [current]
    return contexts


def kube_sources_from_args(args: argparse.Namespace, default_to_current: bool = False,
                           **source_options: object) -> list[KubeSource]:
    """One KubeSource per context. The first context is the management cluster (Gloo objects are read from
    every context that holds them); each is named by its Gloo cluster name (--cluster-name, else the context)."""
    kubeconfig = getattr(args, "kubeconfig", None)
    names = parse_cluster_names(getattr(args, "cluster_name", None))
    contexts = contexts_from_args(args, default_to_current)
    unknown = sorted(set(names) - set(contexts))
    if unknown and contexts:
        raise UsageError(f"--cluster-name names context(s) not given with --context: {', '.join(unknown)}")
    sources = []
    for i, context in enumerate(contexts):
        try:
            client = KubeClient(context, kubeconfig)
        except KubeConfigError as exc:
            for s in sources:
                s.close()
            raise UsageError(str(exc)) from exc
        sources.append(KubeSource(context, client=client, kubeconfig=kubeconfig,
                                  cluster_name=names.get(context, context),
                                  namespace=getattr(args, "namespace", None), management=i == 0,
                                  **source_options))  # type: ignore[arg-type]
    return sources


def sources_from_args(args: argparse.Namespace, default_to_current: bool = False,
                      **source_options: object) -> list[Source]:
    """Every source the arguments name (demo, files, contexts), not yet loaded: for a Workspace."""
    sources: list[Source] = []
    paths = list(getattr(args, "paths", None) or [])
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"no such file or directory: {p}")
    if getattr(args, "demo", False):
        sources.append(DemoSource())
    if paths:
        sources.append(FileSource(paths))
    sources.extend(kube_sources_from_args(args, default_to_current, **source_options))
    return sources


def load_kube_snapshot(args: argparse.Namespace) -> Snapshot:
    """One-shot: list every named context once (no watch), plus any PATH / --demo, into one snapshot."""
    sources = kube_sources_from_args(args)
    try:
        for source in sources:
            source.load()
            if source.status.state in ("stale", "error"):
                raise UsageError(f"context {source.context}: {source.status.reason}")
        paths = list(getattr(args, "paths", None) or [])
        demo = bool(getattr(args, "demo", False))
        files = load_snapshot(paths, demo=demo) if (paths or demo) else Snapshot([])
        resources = list(files.resources)
        findings = list(files.findings)
        for source in sources:
            found, problems, _ = source.snapshot_parts()
            resources.extend(found)
            findings.extend(problems)
        return Snapshot(resources, findings, files.files)
    finally:
        for source in sources:
            source.close()


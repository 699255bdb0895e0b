"""The plugin commands shipped with meshctl, declared here: name, help and arguments.

Listing plugins, building the command line and the REPL/TUI forms read only these declarations; a command's module
(meshctl/plugins/<module>.py) is imported when the command runs. pyproject.toml registers each function below under
the `meshctl.plugins` entry-point group, so the shipped commands are found exactly like a third-party plugin's, from
an editable install or a wheel alike.
"""

from __future__ import annotations

from meshctl.extend import Arg, PluginRegistry


def coverage(registry: PluginRegistry) -> None:
    registry.declare(
        "coverage", help="routes that no test case reaches",
        args=[Arg("--cases", "router_check case file (repeatable)", str, required=True, multiple=True),
              Arg("--fail-under", "exit 1 when coverage (percent) is lower", float)],
        example="meshctl coverage --demo --cases tests/cases/demo.yaml --fail-under 80",
        target="meshctl.plugins.coverage:run",
    )


def diff(registry: PluginRegistry) -> None:
    registry.declare(
        "diff", help="compare two config trees: route changes and requests that change outcome (old → new route)",
        args=[Arg("old", "the configuration before (file or directory)", str, required=True),
              Arg("new", "the configuration after (file or directory)", str, required=True),
              Arg("--requests", "router_check case file with the requests to compare (repeatable; default: a "
                                "request for every route)", str, multiple=True),
              Arg("--fail-on-change", "exit 1 when any request changes outcome", bool, False)],
        example="meshctl diff docs/examples/004-advanced-routing/06-table-weight "
                "docs/examples/004-advanced-routing/07-route-specificity",
        target="meshctl.plugins.diff:run",
    )


def export_envoy(registry: PluginRegistry) -> None:
    registry.declare(
        "export-envoy", help="write the Envoy resources (clusters, endpoints, listeners, routes) per node to files",
        args=[Arg("--out", "directory to write into", str, required=True),
              Arg("--node", "node role: gateway[:NS/NAME] or sidecar:NS/NAME@CLUSTER (repeatable; default: "
                            "every gateway)", str, multiple=True),
              Arg("--node-locality", "REGION[/ZONE] of the node (endpoint priorities depend on it)", str)],
        example="meshctl export-envoy --demo --out /tmp/envoy --node sidecar:bookinfo/productpage@cluster-1 "
                "--node-locality us-east-1/us-east-1a",
        target="meshctl.plugins.export_envoy:run",
    )


def shadowed(registry: PluginRegistry) -> None:
    registry.declare(
        "shadowed", help="list shadowed and unreachable routes; exit 1 if any (for CI)",
        args=[Arg("--include-partial", "also list partially shadowed routes (never fails the run)", bool, False)],
        example="meshctl shadowed docs/examples/004-advanced-routing/06-table-weight",
        target="meshctl.plugins.shadowed:run",
    )


def traffic_replay(registry: PluginRegistry) -> None:
    registry.declare(
        "traffic-replay", help="replay an access log through the sandbox: requests per route, per destination, unmatched",
        args=[Arg("log", "access log: Envoy's default format or JSON lines", str, required=True),
              Arg("--gateway", "gateway NS/NAME (default: by authority)", str),
              Arg("--top", "how many unmatched requests to list", int, 20)],
        example="meshctl traffic-replay --demo access.log -o json",
        target="meshctl.plugins.traffic_replay:run",
    )

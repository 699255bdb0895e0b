"""Every documented example and the built-in demo mesh load and validate without errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshctl.model.findings import Severity
from meshctl.model.resources import UnknownResource
from meshctl.model.snapshot import demo_files, load_snapshot
from meshctl.model.validate import validate

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
ADVANCED = EXAMPLES / "004-advanced-routing"
STEP_GUIDES = (ADVANCED, EXAMPLES / "004-advanced-routing-v2")  # a directory per step, each loaded on its own


def _example_dirs() -> list[Path]:
    """Each example directory; 004 contributes its step directories, each loaded on its own."""
    dirs = []
    for d in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        if d in STEP_GUIDES:
            dirs.extend(sorted(p for p in d.iterdir() if p.is_dir()))
        else:
            dirs.append(d)
    return dirs


EXAMPLE_DIRS = _example_dirs()


def test_every_example_directory_is_covered() -> None:
    names = {d.name for d in EXAMPLE_DIRS}
    assert {"002-locality-routing", "003-external-services", "discovery-k8s"} <= names
    assert sum(d.parent == ADVANCED for d in EXAMPLE_DIRS) == 7
    assert sum(d.parent == STEP_GUIDES[1] for d in EXAMPLE_DIRS) == 7


@pytest.mark.parametrize("directory", EXAMPLE_DIRS, ids=lambda d: d.relative_to(EXAMPLES).as_posix())
def test_example_loads_without_errors(directory: Path) -> None:
    snapshot = load_snapshot([directory])
    findings = validate(snapshot)
    errors = [f.render() for f in findings if f.severity is Severity.ERROR]
    assert errors == []
    yaml_files = sorted(str(p) for p in directory.rglob("*.yaml"))
    assert sorted(snapshot.files) == yaml_files
    # every file contributed resources, and all of them are kinds meshctl models
    assert {r.doc.file for r in snapshot} == set(yaml_files)
    assert not [r.display for r in snapshot if isinstance(r, UnknownResource)]


def test_demo_loads_without_errors_or_warnings() -> None:
    files = demo_files()
    assert files, "the demo data directory is empty"
    snapshot = load_snapshot(demo=True)
    findings = validate(snapshot)
    assert [f.render() for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)] == []
    assert {r.doc.file for r in snapshot} == {str(f) for f in files}
    kinds = {r.kind for r in snapshot}
    assert {"VirtualGateway", "VirtualHost", "RouteTable", "VirtualDestination", "Cluster"} <= kinds


def test_advanced_routing_steps_together_are_duplicates_by_design() -> None:
    """Loading the 004 parent at once defines the same resources once per step: each is reported."""
    snapshot = load_snapshot([ADVANCED])
    dupes = [f for f in validate(snapshot) if f.code == "duplicate-resource"]
    assert dupes
    for f in dupes:
        assert f.path == "metadata.name"
        assert f.file and f.line and f.column
        # the reported location really is the name of the resource that is defined again
        name = f.resource.split(" ", 1)[1].split("/")[-1]
        line = Path(f.file).read_text().splitlines()[f.line - 1]
        assert line[f.column - 1:].startswith(name)
    # the first definition wins: the kept VirtualHost comes from the first step directory
    vh = snapshot.get("VirtualHost", "gloo-mesh", "demo-virtualhost")
    assert vh is not None and "01-basic" in vh.doc.file

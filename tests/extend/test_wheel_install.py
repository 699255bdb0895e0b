"""meshctl built as a wheel and installed (not editable) into a fresh virtual environment: the shipped plugin
commands, themes and demo data come along, and listing plugins imports none of the plugin modules.

The wheel is built by pip from a copy of this checkout. The fresh venv gets the wheel alone (`--no-deps`); its
dependencies are the exact ones this suite runs with, made visible through a path entry to the test environment's
site-packages. A path entry runs no .pth files, so the editable meshctl of the test environment stays out, and the
new venv's own site-packages comes first: `import meshctl` and its entry points are the wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {"coverage", "diff", "export-envoy", "shadowed", "traffic-replay"}


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    # setuptools builds in the source tree (build/, *.egg-info): build from a copy, so the checkout stays clean
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info",
                                                                 "__pycache__", ".pytest_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
                   check=True, capture_output=True, text=True, timeout=300, cwd=root)
    wheels = list(dist.glob("meshctl-*.whl"))
    assert len(wheels) == 1, wheels
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    (Path(site) / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheels[0])], check=True, capture_output=True, text=True, timeout=300)
    return venv


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({name: str(cwd / name.lower()) for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME")})
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)


@pytest.mark.slow
def test_wheel_carries_plugins_themes_and_demo_data(wheel_venv: Path, tmp_path: Path) -> None:
    wheel = next((wheel_venv.parent / "dist").glob("meshctl-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"meshctl/plugins/catalog.py", "meshctl/plugins/shadowed.py", "meshctl/tui/themes/dark.yaml",
            "meshctl/tui/themes/colorblind.yaml", "meshctl/tui/app.tcss"} <= names
    assert any(n.startswith("meshctl/demo/data/") and n.endswith(".yaml") for n in names)
    where = run(wheel_venv, "python", "-c", "import meshctl; print(meshctl.__file__)", cwd=tmp_path)
    assert where.returncode == 0 and str(wheel_venv) in where.stdout, where.stdout + where.stderr


@pytest.mark.slow
def test_installed_wheel_lists_and_runs_the_shipped_plugins(wheel_venv: Path, tmp_path: Path) -> None:
    listed = run(wheel_venv, "meshctl", "plugins", "list", "-o", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    commands = {c["name"]: p for p in data["plugins"] for c in p["commands"]}
    assert SHIPPED <= set(commands), data
    assert all(commands[name]["origin"].startswith("entry point meshctl.plugins.catalog") for name in SHIPPED)
    assert data["errors"] == []
    shadowed = run(wheel_venv, "meshctl", "shadowed", "--demo", cwd=tmp_path)
    assert shadowed.returncode == 0, shadowed.stderr
    assert shadowed.stdout.strip() == "no shadowed or unreachable routes"


@pytest.mark.slow
def test_listing_plugins_imports_no_plugin_module(wheel_venv: Path, tmp_path: Path) -> None:
    script = ("import sys\n"
              "from meshctl.extend.discovery import discover\n"
              "registry = discover()\n"
              "loaded = sorted(m for m in sys.modules if m.startswith('meshctl.plugins.'))\n"
              "print(sorted(registry.commands), loaded)\n")
    done = run(wheel_venv, "python", "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'meshctl.plugins.catalog'" in done.stdout and "'meshctl.plugins.shadowed'" not in done.stdout

"""Plugin discovery (entry points, directories, shell plugins), isolation of broken plugins, CLI integration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from meshctl.cli.main import main
from meshctl.config import Paths, Settings
from meshctl.extend.discovery import discover

REPO = Path(__file__).resolve().parents[2]
TABLE_WEIGHT = REPO / "docs/examples/004-advanced-routing/06-table-weight"
SPECIFICITY = REPO / "docs/examples/004-advanced-routing/07-route-specificity"


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("MESHCTL_CONFIG", raising=False)
    monkeypatch.delenv("MESHCTL_PLUGIN_DIRS", raising=False)
    return Paths.current()


def install_distribution(site: Path) -> None:
    """A distribution laid out as pip installs it: a module plus dist-info with an entry point."""
    (site / "hello_meshctl_plugin.py").write_text(textwrap.dedent('''
        from meshctl.extend import Arg

        def register(registry):
            @registry.command("hello", help="greets the routes", args=[Arg("who", "whom to greet")])
            def hello(api, args):
                api.output.data({"hello": args.who, "routes": len(api.view.all_routes())},
                                text=lambda d: f"hello {d['hello']}: {d['routes']} routes")
    '''))
    info = site / "hello_meshctl_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-meshctl-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[meshctl.plugins]\nhello = hello_meshctl_plugin\n")
    (info / "RECORD").write_text("")


def test_entry_point_plugin_runs_from_the_cli(tmp_path, xdg):
    site = tmp_path / "site"
    site.mkdir()
    install_distribution(site)
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CONFIG_HOME": str(xdg.config_dir.parent)}
    listing = subprocess.run([sys.executable, "-m", "meshctl.cli.main", "plugins", "list", "-o", "json"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert listing.returncode == 0, listing.stderr
    data = json.loads(listing.stdout)
    hello = next(p for p in data["plugins"] if p["name"] == "hello")
    assert hello["origin"] == "entry point hello_meshctl_plugin"
    assert [c["name"] for c in hello["commands"]] == ["hello"]
    run = subprocess.run([sys.executable, "-m", "meshctl.cli.main", "hello", "operators", "--demo", "-o", "json"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"hello": "operators", "routes": 7}
    text = subprocess.run([sys.executable, "-m", "meshctl.cli.main", "hello", "you", "--demo"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert text.stdout.strip() == "hello you: 7 routes"


def test_broken_plugins_are_reported_and_do_not_break_others(xdg):
    xdg.plugin_dir.mkdir(parents=True)
    (xdg.plugin_dir / "import_error.py").write_text("import does_not_exist_anywhere\n")
    (xdg.plugin_dir / "raises.py").write_text("def register(registry):\n    raise RuntimeError('boom at register')\n")
    (xdg.plugin_dir / "no_register.py").write_text("X = 1\n")
    (xdg.plugin_dir / "good.py").write_text(
        "def register(registry):\n"
        "    registry.command('good', help='works')(lambda api, args: 0)\n"
        "    registry.command('shadowed', help='clash')(lambda api, args: 0)\n")
    registry = discover(Settings(), xdg)
    errors = {e.plugin: e.message for e in registry.errors}
    assert "ModuleNotFoundError" in errors["import_error"] and "does_not_exist_anywhere" in errors["import_error"]
    assert "RuntimeError: boom at register" in errors["raises"]
    assert "register(registry)" in errors["no_register"]
    assert "good" in registry.commands
    assert registry.commands["shadowed"].plugin == "shadowed"  # the shipped one was first; the clash is reported
    assert any("already provided" in e.message for e in registry.errors)


def test_plugin_that_raises_at_run_time_is_reported(xdg, capsys):
    xdg.plugin_dir.mkdir(parents=True)
    (xdg.plugin_dir / "crashy.py").write_text(
        "def register(registry):\n"
        "    registry.command('crashy', help='fails')(lambda api, args: 1 / 0)\n")
    assert main(["crashy", "--demo"]) == 2
    err = capsys.readouterr().err
    assert "plugin 'crashy' command 'crashy' failed: ZeroDivisionError" in err
    assert "Traceback" not in err
    assert main(["routes", "--demo", "-o", "json"]) == 0  # meshctl itself still works


def test_mutating_plugin_refused_under_read_only(xdg, capsys):
    xdg.plugin_dir.mkdir(parents=True)
    marker = xdg.config_dir / "touched"
    (xdg.plugin_dir / "writer.py").write_text(
        "from pathlib import Path\n"
        "def register(registry):\n"
        f"    registry.command('writer', help='writes', mutating=True)(lambda api, args: Path({str(marker)!r}).write_text('x') and 0)\n")
    assert main(["--read-only", "writer"]) == 2
    assert "refused under --read-only" in capsys.readouterr().err
    assert not marker.exists()
    assert main(["writer"]) == 0
    assert marker.exists()


def test_shell_plugin_gets_context_in_environment(xdg, capsys):
    xdg.config_dir.mkdir(parents=True)
    xdg.shell_plugins_file.write_text(textwrap.dedent("""
        plugins:
          echo-gw:
            shortcut: Shift-E
            description: print the gateway meshctl would act on
            scopes: [routes]
            command: sh
            args: ["-c", "echo gw=$MESHCTL_GATEWAY xds=${MESHCTL_XDS_ADDRESS}"]
          bad: {description: no command}
    """))
    registry = discover(Settings(), xdg)
    assert registry.commands["echo-gw"].shortcut == "Shift-E"
    assert any(e.plugin == "bad" and "command" in e.message for e in registry.errors)
    import io

    from meshctl.extend.api import MeshctlAPI, Output
    from meshctl.model.snapshot import Snapshot
    out = io.StringIO()
    api = MeshctlAPI(Snapshot([]), output=Output("text", out),
                     context={"gateway": "gloo-mesh/demo-gateway", "xds_address": "127.0.0.1:18000"})
    rc = registry.commands["echo-gw"].run(api, type("A", (), {"yes": False})())
    assert rc == 0
    assert out.getvalue().strip() == "gw=gloo-mesh/demo-gateway xds=127.0.0.1:18000"


def test_shadowed_plugin_fails_ci_on_table_weight_step(capsys, xdg):
    assert main(["shadowed", str(TABLE_WEIGHT), "-o", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [r["WITNESS"] for r in rows] == ["GET /reviews/v1/version", "GET /reviews/v2/version"]
    assert all(r["STATE"] == "shadowed" for r in rows)
    # operators look routes up by name; the field path stays in a column of its own
    assert [r["ROUTE"] for r in rows] == ["v1-version", "v2-version"]
    assert all(r["FIELD"].startswith("spec.routes[") for r in rows)
    assert main(["shadowed", str(TABLE_WEIGHT)]) == 1
    text = capsys.readouterr().out.splitlines()
    assert text[0].split()[:4] == ["STATE", "RESOURCE", "ROUTE", "FIELD"]
    assert "v1-version" in text[1] and "v2-version" in text[2]
    assert main(["shadowed", str(SPECIFICITY)]) == 0
    assert "no shadowed or unreachable routes" in capsys.readouterr().out


def test_shell_plugin_problems_name_file_line_and_field(xdg):
    """Shell plugins are typed by the model's schema (meshctl.yamlfile), like resources and the config file."""
    xdg.config_dir.mkdir(parents=True)
    xdg.shell_plugins_file.write_text("plugins:\n  ok:\n    command: true\n  wrong:\n    command: sh\n"
                                      "    confirm: maybe\n  bare: {description: no command}\n")
    registry = discover(Settings(), xdg)
    errors = {e.plugin: e.message for e in registry.errors}
    assert f"{xdg.shell_plugins_file}:6:" in errors["wrong"] and "plugins.wrong.confirm" in errors["wrong"]
    assert "expected true or false" in errors["wrong"]
    assert f"{xdg.shell_plugins_file}:7:" in errors["bare"] and "missing `command`" in errors["bare"]

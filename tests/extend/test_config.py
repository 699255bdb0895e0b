"""Configuration precedence (file < env < flag), broken files, `config init`, `info` paths."""

from __future__ import annotations

import json

import yaml

from meshctl.cli.main import main
from meshctl.config import DEFAULT_CONFIG, Paths, apply_flags, load_settings


def paths_in(tmp_path, monkeypatch) -> Paths:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("MESHCTL_CONFIG", raising=False)
    return Paths.current()


def test_precedence_file_then_env_then_flag(tmp_path, monkeypatch):
    paths = paths_in(tmp_path, monkeypatch)
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text("theme: light\nxds: {listen: 127.0.0.1:19000}\nclusters: {kind-a: cluster-1}\n")
    s = load_settings(paths, env={})
    assert (s.theme, s.origins["theme"], s.xds.listen) == ("light", "file", "127.0.0.1:19000")
    s = load_settings(paths, env={"MESHCTL_THEME": "colorblind", "MESHCTL_READ_ONLY": "1"})
    assert (s.theme, s.origins["theme"], s.read_only) == ("colorblind", "env", True)
    apply_flags(s, theme="dark", listen="127.0.0.1:1", cluster_names=["kind-b=cluster-2"])
    assert (s.theme, s.origins["theme"], s.xds.listen) == ("dark", "flag", "127.0.0.1:1")
    assert s.clusters == {"kind-a": "cluster-1", "kind-b": "cluster-2"}


def test_broken_config_is_reported_with_line_and_defaults_apply(tmp_path, monkeypatch, capsys):
    paths = paths_in(tmp_path, monkeypatch)
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text("theme: dark\nreadOnly: [oops\n")
    s = load_settings(paths, env={})
    assert s.theme == "dark" and s.read_only is False
    assert len(s.problems) == 1 and s.problems[0].file == str(paths.config_file) and s.problems[0].line == 3
    paths.config_file.write_text("theme: 7\nreadOnly: true\n")
    s = load_settings(paths, env={})
    assert s.theme == "dark" and s.read_only is True
    # typed by the model's schema, like a resource field: file:line:column, field path, what was expected
    assert (s.problems[0].line, s.problems[0].column, s.problems[0].path) == (1, 8, "theme")
    assert "expected a string, got integer 7" in s.problems[0].message
    paths.config_file.write_text("theme: dark\nxds:\n  listen: 5\n  tlsKye: /k\nkeymap: [a]\n")
    s = load_settings(paths, env={})
    found = {(p.line, p.path, p.severity.value) for p in s.problems}
    assert found == {(3, "xds.listen", "error"), (4, "xds.tlsKye", "warning"), (5, "keymap", "error")}, s.problems
    # meshctl still starts and works with a broken file
    paths.config_file.write_text(": : :\n")
    assert main(["routes", "--demo", "-o", "json"]) == 0


def test_config_init_writes_commented_defaults_that_load_cleanly(tmp_path, monkeypatch, capsys):
    paths = paths_in(tmp_path, monkeypatch)
    assert main(["config", "init"]) == 0
    text = paths.config_file.read_text()
    assert text == DEFAULT_CONFIG and text.count("#") > 10
    s = load_settings(paths, env={})
    assert s.problems == [] and s.theme == "dark"
    assert main(["config", "init"]) == 2  # refuses to overwrite
    assert "exists" in capsys.readouterr().err
    assert main(["config", "init", "--force"]) == 0


def test_config_show_reports_origins(tmp_path, monkeypatch, capsys):
    paths = paths_in(tmp_path, monkeypatch)
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text("theme: light\n")
    monkeypatch.setenv("MESHCTL_XDS_LISTEN", "127.0.0.1:18111")
    assert main(["config", "show", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["theme"] == "light" and data["origins"]["theme"] == "file"
    assert data["settings"]["xds"]["listen"] == "127.0.0.1:18111" and data["origins"]["xds.listen"] == "env"


def test_info_prints_every_path_and_versions(tmp_path, monkeypatch, capsys):
    paths = paths_in(tmp_path, monkeypatch)
    assert main(["info", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paths"]["config"] == str(paths.config_file)
    assert data["paths"]["history"].startswith(str(tmp_path / "state"))
    assert set(data["paths"]) >= {"config", "state", "history", "plugins", "themes", "logs"}
    assert data["versions"]["envoy"].count(".") >= 1 and data["versions"]["meshctl"]
    assert data["versions"]["textual"] != "not installed"


def test_read_only_from_config_applies_to_commands(tmp_path, monkeypatch, capsys):
    paths = paths_in(tmp_path, monkeypatch)
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text(yaml.safe_dump({"readOnly": True}))
    paths.plugin_dir.mkdir(parents=True)
    (paths.plugin_dir / "w.py").write_text(
        "def register(r):\n    r.command('w', help='w', mutating=True)(lambda api, args: 0)\n")
    assert main(["w"]) == 2
    assert "read-only" in capsys.readouterr().err

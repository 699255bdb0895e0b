"""`meshctl tui` arguments: sources, themes, read-only (also as the global flag), usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshctl.cli.common import UsageError
from meshctl.cli.main import build_parser, main


def app_for(argv: list[str]):  # type: ignore[no-untyped-def]
    from meshctl.cli.cmd_tui import build_app

    args = build_parser().parse_args(argv)
    return build_app(args)


def test_files_theme_and_read_only(config_dir: Path) -> None:
    app, teardown = app_for(["tui", str(config_dir), "--theme", "colorblind", "--read-only"])
    assert app.read_only and app._initial_theme == "colorblind" and teardown == []
    assert [s.kind for s in app.workspace.sources] == ["files"]
    app, _ = app_for(["--read-only", "tui", str(config_dir)])  # the global flag reaches the console
    assert app.read_only
    app, _ = app_for(["tui", str(config_dir)])
    assert not app.read_only and app.xds is None


def test_usage_errors(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="no configuration given"):
        app_for(["tui"])
    with pytest.raises(UsageError, match="unknown theme 'neon'"):
        app_for(["tui", str(config_dir), "--theme", "neon"])
    assert main(["tui", "/no/such/dir"]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_demo_uses_the_demo_environment_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app, teardown = app_for(["tui", "--demo"])
    (source,) = app.workspace.sources
    assert source.kind == "demo" and app.startup is not None
    assert [type(t).__name__ for t in teardown] == ["ConsoleDemo"]
    source.load()  # no demo running and none started yet: the packaged demo files
    assert any(r.name == "demo-gateway" for r in source.snapshot_parts()[0])
    teardown[0].stop()  # nothing started: nothing to stop, no error

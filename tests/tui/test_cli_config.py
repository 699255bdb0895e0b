"""`meshctl tui` takes theme, keymap, user themes and sample requests from the config file (flags win)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshctl.cli.common import UsageError
from meshctl.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("MESHCTL_THEME", raising=False)
    path = tmp_path / "cfg" / "meshctl" / "config.yaml"
    path.parent.mkdir(parents=True)
    return path


def app_for(argv: list[str]):  # type: ignore[no-untyped-def]
    from meshctl.cli.cmd_tui import build_app

    return build_app(build_parser().parse_args(argv))[0]


def test_theme_keymap_and_samples_from_config(config: Path, config_dir: Path) -> None:
    config.write_text(yaml.safe_dump({
        "theme": "light",
        "keymap": {"tree.filter": "f3"},
        "sampleRequests": [str(REPO / "tests/cases/004-07-route-specificity.yaml")],
    }))
    app = app_for(["tui", str(config_dir)])
    assert app._initial_theme == "light"
    assert app._keymap == {"tree.filter": "f3"}  # applied with Textual's set_keymap on mount (tested in test_keys_themes)
    samples = app.store.all_requests()
    assert any(r.path == "/reviews/v1/version" for r in samples)
    assert app_for(["tui", str(config_dir), "--theme", "colorblind"])._initial_theme == "colorblind"


def test_a_destructive_binding_on_a_bare_key_is_refused(config: Path, config_dir: Path) -> None:
    config.write_text(yaml.safe_dump({"keymap": {"editor.apply": "a"}}))
    with pytest.raises(UsageError, match="config keymap"):
        app_for(["tui", str(config_dir)])


def test_user_theme_directory_is_used(config: Path, config_dir: Path) -> None:
    themes = config.parent / "themes"
    themes.mkdir()
    (themes / "ocean.yaml").write_text((REPO / "meshctl/tui/themes/dark.yaml").read_text().replace("name: dark", "name: ocean"))
    config.write_text("theme: ocean\n")
    assert app_for(["tui", str(config_dir)])._initial_theme == "ocean"

"""Key bindings as data (ids, keymaps, destructive rules), help, command line, palette, themes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshctl.tui.actions import ACTIONS, KeymapError, check_defaults, validate_keymap
from meshctl.tui.themes import ThemeError, load_themes, packaged_theme_dir, parse_theme
from meshctl.tui.widgets.command_line import parse_command_line
from meshctl.tui.widgets.route_tree import RouteTree

from .conftest import SIZE, loaded, wait_until

REPO = Path(__file__).resolve().parents[2]
SEMANTIC = {"matched", "shadowed", "invalid", "delegated", "synced", "stale", "nacked", "healthy", "ejected"}


def test_action_ids_unique_dotted_and_safe() -> None:
    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    assert all("." in i for i in ids)
    assert check_defaults() == []  # no destructive default on a bare key


def test_keymap_validation() -> None:
    assert validate_keymap({"tree.filter": "f3"}) == {"tree.filter": "f3"}
    with pytest.raises(KeymapError, match="unknown action id 'tree.nope'"):
        validate_keymap({"tree.nope": "x"})
    with pytest.raises(KeymapError, match="editor.apply is destructive"):
        validate_keymap({"editor.apply": "a"})
    with pytest.raises(KeymapError, match="failover.trigger is destructive"):
        validate_keymap({"failover.trigger": "shift+t"})
    validate_keymap({"failover.trigger": "ctrl+t,f9"})


async def test_keymap_override_rebinds_by_id(make_app) -> None:
    app = make_app(keymap={"tree.filter": "f3"})
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        await pilot.pause(0.05)
        assert not app.main_query("#filter").has_class("-open")
        await pilot.press("f3")
        await pilot.pause(0.05)
        assert app.main_query("#filter").has_class("-open")


async def test_help_lists_current_screen_bindings(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help")
        ids = {row[2] for row in app.screen.rows}
        assert {"tree.filter", "tree.order", "tree.sandbox", "app.quit", "app.command_line"} <= ids
        assert "editor.apply" not in ids  # not on this screen
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "MainScreen", what="closed")


def test_command_line_parsing() -> None:
    assert parse_command_line(":gw gloo-mesh/demo-gateway").args == ["gloo-mesh/demo-gateway"]
    cmd = parse_command_line(":test GET '/a b' -H 'x: 1'")
    assert (cmd.name, cmd.args) == ("test", ["GET", "/a b", "-H", "x: 1"])
    assert parse_command_line("quit").name == "q"
    with pytest.raises(ValueError, match="unknown command"):
        parse_command_line(":frobnicate")


async def test_command_line_switches_panes_and_theme(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tabs = app.main_query("TabbedContent")
        for command, tab in (("xds", "xds"), ("failover", "failover"), ("diag", "diagnostics"), ("routes", "routes")):
            await pilot.press("colon", *command, "enter")
            await pilot.pause(0.05)
            assert tabs.active == tab
        await pilot.press("colon", *"theme colorblind", "enter")
        await pilot.pause(0.1)
        assert app.theme == "colorblind"
        assert app.semantic.matched == "#56B4E9"
        tree = app.main_query(RouteTree)
        assert tree.semantic.matched == "#56B4E9"  # labels re-rendered with the new colours
        await pilot.press("colon", *"theme no-such-theme", "enter")
        await pilot.pause(0.05)
        assert app.theme == "colorblind"
        await pilot.press("colon", "q", "enter")
        await pilot.pause(0.1)
    assert app.return_code == 0


async def test_palette_has_context_commands(make_app) -> None:
    from meshctl.tui.commands import EditorCommands, RoutesCommands, ThemeCommands

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        names = [n for n, _, _ in RoutesCommands(app.screen).commands()]
        assert "routes: Filter" in names and "gateway: Show gloo-mesh/demo-gateway" in names
        assert "routes: Open detail" not in names  # nothing selected yet
        assert [n for n, _, _ in EditorCommands(app.screen).commands()] == []
        themes = [n for n, _, _ in ThemeCommands(app.screen).commands()]
        assert "theme: Use light" in themes and "theme: Use dark" not in themes
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", what="palette")
        await pilot.press(*"theme: Use light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == "light", what="theme from the palette")


def test_themes_ship_in_package_only() -> None:
    themes = load_themes()
    assert {"dark", "light", "colorblind"} <= set(themes)
    for name in ("dark", "light", "colorblind"):
        packaged = packaged_theme_dir() / f"{name}.yaml"
        data = yaml.safe_load(packaged.read_text())
        assert SEMANTIC <= set(data["semantic"])
    # one home: no second copy of a theme file anywhere else in the repository
    copies = [p for p in REPO.rglob("*.yaml") if p.name in {"dark.yaml", "light.yaml", "colorblind.yaml"}
              and ".venv" not in p.parts and p.parent != packaged_theme_dir()]
    assert copies == []
    cb = themes["colorblind"].semantic
    assert len({cb.matched, cb.shadowed, cb.invalid}) == 3


def test_theme_errors_are_clear() -> None:
    with pytest.raises(ThemeError, match="name is required"):
        parse_theme({"base": {"primary": "#fff"}})
    with pytest.raises(ThemeError, match="unknown semantic colours"):
        parse_theme({"name": "x", "base": {"primary": "#fff"}, "semantic": {"mached": "#fff"}})


async def test_command_line_verbs_take_their_words(make_app) -> None:
    """`:test`, `:gw` and `:filter` get the words typed after them (the verb table's handlers, run as actions)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.run_command(parse_command_line(":test GET http://www.example.com/ratings/1"))
        tree = app.main_query(RouteTree)
        await wait_until(pilot, lambda: tree.matched is not None, what="the tested request's route")
        assert tree.matched[2].endswith("#ratings") or "ratings" in tree.matched[2]
        app.run_command(parse_command_line(":filter reviews v2"))
        await wait_until(pilot, lambda: app.main_query("#filter").value == "reviews v2", what="the filter text")


def test_the_app_provides_the_typed_console_handle() -> None:
    """Widgets read the app through tui.console.ConsoleState: MeshctlApp must have every member it names."""
    from meshctl.tui.app import MeshctlApp
    from meshctl.tui.console import MEMBERS, ConsoleState

    declared = set(ConsoleState.__annotations__) | {n for n in vars(ConsoleState) if not n.startswith("_")}
    assert declared == set(MEMBERS)
    for name in MEMBERS:
        if name in ConsoleState.__annotations__:
            continue  # an attribute set in __init__: checked on an instance below
        assert callable(getattr(MeshctlApp, name, None)) or isinstance(getattr(MeshctlApp, name, None), property), name


async def test_the_running_app_has_every_console_attribute(make_app) -> None:
    from meshctl.tui.console import ConsoleState

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for name in ConsoleState.__annotations__:
            assert hasattr(app, name), name


def test_theme_file_problems_name_file_line_and_field(tmp_path: Path) -> None:
    """Theme files are typed by the model's schema (meshctl.yamlfile): every problem with file:line and field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndark: maybe\nbase:\n  primary: '#fff'\nsemantic:\n  mached: '#fff'\n")
    with pytest.raises(ThemeError) as caught:
        load_themes([tmp_path])
    text = str(caught.value)
    assert f"{bad}:2:7: error[theme] dark: expected true or false" in text
    assert f"{bad}:6:" in text and "unknown semantic colours ['mached']" in text

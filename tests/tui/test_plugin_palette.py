"""A plugin command run from the TUI command palette: form for its arguments, output in a panel."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, Input, Static

from meshctl.tui.screens.plugin import PluginScreen

from .conftest import SIZE, loaded, wait_until

REPO = Path(__file__).resolve().parents[2]


async def open_from_palette(pilot, app, text: str) -> PluginScreen:
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await wait_until(pilot, lambda: app.screen.query("CommandList Option") or True, what="palette hits")
    await pilot.pause(0.3)
    await pilot.press("enter")
    return await wait_until(pilot, lambda: isinstance(app.screen, PluginScreen) and app.screen,
                            what="the plugin form")


async def test_shadowed_plugin_from_palette_shows_output(make_app, config_dir: Path) -> None:
    # the table-weight step shadows the version routes: copy it over the demo copy the app watches
    for f in config_dir.iterdir():
        f.unlink()
    for f in (REPO / "docs/examples/004-advanced-routing/06-table-weight").glob("*.yaml"):
        (config_dir / f.name).write_text(f.read_text())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        screen = await open_from_palette(pilot, app, "plugin: shadowed")
        assert screen.command.name == "shadowed"
        assert isinstance(screen.query_one("#plugin-arg-include_partial"), Checkbox)
        await pilot.click("#plugin-run")
        await wait_until(pilot, lambda: screen.last_status is not None, what="the plugin to finish")
        text = str(screen.query_one("#plugin-output-text", Static).render())
        assert "GET /reviews/v1/version" in text and "GET /reviews/v2/version" in text
        assert screen.last_status == 1 and "(exit status 1)" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, PluginScreen), what="the form to close")


async def test_plugin_form_arguments_are_parsed_like_the_cli(make_app, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.open_plugin("coverage")
        screen = await wait_until(pilot, lambda: isinstance(app.screen, PluginScreen) and app.screen)
        await wait_until(pilot, lambda: screen.query("#plugin-arg-cases"), what="the form fields")
        # a bad number is reported like the CLI reports it, and the session goes on
        screen.query_one("#plugin-arg-cases", Input).value = str(REPO / "tests/cases/004-07-route-specificity.yaml")
        screen.query_one("#plugin-arg-fail_under", Input).value = "lots"
        screen.action_run()
        await wait_until(pilot, lambda: screen.last_status is not None)
        assert screen.last_status == 2
        assert "invalid float value" in str(screen.query_one("#plugin-output-text", Static).render())
        screen.query_one("#plugin-arg-fail_under", Input).value = "10"
        screen.last_status = None
        screen.action_run()
        await wait_until(pilot, lambda: screen.last_status is not None)
        text = str(screen.query_one("#plugin-output-text", Static).render())
        assert "route coverage:" in text and screen.last_status == 0


async def test_mutating_plugins_are_not_offered_read_only(make_app, tmp_path: Path, monkeypatch) -> None:
    from meshctl.extend.registry import PluginRegistry

    registry = PluginRegistry()
    registry.command("wipe", help="changes things", mutating=True)(lambda api, args: 0)
    registry.command("look", help="reads")(lambda api, args: 0)
    app = make_app(read_only=True)
    app._plugins = registry
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        from meshctl.tui.commands import PluginCommands

        names = [name for name, _, _ in PluginCommands(app.screen).commands()]
        assert names == ["plugin: look"]

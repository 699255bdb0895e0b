"""Editor: validation as you type, preview of changed routes/requests, atomic apply, undo, failures keep text."""

from __future__ import annotations

from pathlib import Path

from meshctl.tui.sandbox_adapter import RequestStore, SandboxRequest
from meshctl.tui.screens.editor import EditorScreen, PreviewScreen
from meshctl.tui.widgets.route_tree import RouteTree

from .conftest import SIZE, loaded, wait_until

BROKEN = "        prefix: [/ratings\n"  # unclosed flow sequence: a YAML syntax error


async def open_ratings_editor(app, pilot) -> EditorScreen:  # type: ignore[no-untyped-def]
    await pilot.press("slash", *"name:ratings", "enter")
    await pilot.pause(0.1)
    tree = app.main_query(RouteTree)
    tree.move_cursor(next(iter(tree.route_nodes.values())))
    await pilot.press("e")
    screen = await wait_until(pilot, lambda: app.screen if isinstance(app.screen, EditorScreen) else None,
                              what="editor")
    await wait_until(pilot, lambda: screen.checks_done >= 1, what="first validation")
    return screen


def replace_text(screen: EditorScreen, text: str) -> None:
    area = screen.area
    area.replace(text, (0, 0), area.document.end)


async def test_edit_validate_fix_preview_apply_undo(make_app, config_dir: Path, tmp_path: Path) -> None:
    store = RequestStore()
    store.save(SandboxRequest("GET", "http://www.example.com/ratings/7"))
    app = make_app(request_store=store)
    gateway_file = config_dir / "gateway.yaml"
    original = gateway_file.read_text()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        screen = await open_ratings_editor(app, pilot)
        assert screen.path == str(gateway_file)
        row = screen.area.cursor_location[0]
        assert "prefix: /ratings" in "\n".join(screen.area.document.lines[row:row + 4])  # opened at the route
        assert screen.check is not None and screen.check.ok

        # 1. a syntax error is reported at its line and marked
        broken = original.replace("        prefix: /ratings\n", BROKEN, 1)
        replace_text(screen, broken)
        await wait_until(pilot, lambda: screen.check is not None and not screen.check.ok, what="an error")
        bad_line = broken.splitlines().index(BROKEN.rstrip("\n")) + 1
        err_lines = set(screen.check.error_lines())
        assert any(abs(line - bad_line) <= 2 for line in err_lines), (err_lines, bad_line)
        assert any(m == "meshctl.error" for m in screen.area.marks.values())
        # 2. applying an invalid text is refused and the text is kept
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "not applied" in str(screen.query_one("#editor-status").render()),
                         what="refusal")
        assert screen.area.text == broken and gateway_file.read_text() == original
        assert not isinstance(app.screen, PreviewScreen)

        # 3. fix it: /ratings becomes /stars — valid again
        fixed = original.replace("        prefix: /ratings\n", "        prefix: /stars\n", 1)
        replace_text(screen, fixed)
        await wait_until(pilot, lambda: screen.check is not None and screen.check.ok and
                         screen.area.text == fixed, what="valid again")
        assert not screen.area.marks

        # 4. preview: the route changed, and the saved request now finds no route
        await pilot.press("ctrl+s")
        preview = await wait_until(pilot, lambda: app.screen if isinstance(app.screen, PreviewScreen) else None,
                                   what="preview")
        changes = preview.preview.route_changes
        assert any(c.kind == "changed" and c.name == "ratings" and "/stars" in c.detail for c in changes)
        moved = [o for o in preview.preview.outcome_changes if o.request.path == "/ratings/7"]
        assert moved and "ratings" in moved[0].old and "no route" in moved[0].new
        text = str(preview.query_one("#preview-text").render())
        assert "GET www.example.com/ratings/7" in text

        # 5. apply: file written atomically, tree shows the new matcher
        updates = app.model_updates
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: gateway_file.read_text() == fixed, what="file written")
        await wait_until(pilot, lambda: app.model_updates > updates, what="reload")
        await wait_until(pilot, lambda: "applied" in str(screen.query_one("#editor-status").render()), what="done")
        assert app.last_apply is not None and app.last_apply.previous_text == original
        assert Path(str(gateway_file) + ".meshctl-bak").read_text() == original
        assert not list(config_dir.glob(".gateway.yaml.*.tmp"))
        route = next(r for _, _, r in app.model.view.all_routes() if r.name == "ratings")
        assert route.describe_match() == "prefix /stars"

        # 6. undo the apply (confirmed)
        updates = app.model_updates
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="confirm")
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: gateway_file.read_text() == original, what="undo written")
        await wait_until(pilot, lambda: app.model_updates > updates, what="reload after undo")
        route = next(r for _, _, r in app.model.view.all_routes() if r.name == "ratings")
        assert route.describe_match() == "prefix /ratings"
        assert screen.area.text == original


async def test_failed_write_keeps_text(make_app, config_dir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        screen = await open_ratings_editor(app, pilot)
        edited = screen.area.text.replace("prefix: /ratings", "prefix: /stars", 1)
        replace_text(screen, edited)
        await wait_until(pilot, lambda: screen.check is not None and screen.area.text == edited and screen.check.ok,
                         what="valid")
        moved = config_dir.with_name("config-moved")
        config_dir.rename(moved)  # the directory vanished: the write must fail
        try:
            await pilot.press("ctrl+s")
            preview = await wait_until(pilot, lambda: app.screen if isinstance(app.screen, PreviewScreen) else None,
                                       what="preview")
            await pilot.press("ctrl+s")
            status = screen.query_one("#editor-status")
            await wait_until(pilot, lambda: "cannot write" in str(status.render()), what="write failure")
            assert preview is not app.screen
            assert screen.area.text == edited and "kept" in str(status.render())
            assert app.last_apply is None
        finally:
            moved.rename(config_dir)


async def test_read_only_refuses_edits(make_app) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        screen = await open_ratings_editor(app, pilot)
        assert screen.area.read_only
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert "read-only" in str(screen.query_one("#editor-status").render())
        assert not isinstance(app.screen, PreviewScreen)

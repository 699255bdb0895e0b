"""A reload frees the previous model: nothing in the console (filter, tree, panes) keeps it alive."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

from meshctl.model.snapshot import load_snapshot
from meshctl.tui.state import RouteFilter, build_model
from meshctl.tui.widgets.route_tree import RouteTree

from .conftest import SIZE, loaded


def test_route_filter_lets_go_of_a_replaced_model(config_dir: Path) -> None:
    old = build_model(load_snapshot([config_dir]), 1)
    new = build_model(load_snapshot([config_dir]), 2)
    f = RouteFilter()
    assert f.run(old, None, "rev")
    ref = weakref.ref(old)
    # the same query over another model scans that model, not the remembered matches of the old one
    assert all(e in new.entries for e in f.run(new, None, "rev"))
    del old
    assert ref() is None
    f.reset()
    assert f.run(new, None, "") == new.entries


async def test_reload_frees_the_previous_model(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash", "r", "e", "v")  # the filter now holds matches of this model
        await pilot.pause(0.1)
        assert app.main_query(RouteTree).shown_matches > 0
        await pilot.press("backspace", "backspace", "backspace")
        for reload, query in enumerate(["", "no-route-matches-this"]):
            # the second time no route label is built after the reload: caches must not wait for one
            app.main_query("#filter").value = query
            await pilot.pause(0.05)
            model = app.model
            previous = [weakref.ref(model), weakref.ref(model.view), weakref.ref(model.entries[0])]
            del model
            await asyncio.to_thread(app.reload_sources_blocking_all)
            await loaded(pilot, app, updates=2 + reload)
            await pilot.pause(0.1)
            gc.collect()
            assert app.model is not previous[0]()
            # rows of an unchanged virtual host are shared with the new model by design (ModelBuilder)
            shared = {id(e) for e in app.model.entries}
            alive = [ref() for ref in previous if ref() is not None and id(ref()) not in shared]
            assert not alive, [type(r).__name__ for obj in alive for r in gc.get_referrers(obj)]


def test_trim_freed_memory_on_this_platform() -> None:
    import sys

    from meshctl.tui.memory import trim_freed_memory

    done = trim_freed_memory(background=False)
    # glibc Linux (this project's machines) trims; elsewhere it says it could not, without failing
    assert done is (sys.platform.startswith("linux") and __import__("platform").libc_ver()[0] == "glibc")


async def test_one_reload_builds_one_model(make_app) -> None:
    """A re-read is one snapshot and one model: the sources' own change notices add no second build
    (which would hold a third model generation in memory while it runs)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        ws = app.workspace
        for reload in (app.reload_sources_blocking_all, app.reload_sources_blocking):
            version, updates = ws.version, app.model_updates
            await asyncio.to_thread(reload)
            await loaded(pilot, app, updates=updates + 1)
            await pilot.pause(max(0.3, 4 * ws.coalesce_seconds))  # a coalesced rebuild would have run by now
            assert ws.version == version + 1
            assert app.model_updates == updates + 1

"""TUI figures with a large configuration: first paint, tree ready, filter keystroke latency, RSS.

Runs the console headless in a fresh process (so imports count) over a synthetic N-route config:
  .venv/bin/python benchmarks/tui_startup.py [--routes 10000] [--reloads 3]
Targets (issue 8): first paint <= 1.0 s after start, filter keystroke -> updated tree <= 50 ms, RSS <= 250 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def child(config: str, started: float, query: str, reloads: int) -> None:
    """Runs in the measured process: everything from `import` on counts."""
    import asyncio

    from textual import events
    from textual.screen import Screen
    from tui_common import rss_mb

    # the console first, as `meshctl tui` imports it (meshctl.tui sets Textual's frame rate before Textual loads)
    from meshctl.sources.files import FileSource
    from meshctl.sources.workspace import Workspace
    from meshctl.tui.app import MeshctlApp
    from meshctl.tui.widgets.route_tree import RouteTree

    marks: dict[str, float] = {"imported": time.time() - started}

    def hook_paints(tree: RouteTree) -> list[float]:
        """Times of the first frame composed after each tree rebuild."""
        painted: list[float] = []
        rebuilt = [False]
        show, refresh = RouteTree.show, Screen._compositor_refresh

        def show_hook(self, *a, **k):  # type: ignore[no-untyped-def]
            show(self, *a, **k)
            rebuilt[0] = True

        def refresh_hook(self):  # type: ignore[no-untyped-def]
            refresh(self)
            if rebuilt[0] and not painted:
                _ = tree._tree_lines  # the tree's lines exist (they are built lazily)
                painted.append(time.perf_counter())
                rebuilt[0] = False
        RouteTree.show = show_hook  # type: ignore[method-assign]
        Screen._compositor_refresh = refresh_hook  # type: ignore[method-assign]
        return painted

    async def run() -> None:
        app = MeshctlApp(Workspace([FileSource([config])]), watch=False)
        async with app.run_test(size=(160, 48)) as pilot:
            marks["first_paint"] = time.time() - started  # app ready: first frame composed (header, "loading…")
            deadline = time.monotonic() + 120
            while app.model_updates < 1 and time.monotonic() < deadline:
                await pilot.pause(0.01)
            await pilot.pause()
            marks["tree_ready"] = time.time() - started
            tree = app.main_query(RouteTree)
            marks["routes"] = float(len(app.model.entries))
            marks["model_build_s"] = app.model.built_in
            await pilot.press("slash")
            await pilot.pause(0.2)
            painted = hook_paints(tree)

            async def keystroke(key: str, character: str | None) -> float:
                """Key event posted → filter applied, tree rebuilt, and the next frame composed with it."""
                painted.clear()
                t0 = time.perf_counter()
                app.post_message(events.Key(key, character))
                while not painted:
                    await asyncio.sleep(0.0005)
                return (painted[0] - t0) * 1000

            latencies = [await keystroke(ch, ch) for ch in query]
            marks["matches_after_query"] = float(tree.shown_matches)
            # backspace back to the full tree (the worst case: every route matches the shorter query)
            latencies += [await keystroke("backspace", None) for _ in query]
            marks["filter_ms_median"] = statistics.median(latencies)
            marks["filter_ms_max"] = max(latencies)
            marks["filter_ms_all"] = [round(x, 1) for x in latencies]  # type: ignore[assignment]
            marks["rss_mb"] = rss_mb()
            # a reload (file changed): the rebuild runs in a worker; what the UI thread spends applying it
            applied: list[float] = []
            apply_model = type(app)._apply_model

            def timed_apply(self, model):  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                apply_model(self, model)
                applied.append((time.perf_counter() - t0) * 1000)
            type(app)._apply_model = timed_apply  # type: ignore[method-assign]
            reload_s: list[float] = []
            rss_after: list[float] = []
            for _ in range(reloads):
                updates = app.model_updates
                t0 = time.perf_counter()
                await asyncio.to_thread(app.reload_sources_blocking_all)
                while app.model_updates == updates and time.monotonic() < deadline + 120:
                    await pilot.pause(0.01)
                reload_s.append(time.perf_counter() - t0)
                await pilot.pause(0.2)  # let the UI settle (timers, deferred frees) before reading RSS
                rss_after.append(rss_mb())
            marks["reload_s"] = max(reload_s) if reload_s else float("nan")  # type: ignore[assignment]
            marks["reload_ui_ms"] = max(applied) if applied else float("nan")
            marks["rss_after_reloads_mb"] = rss_after  # type: ignore[assignment]
    asyncio.run(run())
    print(json.dumps(marks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--query", default="l1-3/l2")
    parser.add_argument("--reloads", type=int, default=3, help="consecutive full reloads after the typing test")
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "STARTED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]), args.query, args.reloads)
        return
    from tui_common import write_config

    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), args.routes)
        started = time.time()
        out = subprocess.run([sys.executable, __file__, "--query", args.query, "--reloads", str(args.reloads), "--child", str(config), str(started)],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            sys.exit(out.stderr[-3000:])
        marks = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"TUI with {int(marks['routes']):,} routes ({args.routes:,} requested)")
    print(f"  imports done            {marks['imported']:.2f} s")
    print(f"  first paint             {marks['first_paint']:.2f} s   (target <= 1.0 s)")
    print(f"  route tree ready        {marks['tree_ready']:.2f} s   (load + route engine + lint in a worker; "
          f"model {marks['model_build_s']:.2f} s)")
    print(f"  filter keystroke        median {marks['filter_ms_median']:.1f} ms, max {marks['filter_ms_max']:.1f} ms"
          f"   (target <= 50 ms; {int(marks['matches_after_query'])} matches for {args.query!r})")
    print(f"    each keystroke (ms): {' '.join(str(x) for x in marks['filter_ms_all'])}")
    print(f"  RSS                     {marks['rss_mb']:.0f} MB   (target <= 250 MB)")
    after = marks["rss_after_reloads_mb"]
    if after:
        print(f"  reload (file re-read)   {marks['reload_s']:.2f} s in a worker (slowest of {len(after)}); UI thread busy "
              f"{marks['reload_ui_ms']:.0f} ms applying it (worst)")
        print(f"  RSS after each reload   {', '.join(f'{mb:.0f}' for mb in after)} MB   (target <= 250 MB)")

if __name__ == "__main__":
    main()

"""The console's reload of a one-route edit against a cold reload (every file changed), headless, in one run.

The configuration is edit_pipeline.py's: one VirtualHost delegating to RouteTables of 100 routes, one file per
table. The console runs headless (Textual's run_test); before each edit the edited route is revealed (its table
expanded, the cursor on it), as an operator looking at it would have it. Per change it prints, median and worst:
- worker: the routing view and the console model (`ModelBuilder.build`), built off the UI thread;
- UI busy: the UI thread's time in `MeshctlApp._apply_model` (the panes take the new model), and in
  `_release_model` (the previous model freed, after the next frame), each one uninterrupted stretch;
- save → frame: from the file written to the first frame composed after the apply;
- save → tree: from the file written to the first frame composed with the route's new label in the tree
  (the re-read runs as the TUI's own reload does: `reload_sources_blocking` in a worker).

Run: .venv/bin/python benchmarks/tui_reload.py [--routes 1000,10000] [--edits 20] [--cold 3]
Target (issue 17): UI thread busy <= 16 ms per applied one-route change at 10k routes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from edit_pipeline import LABELLED, write_tree  # noqa: E402
from textual.screen import Screen  # noqa: E402

import meshctl.tui.app as app_module  # noqa: E402
from meshctl.sources.files import FileSource  # noqa: E402
from meshctl.sources.workspace import Workspace  # noqa: E402
from meshctl.tui.app import MeshctlApp  # noqa: E402
from meshctl.tui.state import ModelBuilder  # noqa: E402
from meshctl.tui.widgets.route_tree import RouteTree  # noqa: E402

GATEWAY, VHOST = "big/big", "big/big"
SHOW_TIMEOUT = 3.0  # seconds after a model is applied to wait for the route's new label in the tree


@dataclass
class Figures:
    """Per applied change (ms): worker build, UI busy in _apply_model, save → tree; and routes not shown."""

    view: list[float] = field(default_factory=list)
    model: list[float] = field(default_factory=list)
    ui: list[float] = field(default_factory=list)
    release: list[float] = field(default_factory=list)
    frame: list[float] = field(default_factory=list)  # save → the first frame composed after the apply
    shown: list[float] = field(default_factory=list)
    missed: int = 0

    def worker(self) -> list[float]:
        return [a + b for a, b in zip(self.view, self.model, strict=True)]

    def busy(self) -> list[float]:
        """The UI thread per change: the apply and the release of the previous model (two separate stretches)."""
        return [a + b for a, b in zip(self.ui, self.release, strict=False)] if self.release else self.ui


class Probe:
    """Times the worker's two builds, the UI thread's apply, and the frames composed (class-level hooks)."""

    def __init__(self) -> None:
        self.view: list[float] = []
        self.model: list[float] = []
        self.ui: list[float] = []
        self.release: list[float] = []
        self.frames: list[float] = []
        self.applied_frame: list[float] = []  # the first frame composed after an apply
        self.watch: Callable[[], bool] | None = None  # checked after each frame; its first True is recorded

    def install(self) -> None:
        build_model, view_of = ModelBuilder.build, app_module.routing_view_of
        apply_model, refresh = MeshctlApp._apply_model, Screen._compositor_refresh
        release_model = getattr(MeshctlApp, "_release_model", None)

        def timed_build(builder: ModelBuilder, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            model = build_model(builder, *args, **kwargs)
            self.model.append((time.perf_counter() - began) * 1000)
            return model

        def timed_view_of(owner: Any) -> Callable[[Any], Any]:
            build = view_of(owner)

            def timed(snapshot: Any) -> Any:
                began = time.perf_counter()
                view = build(snapshot)
                self.view.append((time.perf_counter() - began) * 1000)
                return view
            return timed

        def timed_apply(app: MeshctlApp, model: Any) -> None:
            began = time.perf_counter()
            apply_model(app, model)
            self.ui.append((time.perf_counter() - began) * 1000)
            self.applied_frame.clear()

        def timed_release(app: MeshctlApp, holder: Any) -> None:
            began = time.perf_counter()
            release_model(app, holder)
            self.release.append((time.perf_counter() - began) * 1000)

        def refresh_hook(screen: Screen[Any]) -> None:
            refresh(screen)
            if self.ui and not self.applied_frame:
                self.applied_frame.append(time.perf_counter())
            if self.watch is not None and self.watch():
                self.frames.append(time.perf_counter())
                self.watch = None

        ModelBuilder.build = timed_build  # type: ignore[method-assign]
        app_module.routing_view_of = timed_view_of  # type: ignore[assignment]
        MeshctlApp._apply_model = timed_apply  # type: ignore[method-assign]
        if release_model is not None:  # (before it, the previous model was freed inside _apply_model)
            MeshctlApp._release_model = timed_release  # type: ignore[attr-defined]
        Screen._compositor_refresh = refresh_hook  # type: ignore[method-assign]


def loaded_nodes(tree: RouteTree) -> int:
    count, stack = 0, [tree.root]
    while stack:
        node = stack.pop()
        count += len(node.children)
        stack.extend(node.children)
    return count


def set_body(path: Path, route: int, body: str) -> None:
    """Rewrite one route's direct-response body (`body: <tag> tT rR`) in a table file."""
    lines = path.read_text().splitlines(keepends=True)
    marker = f" r{route}\n"
    for i, line in enumerate(lines):
        if line.lstrip().startswith("body: ") and line.endswith(marker):
            indent = line[:len(line) - len(line.lstrip())]
            lines[i] = f"{indent}body: {body}\n"
            break
    else:
        raise ValueError(f"no body of route r{route} in {path}")
    path.write_text("".join(lines))


async def measure(probe: Probe, routes: int, edits: int, colds: int) -> tuple[Figures, Figures, dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-tui-reload-"))
    try:
        files = write_tree(work, routes)
        tables = routes // 100
        app = MeshctlApp(Workspace([FileSource([work])]), watch=False)
        edit, cold, notes = Figures(), Figures(), {}
        async with app.run_test(size=(160, 48)) as pilot:
            while app.model_updates < 1:
                await pilot.pause(0.02)
            await pilot.pause(0.2)
            tree = app.main_query(RouteTree)

            async def change(figures: Figures, table: int, route: int, body: str, write: Callable[[], None]) -> None:
                route_id = f"VirtualHost/big/big#team{table} > RouteTable/big/team{table}#r{route}"
                assert tree.reveal(GATEWAY, VHOST, route_id), route_id
                await pilot.pause(0.05)
                probe.view.clear(), probe.model.clear(), probe.ui.clear(), probe.frames.clear(), probe.release.clear()
                probe.applied_frame.append(0.0)  # none until the next apply
                updates = app.model_updates

                def shown() -> bool:
                    current = tree.route_nodes.get((GATEWAY, VHOST, route_id))
                    return (app.model_updates > updates and current is not None and current._line >= 0
                            and body in current.label.plain)
                began = time.perf_counter()
                write()
                probe.watch = shown
                await asyncio.to_thread(app.reload_sources_blocking)
                deadline = time.monotonic() + 120
                while app.model_updates == updates and time.monotonic() < deadline:
                    await pilot.pause(0.005)
                deadline = time.monotonic() + SHOW_TIMEOUT
                while not probe.frames and time.monotonic() < deadline:
                    await pilot.pause(0.005)
                probe.watch = None
                await pilot.pause(0.1)  # let the UI settle (the deferred release, timers) before the next change
                figures.release += probe.release
                figures.view += probe.view
                figures.model += probe.model
                figures.ui += probe.ui
                figures.frame += [(t - began) * 1000 for t in probe.applied_frame if t]
                if probe.frames:
                    figures.shown.append((probe.frames[0] - began) * 1000)
                else:
                    figures.missed += 1
                notes.setdefault("cursor kept", []).append(tree.cursor_node is not None and tree.cursor_node.data
                                                           is not None and getattr(tree.cursor_node.data, "route_id",
                                                                                   None) == route_id)

            for c in range(colds):
                tag = f"c{c + 1}"

                def rewrite_all(tag: str = tag, previous: str = f"c{c}" if c else "v0") -> None:
                    for key, path in files.items():
                        if key.startswith("routetable-"):
                            path.write_text(path.read_text().replace(f"body: {previous} ", f"body: {tag} "))
                await change(cold, tables - 1, 1, f"{tag} t{tables - 1} r1", rewrite_all)
            notes["nodes"] = [loaded_nodes(tree)]
            for i in range(edits):
                t = LABELLED + 1 + (i * 37) % (tables - LABELLED - 1)  # a table named by ref, not by label
                body = f"e{i} t{t} r3"
                await change(edit, t, 3, body, lambda t=t, body=body: set_body(files[f"routetable-team{t}"], 3, body))
            notes["routes"] = len(app.model.entries) if app.model else 0
            notes["nodes"].append(loaded_nodes(tree))
        return cold, edit, notes
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stat(values: list[float]) -> str:
    if not values:
        return f"{'-':>18}"
    return f"{statistics.median(values):7.1f} / {max(values):7.1f}"


def report(routes: int, cold: Figures, edit: Figures, notes: dict[str, Any]) -> None:
    print(f"{notes['routes']:,} routes ({routes // 100} table files), headless console; ms, median / worst")
    print(f"  {'change':<22} {'worker: view':>18} {'worker: model':>18} {'worker: total':>18} "
          f"{'UI: apply':>18} {'UI: release':>18} {'UI: both':>18} {'save -> frame':>18} {'save -> tree':>18}  shown")
    for name, f in (("cold (every file)", cold), ("one-route edit", edit)):
        total = len(f.shown) + f.missed
        print(f"  {name:<22} {stat(f.view):>18} {stat(f.model):>18} {stat(f.worker()):>18} {stat(f.ui):>18} {stat(f.release):>18} {stat(f.busy()):>18} "
              f"{stat(f.frame):>18} {stat(f.shown):>18}  {len(f.shown)}/{total}")
    if cold.ui and edit.ui:
        print(f"  cold/edit (medians): worker {statistics.median(cold.worker()) / statistics.median(edit.worker()):.1f}x"
              f", UI (both) {statistics.median(cold.busy()) / statistics.median(edit.busy()):.1f}x"
              + (f", save -> tree {statistics.median(cold.shown) / statistics.median(edit.shown):.1f}x"
                 if cold.shown and edit.shown else ""))
    print(f"  tree nodes loaded after the cold reloads / after the edits: {notes['nodes'][0]} / {notes['nodes'][1]}"
          " (each edit's table was opened to show its route, and stays open)")
    kept = notes.get("cursor kept", [])
    print(f"  cursor still on the edited route after the reload: {sum(kept)}/{len(kept)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routes", default="1000,10000", help="comma-separated; at least 500 (5 tables)")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--cold", type=int, default=3, help="cold reloads (every table file rewritten)")
    args = parser.parse_args()
    probe = Probe()
    probe.install()
    for routes in (int(r) for r in args.routes.split(",")):
        report(routes, *asyncio.run(measure(probe, routes, args.edits, args.cold)))


if __name__ == "__main__":
    main()

"""Editor responsiveness: a 1,000-line resource in a 10,000-route configuration.

Opens the editor on a ~1,000-line RouteTable file and types into it (headless), measuring key event → next
frame, both while idle and while the debounced validation of the whole configuration runs in its worker.
  .venv/bin/python benchmarks/tui_editor.py [--routes 10000] [--lines 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def big_table(lines: int) -> str:
    """One RouteTable of about `lines` lines (9 lines per route), selected by nothing: a standalone resource."""
    head = ("apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1\nkind: RouteTable\n"
            "metadata:\n  name: big-table\n  namespace: editing\nspec:\n  routes:\n")
    route = ("  - name: r{i}\n    matchers:\n    - uri:\n        prefix: /big/{i}\n    directResponseAction:\n"
             "      status: 200\n      body: r{i}\n    labels:\n      owner: team-{t}\n")
    count = max(1, (lines - 7) // 9)
    return head + "".join(route.format(i=i, t=i % 7) for i in range(count))


async def measure(config_dir: Path, table: Path) -> dict[str, float]:
    from textual import events
    from textual.screen import Screen

    from meshctl.sources.files import FileSource
    from meshctl.sources.workspace import Workspace
    from meshctl.tui.app import MeshctlApp
    from meshctl.tui.editing import check_text
    from meshctl.tui.screens.editor import EditorScreen

    frames: list[float] = []
    refresh = Screen._compositor_refresh

    def refresh_hook(self):  # type: ignore[no-untyped-def]
        refresh(self)
        frames.append(time.perf_counter())
    Screen._compositor_refresh = refresh_hook  # type: ignore[method-assign]

    out: dict[str, float] = {}
    app = MeshctlApp(Workspace([FileSource([config_dir])]), watch=False)
    async with app.run_test(size=(160, 48)) as pilot:
        while app.model_updates < 1:
            await pilot.pause(0.02)
        text = table.read_text()
        out["lines"] = float(text.count("\n"))
        t0 = time.perf_counter()
        check_text(app.model.snapshot, str(table), text)
        out["validate_s"] = time.perf_counter() - t0
        app.open_editor_path(str(table))
        while not isinstance(app.screen, EditorScreen):
            await pilot.pause(0.01)
        screen = app.screen
        while screen.checks_done < 1:
            await pilot.pause(0.02)
        screen.area.move_cursor((500, 4))

        async def keystroke(ch: str) -> float:
            frames.clear()
            start = time.perf_counter()
            app.post_message(events.Key(ch, ch))
            while not frames:
                await asyncio.sleep(0.0005)
            return (frames[0] - start) * 1000

        idle = []
        for ch in "abcdefghij":
            idle.append(await keystroke(ch))
            await asyncio.sleep(0.5)  # let the debounced validation run and finish between keys
        busy = []
        checks = screen.checks_done
        for ch in "klmnopqrstuvwxyzabcdefghij" * 2:  # typing continuously: validation keeps being rescheduled
            busy.append(await keystroke(ch))
            await asyncio.sleep(0.08)
        while screen.checks_done == checks:
            await pilot.pause(0.05)
        out.update(idle_median=statistics.median(idle), idle_max=max(idle),
                   typing_median=statistics.median(busy), typing_max=max(busy))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000)
    args = parser.parse_args()
    from tui_common import write_config

    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp) / "config"
        config_dir.mkdir()
        write_config(config_dir, args.routes)
        table = config_dir / "big-table.yaml"
        table.write_text(big_table(args.lines))
        r = asyncio.run(measure(config_dir, table))
    print(f"editor: {int(r['lines'])}-line resource in a {args.routes:,}-route configuration")
    print(f"  validation of the edited text against everything  {r['validate_s'] * 1000:.0f} ms (worker thread, "
          f"debounced {300} ms)")
    print(f"  keystroke → frame, idle         median {r['idle_median']:.1f} ms, max {r['idle_max']:.1f} ms")
    print(f"  keystroke → frame, typing on    median {r['typing_median']:.1f} ms, max {r['typing_max']:.1f} ms")


if __name__ == "__main__":
    main()

"""FrozenHeap: the live model is frozen out of the cyclic collector after a rebuild, and cyclic garbage left
behind is collected once the process is quiet."""

from __future__ import annotations

import gc
import time
import weakref
from typing import Any

from meshctl.model import gcpause
from meshctl.model.gcpause import FrozenHeap, gc_paused


class Node:
    def __init__(self) -> None:
        self.peer: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    return a, weakref.ref(a)


def test_settled_freezes_and_stop_hands_everything_back() -> None:
    heap = FrozenHeap(idle=60)
    try:
        heap.settled()
        assert gc.get_freeze_count() > 0
    finally:
        heap.stop()
    assert gc.get_freeze_count() == 0
    heap.settled()  # a stopped heap freezes nothing more
    assert gc.get_freeze_count() == 0


def test_cycles_dropped_after_a_freeze_are_collected_when_quiet() -> None:
    heap = FrozenHeap(idle=0.05)
    try:
        node, alive = cycle()
        heap.settled()  # the cycle is alive here: frozen with everything else
        del node
        gc.collect()
        assert alive() is not None  # frozen: a collection does not look at it
        deadline = time.monotonic() + 10
        while (alive() is not None or heap.collections == 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert alive() is None and heap.collections == 1
        assert gc.get_freeze_count() > 0  # the survivors are frozen again
    finally:
        heap.stop()


def test_each_rebuild_postpones_the_quiet_collection() -> None:
    heap = FrozenHeap(idle=1.0)
    try:
        began = time.monotonic()
        heap.settled()
        for _ in range(8):
            time.sleep(0.2)
            heap.settled()
        assert time.monotonic() - began > heap.idle  # longer than one quiet period in all, never quiet that long
        assert heap.collections == 0
    finally:
        heap.stop()


def frozen(objects: list[Any]) -> list[bool]:
    """For each object, whether it is out of the collector's generations (gc.freeze moved it to the permanent one).
    Asked of the objects themselves, not of gc.get_freeze_count(), which other freezing in this process changes."""
    tracked = {id(o) for o in gc.get_objects()}
    return [id(o) not in tracked for o in objects]


def paused_build(size: int) -> list[Node]:
    """A build's survivors, made inside gc_paused. The collector's switch is process-wide: a thread an earlier test
    of this process left building may hold it off for a moment, and then gc_paused leaves it to that thread. Up to
    three tries, each starting with the collector on."""
    for _ in range(3):
        gc.enable()
        with gc_paused():
            built = [Node() for _ in range(size)]
        if gc.isenabled():
            return built
    return built


def test_while_a_heap_is_in_use_a_paused_build_leaves_its_survivors_frozen(monkeypatch: Any) -> None:
    monkeypatch.setattr(gcpause, "_frozen_heaps", 0)  # no other heap of this process counts here
    heap = FrozenHeap(idle=60)
    try:
        heap.settled()
        assert all(frozen(paused_build(1000)))
    finally:
        heap.stop()
    assert not any(frozen(paused_build(10)))  # no heap in use: nothing frozen

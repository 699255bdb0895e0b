"""The console overrides a few private Textual methods; these tests fail loudly when a Textual release drops or
renames one of them (an override of a method nobody calls any more would silently stop working). pyproject.toml
bounds textual below the next major release for the same reason: a new major is checked here before it is allowed.
"""

from __future__ import annotations

import inspect

import pytest
from textual.widgets import TextArea, Tree

from meshctl.tui.widgets.route_tree import RouteTree
from meshctl.tui.widgets.yaml_area import YamlArea

# (our subclass, the Textual class, the private method it overrides, attributes the override relies on)
HOOKS = [
    (RouteTree, Tree, "_invalidate", ()),
    (YamlArea, TextArea, "_set_theme", ("_theme",)),
    (YamlArea, TextArea, "_build_highlight_map", ("_line_cache", "_highlights")),
]


@pytest.mark.parametrize(("ours", "base", "method", "attributes"), HOOKS,
                         ids=[f"{base.__name__}.{method}" for _, base, method, _ in HOOKS])
def test_private_hook_still_exists_and_is_called_by_textual(ours: type, base: type, method: str,
                                                            attributes: tuple[str, ...]) -> None:
    assert method in vars(ours), f"{ours.__name__} no longer overrides {method}: update this table"
    assert callable(getattr(base, method, None)), (
        f"Textual's {base.__name__}.{method} is gone: meshctl's override in {ours.__name__} would never run")
    # Textual itself must still call it, or the override is dead code
    callers = [cls for cls in base.__mro__ if cls is not object and f"self.{method}(" in _source(cls)]
    assert callers, f"no Textual code calls {base.__name__}.{method} any more"
    source = _source(base)
    for attribute in attributes:
        assert f"self.{attribute}" in source, f"Textual's {base.__name__} no longer has {attribute}"


def _source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ""

"""The literal prefix of a merged child regex (`escaped(parent)(?:child)`, as v2 delegation writes it) reaches into
the group, so the sandbox index and the shadow analysis do not test every regex under one parent prefix."""

from __future__ import annotations

import pytest
import re2

from meshctl.model.regex import literal_prefix


@pytest.mark.parametrize("pattern,prefix,matches", [
    (r"/c5(?:/r123/[0-9]+)", "/c5/r123/", ["/c5/r123/7"]),
    (r"/c5(?:/a|/b)", "/c5", ["/c5/a", "/c5/b"]),
    (r"/c5(?:/x)?", "/c5", ["/c5", "/c5/x"]),
    (r"/c5(?:/x)*", "/c5", ["/c5", "/c5/x/x"]),
    (r"/c5(?:/x)+", "/c5/x", ["/c5/x", "/c5/x/x"]),
    (r"/a(?:b(?:c)d)e", "/abc", ["/abcde"]),
    (r"/a(?:[)]x)", "/a", ["/a)x"]),
    (r"/a(?:\)b)", "/a)b", ["/a)b"]),
    (r"/(a|b)/.*", "/", ["/a/x"]),
])
def test_literal_prefix_through_non_capturing_groups(pattern: str, prefix: str, matches: list[str]) -> None:
    assert literal_prefix(pattern) == prefix
    for text in matches:
        assert re2.fullmatch(pattern, text) and text.startswith(prefix)

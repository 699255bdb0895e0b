"""A fast reader for the plain block YAML that Kubernetes manifests are written in; PyYAML does the rest.

libyaml scans quickly, but PyYAML turns every event into Python objects, which makes a 2 MB manifest cost a
third of a second. Manifests almost always use a small part of YAML: block mappings and sequences, plain or
simply quoted one-line scalars, comments, `---` between documents. `load_documents` reads exactly that part,
line by line, and gives up (returns None) on anything else — flow collections other than `{}`/`[]`, block
scalars, anchors, tags, escapes, multi-line scalars, duplicate keys, tabs, unusual characters, bad
indentation — so the caller can hand the text to PyYAML, which then builds the data or reports the error.
Where it answers, the answer equals PyYAML's (safe loader, YAML 1.1 scalar resolution, timestamps kept as
text); tests compare the two on every YAML file in the repository and on generated documents.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import yaml


class _Decline(Exception):
    """The text uses YAML this reader leaves to PyYAML."""


# libyaml's printable set without the characters PyYAML treats as line breaks or byte-order marks, and without
# tab and carriage return (both legal, both rare in manifests, both with rules of their own).
_UNUSUAL_CHARACTER = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")

# First characters that make a plain scalar something other than a plain scalar (or make it illegal).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_NOT_A_KEY_START = _INDICATORS | {" "}


class _ScalarValues:
    """Plain scalar text -> value, as PyYAML's safe loader would build it (memoised: texts recur a lot)."""

    def __init__(self, loader_class: Any) -> None:  # a PyYAML loader class (SafeLoader or the C one)
        self._values: dict[str, Any] = {}
        self.implicit = loader_class.yaml_implicit_resolvers
        self._loader_class = loader_class

    def value(self, text: str) -> Any:
        if text[0] not in self.implicit:
            return text  # no implicit resolver starts with this character: a string (PyYAML's own shortcut)
        hit = self._values.get(text, _MISSING)
        if hit is _MISSING:
            hit = self._construct(text)
            if len(self._values) < 100_000:
                self._values[text] = hit
        return hit

    def _construct(self, text: str) -> Any:
        loader = self._loader_class("")
        try:
            tag = loader.resolve(yaml.ScalarNode, text, (True, False))
            if tag == "tag:yaml.org,2002:str":
                return text
            if tag not in _PLAIN_TAGS:
                raise _Decline  # `=` and other tags the safe loader cannot build: PyYAML reports them
            return loader.construct_object(yaml.ScalarNode(tag, text), deep=True)
        finally:
            loader.dispose()


_MISSING = object()
_PLAIN_TAGS = {"tag:yaml.org,2002:" + t for t in ("int", "float", "bool", "null", "timestamp")}
_scalar_values: _ScalarValues | None = None


def configure(loader_class: type, max_depth: int) -> None:
    """Name the PyYAML loader whose scalar rules (resolvers, constructors) this reader must reproduce, and the
    nesting depth above which it declines (the caller's PyYAML path reports such texts)."""
    global _scalar_values, _max_depth
    _scalar_values = _ScalarValues(loader_class)
    _max_depth = max_depth


_max_depth = 0
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


def _unusual_characters(text: str) -> bool:
    if text.isascii():  # the usual case, checked in C ten times faster than by the regex
        return bool(text.encode("ascii").translate(None, _PRINTABLE_ASCII))
    return _UNUSUAL_CHARACTER.search(text) is not None


def load_documents(text: str) -> list[Any] | None:
    """The data of every document in `text`, or None when the text needs PyYAML."""
    if _scalar_values is None:
        raise RuntimeError("blockyaml.configure() was not called")
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # a lone CR left over is a line break of its own: PyYAML's
    if _unusual_characters(text):
        return None
    try:
        return _Reader(_scalar_values).read(text)
    except _Decline:
        return None


class Positions:
    """Where each node of the read documents starts: 0-based (line, column), as PyYAML's marks give them."""

    def __init__(self) -> None:
        # id(container) -> per key text (mappings) or per index (sequences): (line, column, child container)
        self._children: dict[int, Any] = {}
        self._roots: dict[int, tuple[int, int, Any]] = {}
        self._alive: list[Any] = []  # the containers whose ids are keys above
        self.documents = 0

    def root(self, document: int, line: int, column: int, container: Any) -> None:
        self._roots[document] = (line, column, container)
        self._open(container)

    def add(self, parent: Any, key_text: str | None, line: int, column: int, child: Any) -> None:
        entries = self._children[id(parent)]
        if key_text is None:
            entries.append((line, column, child))
        else:
            entries[key_text] = (line, column, child)
        if child is not None:
            self._open(child)

    def _open(self, container: Any) -> None:
        self._children[id(container)] = [] if isinstance(container, list) else {}
        self._alive.append(container)

    def locate(self, document: int, path: tuple[Any, ...]) -> tuple[int, int] | None:
        """Start of the node at `path`, or of its deepest existing ancestor; None for an empty document.

        Keys match by their text, as `str(part)` (the way PyYAML key nodes are matched)."""
        hit = self._roots.get(document)
        if hit is None:
            return None
        line, column, container = hit
        for part in path:
            entries = self._children.get(id(container)) if container is not None else None
            if isinstance(entries, dict):
                found = entries.get(str(part))
            elif isinstance(entries, list) and isinstance(part, int) and 0 <= part < len(entries):
                found = entries[part]
            else:
                found = None
            if found is None:
                break
            line, column, container = found
        return line, column


def positions(text: str) -> Positions | None:
    """Node positions of every document in `text`, or None when the text needs PyYAML."""
    if _scalar_values is None:
        raise RuntimeError("blockyaml.configure() was not called")
    if "\r" in text or _unusual_characters(text):
        return None  # (CR LF would be read fine, but columns after a CR must match PyYAML's: leave it to PyYAML)
    where = Positions()
    try:
        where.documents = len(_Reader(_scalar_values).read(text, where))
    except _Decline:
        return None
    return where


class _Reader:
    """Builds documents from lines, keeping a stack of the open mappings and sequences by indentation."""

    def __init__(self, values: _ScalarValues) -> None:
        self.plain: Callable[[str], Any] = values.value
        self.implicit = values.implicit  # first characters of every implicitly typed plain scalar

    def read(self, text: str, where: Positions | None = None) -> list[Any]:
        """The documents' data; with `where`, also the position of every node (for locating findings)."""
        documents: list[Any] = []
        # Open containers, innermost last: (column, container, is_sequence).
        stack: list[tuple[int, Any, bool]] = []
        # A key written with nothing after its colon waits for the next line:
        # (mapping, key, column, key text, line number, column after the colon).
        pending: tuple[dict[Any, Any], Any, int, str, int, int] | None = None
        root: Any = _MISSING
        in_document = False
        plain, implicit, scalar = self.plain, self.implicit, self._scalar
        indicators, not_a_key_start, max_depth = _INDICATORS, _NOT_A_KEY_START, _max_depth
        for number, line in enumerate(text.split("\n")):
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue
            column = len(line) - len(content)
            content = content.rstrip(" ")
            if column == 0 and content[0] in "-.%" and _is_marker(content):
                if in_document:
                    if pending is not None:
                        _null_value(pending, where)
                        pending = None
                    documents.append(None if root is _MISSING else root)
                in_document, root, stack = True, _MISSING, []
                continue
            in_document = True
            is_entry = content[0] == "-" and (len(content) == 1 or content[1] == " ")

            # Find the container this line belongs to: a new one (the value of a pending key, or the
            # document's root), or an open one at exactly this column.
            container: Any
            if pending is not None and (column > pending[2] or (column == pending[2] and is_entry)):
                container = [] if is_entry else {}
                pending[0][pending[1]] = container
                stack.append((column, container, is_entry))
                if len(stack) > max_depth:
                    raise _Decline  # nested deeper than the caller allows: PyYAML's path reports it
                if where is not None:
                    where.add(pending[0], pending[3], number, column, container)
                pending = None
            else:
                if pending is not None:
                    _null_value(pending, where)  # `key:` followed by a sibling or less
                    pending = None
                while stack and (stack[-1][0] > column or (stack[-1][0] == column and stack[-1][2]
                                                             and not is_entry)):
                    stack.pop()
                if stack:
                    top_column, container, is_sequence = stack[-1]
                    if top_column != column or is_sequence != is_entry:
                        raise _Decline  # indentation YAML would reject, or a continuation line
                elif root is _MISSING:
                    root = container = [] if is_entry else {}
                    stack.append((column, container, is_entry))
                    if where is not None:
                        where.root(len(documents), number, column, container)
                else:
                    raise _Decline  # a second top-level node, or content left of the first one

            # Sequence entries: `- scalar`, or `- ` opening a mapping or sequence on the same line.
            while is_entry:
                rest = content[1:].lstrip(" ")
                if not rest or rest[0] == "#":
                    raise _Decline  # `-` alone: the item is on the following lines
                column += len(content) - len(rest)
                content = rest
                is_entry = rest[0] == "-" and (len(rest) == 1 or rest[1] == " ")
                if is_entry:
                    item: Any = []
                elif rest[0] not in "'\"" and (": " in rest or rest[-1] == ":"):
                    item = {}
                else:
                    container.append(scalar(rest))
                    if where is not None:
                        where.add(container, None, number, column, None)
                    break
                container.append(item)
                if where is not None:
                    where.add(container, None, number, column, item)
                container = item
                stack.append((column, item, is_entry))
                if len(stack) > max_depth:
                    raise _Decline
            else:
                # A mapping entry: `key: value` or `key:` with the value on the following lines.
                end = content.find(": ")
                if end < 0 and content[-1] == ":":
                    end = len(content) - 1
                if end <= 0:
                    raise _Decline  # no `key:` where a mapping entry belongs
                key_text = content[:end]
                if key_text[0] in not_a_key_start or key_text[-1] == " " or " #" in key_text:
                    raise _Decline  # quoted, anchored, complex or commented keys
                key = key_text if key_text[0] not in implicit else plain(key_text)
                if key in container:
                    raise _Decline  # a duplicate key: PyYAML's path reports it
                rest = content[end + 1:].lstrip(" ")
                if not rest or rest[0] == "#":
                    pending = (container, key, column, key_text, number, column + end + 1)
                    continue
                if rest[0] in indicators or " #" in rest or ": " in rest or rest[-1] == ":":
                    container[key] = scalar(rest)
                else:
                    container[key] = rest if rest[0] not in implicit else plain(rest)
                if where is not None:
                    where.add(container, key_text, number, column + len(content) - len(rest), None)
        if in_document:
            if pending is not None:
                _null_value(pending, where)
            documents.append(None if root is _MISSING else root)
        return documents

    def _scalar(self, text: str) -> Any:
        """A one-line value: plain, 'single' or "double" quoted (no escapes), or an empty flow collection."""
        first = text[0]
        if first == "'":
            end = 1
            while True:
                end = text.find("'", end)
                if end < 0:
                    raise _Decline  # continues on the next line
                if text.startswith("''", end):
                    end += 2
                    continue
                break
            _only_comment_after(text, end + 1)
            return text[1:end].replace("''", "'")
        if first == '"':
            end = text.find('"', 1)
            if end < 0 or "\\" in text[:end]:
                raise _Decline  # escapes or a multi-line string
            _only_comment_after(text, end + 1)
            return text[1:end]
        comment = text.find(" #")
        if comment >= 0:
            text = text[:comment].rstrip(" ")
        if first in _INDICATORS:
            if text == "{}":
                return {}
            if text == "[]":
                return []
            if first != "-" or len(text) == 1 or text[1] == " ":
                raise _Decline  # flow collections, anchors, aliases, tags, block scalars, reserved characters
        if text[-1] == ":" or ": " in text:
            raise _Decline  # a mapping where a value belongs
        return self.plain(text)


def _null_value(pending: tuple[dict[Any, Any], Any, int, str, int, int], where: Positions | None) -> None:
    mapping, key, _, key_text, number, after_colon = pending
    mapping[key] = None
    if where is not None:
        where.add(mapping, key_text, number, after_colon, None)  # PyYAML puts an empty value right there


def _is_marker(content: str) -> bool:
    """`---` starts a document; other lines starting with `---`, `...` or `%` are left to PyYAML."""
    if content == "---" or (content.startswith("--- ") and content[4:].lstrip(" ").startswith("#")):
        return True
    if content.startswith(("---", "...", "%")):
        raise _Decline
    return False


def _only_comment_after(text: str, start: int) -> None:
    rest = text[start:]
    if rest and (rest[0] != " " or not rest.lstrip(" ").startswith("#")):
        raise _Decline  # `'a' b`, `'a': b`, `'a'#b`: not one quoted value

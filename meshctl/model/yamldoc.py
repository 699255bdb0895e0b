"""Reading YAML files into documents that can say where (file:line:column) any of their fields was written."""

from __future__ import annotations

import functools
import operator
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml

from . import blockyaml
from .findings import Finding, Severity, format_path

YAML_SUFFIXES = (".yaml", ".yml", ".json")


class _FastLoader(yaml.CSafeLoader):
    """libyaml-backed safe loader that records duplicate keys and keeps timestamps as text.

    Positions are not kept on the happy path (that would double the load time); they are recovered
    lazily by composing the file again only when something needs a location.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, yaml.Mark]] = []

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # A plain scalar's tag depends on its text alone (no path resolvers are registered), and the same
        # texts recur thousands of times ("prefix", "GET", "bookinfo"): resolve each once.
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < 200_000:
                    _RESOLVED[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if len(node.value) > 1:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                # the tag tells `1` (int) from `'1'` (str): different keys, not duplicates
                key = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else id(key_node)
                if key in seen:
                    self.duplicates.append((str(key_node.value), key_node.start_mark))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_RESOLVED: dict[str, str] = {}


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
MAX_DEPTH = 200  # far beyond any real resource, and below libyaml's own limit (1000 levels since PyYAML 6.0.4)
blockyaml.configure(_FastLoader, max_depth=MAX_DEPTH)
Loader = _FastLoader  # the safe loader meshctl reads all YAML with (timestamps stay text); blockyaml matches it


_CONTENT_LINE = re.compile(r"^[ \t]*[^\s#%]", re.MULTILINE)


def _has_other_line_breaks(text: str) -> bool:
    """YAML also breaks lines at a lone CR, NEL and the Unicode line and paragraph separators."""
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        return True
    return "\r" in text and text.count("\r") != text.count("\r\n")


def _document_starts(text: str) -> list[int]:
    """Offsets of the lines that start with a `---` marker (str.find: a MULTILINE regex is ten times slower)."""
    starts = [0] if text.startswith("---") else []
    at = text.find("\n---")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n---", at + 4)
    return [s for s in starts if s + 3 == len(text) or text[s + 3] in " \t\r\n"]


_T = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _T + "str", _T + "map", _T + "seq"


class _Unusual(Exception):
    """A node the direct builder leaves to PyYAML's constructor (merge keys, custom tags, odd keys)."""


def _build_document(loader: _FastLoader, root: yaml.Node) -> Any:
    """Plain data from a composed document: the same result as SafeConstructor (with our timestamp and
    duplicate-key rules) for str/int/float/bool/null/timestamp scalars, mappings and sequences, at about
    twice its speed. Aliases share one object, as in PyYAML; anything else raises _Unusual."""
    built: dict[int, Any] = {}
    construct_scalar = loader.construct_object

    def build(node: yaml.Node) -> Any:
        if type(node) is yaml.ScalarNode:
            if node.tag == _STR:
                return node.value
            if node.tag not in _PLAIN_SCALARS:
                raise _Unusual
            return construct_scalar(node)
        hit = built.get(id(node))
        if hit is not None:
            return hit
        if type(node) is yaml.SequenceNode:
            if node.tag != _SEQ:
                raise _Unusual
            items: list[Any] = []
            built[id(node)] = items
            items.extend(build(child) for child in node.value)
            return items
        if type(node) is not yaml.MappingNode or node.tag != _MAP:
            raise _Unusual
        mapping: dict[Any, Any] = {}
        built[id(node)] = mapping
        seen: set[tuple[str, str]] = set()
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode or key_node.tag not in _KEY_TAGS:
                raise _Unusual  # merge keys, collection keys: PyYAML's constructor knows them
            ident = (key_node.tag, key_node.value)
            if ident in seen:
                loader.duplicates.append((str(key_node.value), key_node.start_mark))
            seen.add(ident)
            mapping[build(key_node)] = build(value_node)
        return mapping

    return build(root)


_PLAIN_SCALARS = {_T + t for t in ("int", "float", "bool", "null", "timestamp")}
_KEY_TAGS = _PLAIN_SCALARS | {_STR}


class SourceText:
    """The text of one file; composes it into position-carrying nodes on first demand."""

    def __init__(self, name: str, text: str | None = None, render: Callable[[], str] | None = None) -> None:
        """`text`, or `render` to produce it on first use (live objects are dumped only when located)."""
        self.name = name
        self._text = text
        self._render = render
        self._nodes: list[yaml.Node | None] | None = None
        self._chunks: list[tuple[int, int, int]] | None = None
        self._doc_nodes: dict[int, tuple[yaml.Node | None, int]] = {}
        self._doc_positions: dict[int, tuple[blockyaml.Positions, int] | None] = {}

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._render() if self._render is not None else ""
        return self._text

    def document_node(self, index: int) -> tuple[yaml.Node | None, int]:
        """The composed node of one document and the line offset to add to its marks.

        Composing a whole large file costs seconds; a finding needs only its own document. YAML forbids a
        line starting with `---` inside content, so such lines split the text into documents. If the split
        does not line up with what the parser saw, we compose the whole file instead.
        """
        hit = self._doc_nodes.get(index)
        if hit is not None:
            return hit
        chunks = self._document_chunks()
        result: tuple[yaml.Node | None, int] | None = None
        if index < len(chunks):
            start, end, line_offset = chunks[index]
            try:
                composed = list(yaml.compose_all(self.text[start:end], Loader=yaml.CSafeLoader))
            except yaml.YAMLError:
                composed = []
            if len(composed) == 1:
                result = (composed[0], line_offset)
        if result is None:
            nodes = self.nodes()
            result = (nodes[index] if index < len(nodes) else None, 0)
        self._doc_nodes[index] = result
        return result

    def document_positions(self, index: int) -> tuple[blockyaml.Positions, int] | None:
        """Node positions of one document from the fast reader, and its line offset; None when the document's
        text is outside the reader's subset (compose it with document_node instead)."""
        if index in self._doc_positions:
            return self._doc_positions[index]
        chunks = self._document_chunks()
        result = None
        if index < len(chunks):
            start, end, line_offset = chunks[index]
            where = blockyaml.positions(self.text[start:end])
            if where is not None and where.documents == 1:
                result = (where, line_offset)
        self._doc_positions[index] = result
        return result

    def _document_chunks(self) -> list[tuple[int, int, int]]:
        """(start, end, line number of start) of every document's text, found with str.find (C speed)."""
        if self._chunks is None:
            text = self.text
            if _has_other_line_breaks(text):
                self._chunks = []  # lines would be counted differently from YAML: compose the whole file
                return self._chunks
            starts = _document_starts(text)
            first_content = _CONTENT_LINE.search(text)
            if first_content is not None and (not starts or first_content.start() < starts[0]):
                starts.insert(0, 0)
            ends = starts[1:] + [len(text)]
            chunks, line, previous = [], 0, 0
            for start, end in zip(starts, ends, strict=True):
                line += text.count("\n", previous, start)
                previous = start
                chunks.append((start, end, line))
            self._chunks = chunks
        return self._chunks

    def nodes(self) -> list[yaml.Node | None]:
        if self._nodes is None:
            # compose one document at a time: a syntax error in a later document must not cost the
            # earlier (already loaded) documents their positions
            nodes: list[yaml.Node | None] = []
            loader = yaml.CSafeLoader(self.text)
            try:
                while loader.check_node():
                    nodes.append(loader.get_node())
            except yaml.YAMLError:
                pass
            finally:
                loader.dispose()
            self._nodes = nodes
        return self._nodes


@dataclass
class Document:
    """One YAML document (or one item of a `kind: List`) with the means to locate any field in it."""

    source: SourceText
    index: int  # document index within the file
    data: Any
    base: tuple[Any, ...] = ()  # ('items', 3) for List items
    _located: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def file(self) -> str:
        return self.source.name

    def locate(self, path: tuple[Any, ...] = ()) -> tuple[int, int]:
        """1-based (line, column) of the node at `path`, or of its deepest existing ancestor."""
        full = self.base + tuple(path)
        hit = self._located.get(full)
        if hit is not None:
            return hit
        fast = self.source.document_positions(self.index)
        if fast is not None:
            where, offset = fast
            found = where.locate(0, full)
            pos = (1, 1) if found is None else (found[0] + 1 + offset, found[1] + 1)
            self._located[full] = pos
            return pos
        node, offset = self.source.document_node(self.index)
        pos = (1, 1) if node is None else (node.start_mark.line + 1 + offset, node.start_mark.column + 1)
        for part in full:
            child = _child(node, part)
            if child is None:
                break
            node = child
            pos = (node.start_mark.line + 1 + offset, node.start_mark.column + 1)
        self._located[full] = pos
        return pos

    def finding(
        self,
        severity: Severity,
        code: str,
        message: str,
        path: tuple[Any, ...] = (),
        resource: str | None = None,
        path_text: str | None = None,
    ) -> Finding:
        line, col = self.locate(path)
        return Finding(
            severity=severity,
            code=code,
            message=message,
            file=self.file,
            line=line,
            column=col,
            resource=resource,
            path=path_text if path_text is not None else (format_path(path) or None),
        )


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                return value_node
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    return None


@dataclass
class LoadedFiles:
    documents: list[Document]
    findings: list[Finding]
    files: list[str]


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Finding]]:
    """Files named directly, plus every YAML/JSON file below named directories, in a stable order."""
    files: list[Path] = []
    findings: list[Finding] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(yaml_files_below(p))
        elif p.is_file():
            files.append(p)
        else:
            findings.append(
                Finding(Severity.ERROR, "path-not-found", f"no such file or directory: {p}", file=str(p))
            )
    return files, findings


def yaml_files_below(directory: Path) -> list[Path]:
    """The YAML/JSON files below `directory`, in `sorted(directory.rglob(...))` order: symbolic links to files are
    files, links to directories are not entered, unreadable directories are skipped.

    Written with os.scandir because a watched 1,000-file directory is listed on every change: rglob, one `is_file`
    stat per file and sorting Path objects took ~13 ms of a 100k-route edit; this takes ~1.3 ms (file types come
    with the listing; Path objects are made once per file)."""
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(directory), ())]
    while pending:
        folder, parts = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append((entry.path, (*parts, entry.name)))
                        elif os.path.splitext(entry.name)[1].lower() in YAML_SUFFIXES and entry.is_file():
                            found.append(((*parts, entry.name), entry.path))
                    except OSError:
                        continue
        except OSError:  # unreadable (as rglob, which skips what it may not list)
            continue
    # Path order: part by part (case-folded where the file system is, as PurePath compares)
    if _CASE_FOLDED:
        found.sort(key=lambda item: tuple(os.path.normcase(part) for part in item[0]))
    else:
        found.sort(key=_PARTS)
    return list(map(_path, map(_PATH, found)))


_CASE_FOLDED = os.path.normcase("A") != "A"
_PARTS = operator.itemgetter(0)
_PATH = operator.itemgetter(1)


@functools.lru_cache(maxsize=65536)
def _path(text: str) -> Path:
    """Path objects are immutable: a directory listed on every change makes each of its files' once."""
    return Path(text)


def read_text(path: Path, display: str | None = None) -> tuple[str | None, list[Finding]]:
    """Read a file as UTF-8 text; binary and non-UTF-8 content are reported, not raised."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Finding(Severity.ERROR, "unreadable", f"cannot read file: {exc.strerror}", file=name)]
    return decode_text(raw, name)


def decode_text(raw: bytes, name: str) -> tuple[str | None, list[Finding]]:
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        return None, [
            Finding(Severity.ERROR, "binary-file", "binary content (NUL byte); expected YAML text",
                    file=name, line=line, column=1)
        ]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Finding(Severity.ERROR, "not-utf8",
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); YAML files must be UTF-8 text",
                    file=name, line=line, column=col)
        ]
    return text, []


def parse_text(text: str, name: str) -> tuple[list[Document], list[Finding]]:
    """Split a YAML text into documents; `kind: List` items become documents of their own."""
    source = SourceText(name, text)
    if not _has_content(text):
        return [], [Finding(Severity.ERROR, "empty-file", "file has no YAML documents", file=name, line=1, column=1)]
    documents: list[Document] = []
    findings: list[Finding] = []
    plain_block = blockyaml.load_documents(text)
    if plain_block is not None:  # the usual manifest: no PyYAML objects needed (see blockyaml)
        for index, data in enumerate(plain_block):
            documents.extend(_split_document(source, index, data, findings))
        return documents, findings
    too_deep = too_deep_finding(text, name)
    if too_deep is not None:
        return [], [too_deep]
    loader = _FastLoader(text)
    index = 0
    try:
        while True:
            loader.duplicates = []
            if not loader.check_node():
                break
            try:
                node = loader.get_node()
                try:
                    data = _build_document(loader, node) if node is not None else None
                except _Unusual:
                    loader.duplicates = []
                    data = loader.construct_document(node)
            except yaml.constructor.ConstructorError as exc:
                # the document was parsed; only building values failed (unhashable key, unknown tag),
                # so report it and go on with the next document
                findings.extend(_duplicate_findings(source, index, loader.duplicates))
                findings.append(_syntax_finding(exc, text, name))
                _reset_constructor(loader)
                index += 1
                continue
            findings.extend(_duplicate_findings(source, index, loader.duplicates))
            documents.extend(_split_document(source, index, data, findings))
            index += 1
    except yaml.YAMLError as exc:
        findings.append(yaml_error_finding(exc, text, name))
    finally:
        loader.dispose()
    return documents, findings


def _syntax_finding(exc: yaml.YAMLError, text: str, name: str) -> Finding:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
    if isinstance(exc, yaml.reader.ReaderError):
        # a character YAML forbids (e.g. a control character); libyaml gives a UTF-8 byte offset
        problem = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        line, col = _line_col_of_byte(text, exc.position)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return Finding(Severity.ERROR, "yaml-syntax", message, file=name, line=line, column=col)


def _line_col_of_byte(text: str, offset: int) -> tuple[int, int]:
    before = text.encode("utf-8")[:offset].decode("utf-8", "ignore")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _reset_constructor(loader: _FastLoader) -> None:
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    loader.state_generators = []
    loader.deep_construct = False


def _duplicate_findings(source: SourceText, index: int, duplicates: list[tuple[str, yaml.Mark]]) -> list[Finding]:
    out = []
    for key, mark in duplicates:
        nodes = source.nodes()  # composed only when a duplicate exists, to name the field path
        path = _path_to_mark(nodes[index], mark) if index < len(nodes) else None
        out.append(Finding(
            Severity.ERROR, "duplicate-key",
            f"key {key!r} appears more than once in the same mapping (the last one would win silently)",
            file=source.name, line=mark.line + 1, column=mark.column + 1,
            path=format_path(path) if path else None))
    return out


def _path_to_mark(root: yaml.Node | None, mark: yaml.Mark) -> tuple[Any, ...] | None:
    """Field path of the mapping key written at `mark` (iterative: documents may nest deeply)."""
    stack: list[tuple[yaml.Node | None, tuple[Any, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))  # aliases make the node graph a DAG (or a cycle); visit each node once
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_path = path + (key_node.value if isinstance(key_node, yaml.ScalarNode) else "?",)
                if (key_node.start_mark.line, key_node.start_mark.column) == (mark.line, mark.column):
                    return key_path
                stack.append((value_node, key_path))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, path + (i,)) for i, child in enumerate(node.value))
    return None


_BRACKETS = re.compile(r"[\[\]{}]")


def too_deep_finding(text: str, name: str, *, checked: bool = False) -> Finding | None:
    """A finding when collections nest deeper than MAX_DEPTH, whichever parser would notice it first.

    The depth is counted on the events of PyYAML's pure-Python parser, which has no nesting limit of its own
    (libyaml 0.2.5, bundled since PyYAML 6.0.4, refuses more than 1000 levels with a scanner error). So the
    finding depends on the cause, not on how a given PyYAML words it. `checked` skips the cheap bound: callers
    pass it after a parser already failed and the cause is wanted.
    """
    if not checked and not _may_be_too_deep(text):
        return None
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    assert mark is not None  # the parser marks every event
                    return Finding(Severity.ERROR, "too-deep",
                                   f"collections nest more than {MAX_DEPTH} levels deep; not a resource meshctl can load",
                                   file=name, line=mark.line + 1, column=mark.column + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # a syntax error before any level too many: the loader reports it itself
    return None


def _may_be_too_deep(text: str) -> bool:
    """A cheap upper bound on the nesting depth: False means the text certainly nests at most MAX_DEPTH levels."""
    # Every two block levels need more indentation or a compact "- " / "? " indicator, and every flow
    # level a bracket, so this bound is safe; real files are far below it and skip the event scan.
    flow = depth = 0
    for bracket in _BRACKETS.findall(text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        flow = max(flow, depth)
    # a line's indentation plus its indicators never exceed its length, so only long lines can break the bound
    bound = max((MAX_DEPTH - 2 - flow) // 2, 0)
    long_lines = re.finditer(r"(?m)^.{%d,}$" % (bound + 1), text)
    block = max((len(line) - len(line.lstrip(" ")) + line.count("- ") + line.count("? ")
                 for line in (m.group(0) for m in long_lines)), default=0)
    return 2 * block + 2 + flow > MAX_DEPTH


def yaml_error_finding(exc: yaml.YAMLError, text: str, name: str) -> Finding:
    """The finding for a text PyYAML refused: `too-deep` when the nesting is the cause, else `yaml-syntax`."""
    return too_deep_finding(text, name, checked=True) or _syntax_finding(exc, text, name)


def _split_document(source: SourceText, index: int, data: Any, findings: list[Finding]) -> Iterator[Document]:
    if data is None:
        return  # an empty document (e.g. a trailing `---`) is harmless
    doc = Document(source, index, data)
    if not isinstance(data, dict):
        line, col = doc.locate()
        findings.append(
            Finding(Severity.ERROR, "not-a-mapping",
                    f"a resource must be a mapping with apiVersion, kind and metadata; got {describe_type(data)}",
                    file=source.name, line=line, column=col)
        )
        return
    if data.get("kind") == "List" and isinstance(data.get("items"), list):
        for i, item in enumerate(data["items"]):
            sub = Document(source, index, item, base=("items", i))
            if not isinstance(item, dict):
                line, col = sub.locate()
                findings.append(
                    Finding(Severity.ERROR, "not-a-mapping",
                            f"List item must be a mapping; got {describe_type(item)}",
                            file=source.name, line=line, column=col, path=f"items[{i}]")
                )
                continue
            yield sub
        return
    yield doc


def _has_content(text: str) -> bool:
    start = 0
    while start < len(text):  # line by line from the top: content is usually on the first lines of a big file
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        for line in text[start:end].splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and stripped not in ("---", "..."):
                return True
        start = end + 1
    return False


def describe_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def load_files(paths: Iterable[str | os.PathLike[str]]) -> LoadedFiles:
    files, findings = expand_paths(paths)
    documents: list[Document] = []
    for f in files:
        text, problems = read_text(f)
        findings.extend(problems)
        if text is None:
            continue
        docs, problems = parse_text(text, str(f))
        documents.extend(docs)
        findings.extend(problems)
    return LoadedFiles(documents, findings, [str(f) for f in files])

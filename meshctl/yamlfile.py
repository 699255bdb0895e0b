"""meshctl's own YAML files (config file, shell plugins, ...) checked the way resources are: typed by the model's
`schema.parse`, every problem a Finding with file, line, column and field path.

Resources, settings and plugin declarations thus share one reader (`yamldoc.parse_text`, positions included), one
type checker (`schema.parse`) and one kind of report, instead of a hand-written check per file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from .model.findings import Finding, Severity
from .model.schema import Model, camel, parse
from .model.yamldoc import Document, describe_type, parse_text

M = TypeVar("M", bound=Model)


def check_document(doc: Document, cls: type[M], code: str, base: tuple[Any, ...] = (),
                   unknown: Severity | None = Severity.WARNING) -> tuple[M | None, list[Finding]]:
    """Type the mapping at `base` in `doc` as `cls`. Wrong types are errors (the field is left at its default);
    unknown keys are reported with `unknown` severity (None: kept silently)."""
    value = doc.data
    for part in base:
        value = value[part]
    obj, problems = parse(cls, value, base)
    findings = [doc.finding(Severity.ERROR, code, f"{message}; ignored", path) for path, message in problems.items]
    if not isinstance(value, dict):
        return None, findings
    if unknown is not None:
        findings.extend(_unknown_keys(doc, obj, base, code, unknown))
    return obj, findings


def _unknown_keys(doc: Document, obj: Model, path: tuple[Any, ...], code: str,
                  severity: Severity) -> list[Finding]:
    out = [doc.finding(severity, code, f"unknown setting {key!r} ignored", path + (key,))
           for key in obj._extra]
    for name, value in vars(obj).items():
        if isinstance(value, Model) and not name.startswith("_"):
            out.extend(_unknown_keys(doc, value, path + (camel(name),), code, severity))
    return out


def load_file(file: Path, cls: type[M], code: str, unknown: Severity | None = Severity.WARNING,
              ) -> tuple[M | None, Document | None, list[Finding]]:
    """Read and type one single-document YAML file. An empty file is an empty mapping; a file that cannot be read
    or parsed, or whose top is not a mapping, gives (None, ..., findings)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, None, [Finding(Severity.ERROR, code, f"cannot read {file.name}: {exc}", file=str(file))]
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        empty, _ = parse(cls, {})
        return empty, None, []
    docs, findings = parse_text(text, str(file))
    findings = [replace(f, code=code) for f in findings]
    if findings or not docs:
        return None, None, findings
    doc = docs[0]
    if doc.data is None:
        empty, _ = parse(cls, {})
        return empty, doc, []
    if not isinstance(doc.data, dict):
        return None, doc, [doc.finding(Severity.ERROR, code,
                                       f"expected a mapping at the top, got {describe_type(doc.data)}")]
    obj, problems = check_document(doc, cls, code, unknown=unknown)
    return obj, doc, problems

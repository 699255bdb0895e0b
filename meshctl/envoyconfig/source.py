"""Reading Envoy configuration text (config dump JSON, bootstrap YAML/JSON, a RouteConfiguration) into plain dicts.

Envoy's own loader accepts proto field names in snake_case and in lowerCamelCase; config dumps use snake_case.
Everything is normalised to snake_case here, so the rest of the package asks for one spelling only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml


class EnvoyConfigError(ValueError):
    """Envoy configuration that cannot be used; the message names the file, line or field path, and the problem."""


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
# map-typed fields whose keys are names the operator wrote, never proto field names
_USER_KEYED = frozenset({"typed_per_filter_config", "filter_metadata", "typed_filter_metadata", "fields",
                         "per_filter_config", "labels"})
_snake_cache: dict[str, str] = {}


def snake(key: str) -> str:
    out = _snake_cache.get(key)
    if out is None:
        out = _CAMEL.sub(lambda m: "_" + m.group(1).lower(), key) if not key.startswith("@") else key
        _snake_cache[key] = out
    return out


def _has_camel_keys(text: str) -> bool:
    return re.search(r'(?m)(?:^|[{,\s"])[a-z][a-z0-9]*[A-Z]\w*"?\s*:', text) is not None


def normalise(value: Any) -> Any:
    """Keys in snake_case, recursively (the keys of user-keyed maps are left as written)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = snake(k) if isinstance(k, str) else k
            out[key] = v if key in _USER_KEYED else normalise(v)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def parse_text(text: str, source: str) -> Any:
    """JSON when it looks like JSON (config dumps), else YAML; a syntax error names the line and column."""
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EnvoyConfigError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    else:
        try:
            docs = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise EnvoyConfigError(f"{where}: invalid YAML: {problem}") from None
        if len(docs) != 1:
            raise EnvoyConfigError(f"{source}: expected one YAML document, found {len(docs)}")
        data = docs[0]
    if not isinstance(data, dict):
        raise EnvoyConfigError(f"{source}: top level: expected a mapping (config dump, bootstrap or "
                               f"RouteConfiguration), got {type(data).__name__}")
    return normalise(data) if _has_camel_keys(text) else data


def read_file(path: str | Path) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvoyConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EnvoyConfigError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise EnvoyConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise EnvoyConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_text(text, str(path))

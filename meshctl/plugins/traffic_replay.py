"""Plugin `traffic-replay`: replay an access log through the sandbox and summarise requests per route,
per destination, and unmatched. Reads Envoy's default access log format and JSON lines."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Iterator

from meshctl.extend import MeshctlAPI

# Envoy's default format:
# [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
# ... "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
DEFAULT_FORMAT = re.compile(
    r'^\[(?P<time>[^\]]*)\] "(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]*)" (?P<code>\S+) (?P<flags>\S+) '
    r'\S+ \S+ \S+ \S+ "[^"]*" "[^"]*" "[^"]*" "(?P<authority>[^"]*)" "[^"]*"')


def parse_log(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, {method, path, authority, headers}) per line; None for a line we cannot read."""
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                yield number, None
                continue
            method = entry.get("method") or entry.get(":method") or "GET"
            path = entry.get("path") or entry.get(":path")
            authority = entry.get("authority") or entry.get(":authority") or entry.get("host")
            headers = entry.get("headers") if isinstance(entry.get("headers"), dict) else {}
            yield number, ({"method": method, "path": path, "authority": authority, "headers": headers}
                           if path and authority else None)
            continue
        m = DEFAULT_FORMAT.match(line)
        yield number, ({"method": m["method"], "path": m["path"], "authority": m["authority"], "headers": {}}
                       if m and m["authority"] not in ("", "-") else None)


def run(api: MeshctlAPI, args: Any) -> int:
    from meshctl.cli.common import UsageError
    from meshctl.routing.evaluate import Request

    try:
        handle = open(args.log, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {args.log}: {exc.strerror}") from exc
    per_route: Counter[str] = Counter()
    per_destination: Counter[str] = Counter()
    unmatched: Counter[str] = Counter()
    unreadable = total = 0
    with handle:
        for _number, entry in parse_log(iter(handle)):
            if entry is None:
                unreadable += 1
                continue
            total += 1
            headers = {str(k).lower(): str(v) for k, v in entry["headers"].items()}
            req = Request(entry["method"], entry["authority"], entry["path"], headers)
            result = api.sandbox.evaluate(req, args.gateway)
            if result.route is None:
                unmatched[f"{req.method} {req.authority}{req.path_only}"] += 1
                continue
            per_route[result.route.id] += 1
            for d in result.destinations:
                label = f"{d['kind']} {d.get('namespace') or ''}/{d['name']}".replace(" /", " ")
                per_destination[label + (f"@{d['cluster']}" if d.get("cluster") else "")] += 1
            if not result.destinations:
                per_destination[f"({result.action_type})"] += 1
    summary = {"requests": total, "unreadableLines": unreadable,
               "perRoute": dict(per_route.most_common()), "perDestination": dict(per_destination.most_common()),
               "unmatched": {"total": sum(unmatched.values()), "top": dict(unmatched.most_common(args.top))}}
    if api.output.format != "text":
        api.output.data(summary)
        return 0
    api.output.write(f"{total} requests replayed ({unreadable} unreadable lines), "
                     f"{summary['unmatched']['total']} unmatched")
    api.output.table(["REQUESTS", "ROUTE"], [[n, r] for r, n in per_route.most_common()])
    api.output.table(["REQUESTS", "DESTINATION"], [[n, d] for d, n in per_destination.most_common()])
    if unmatched:
        api.output.table(["REQUESTS", "UNMATCHED (Envoy answers 404)"], [[n, u] for u, n in unmatched.most_common(args.top)])
    return 0

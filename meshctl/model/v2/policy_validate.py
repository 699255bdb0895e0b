"""Standalone checks of the v2 route policies (the reference's §8.3-§9.4 constraints) as located findings; a
policy with an error is not applied (routing/v2_policies.py asks `policy_errors`)."""

from __future__ import annotations

from typing import Any

from ..findings import Finding, Severity, format_path
from ..schema import duration_seconds
from ..snapshot import Snapshot
from .policies import ROUTE_POLICY_KINDS, RoutePolicyV2

Path = tuple[Any, ...]


def _duration_ok(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return duration_seconds(value) >= 0.001
    except (ValueError, TypeError):
        return False


def _number(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def problems_of(policy: RoutePolicyV2) -> list[tuple[Path, str]]:
    """(field path, message) for every constraint the policy breaks."""
    out: list[tuple[Path, str]] = []
    spec = policy.spec if isinstance(policy.spec, dict) else {}
    routes = spec.get("applyToRoutes", [])
    if not isinstance(routes, list) or not all(isinstance(r, dict) for r in routes):
        out.append((("spec", "applyToRoutes"), "must be a list of route selectors"))
    config = spec.get("config")
    base: Path = ("spec", "config")
    if not isinstance(config, dict):
        return [*out, (base, "config is required (a mapping)")]
    if policy.kind == "RetryTimeoutPolicy":
        if "retries" not in config and "requestTimeout" not in config:
            out.append((base, "needs retries or requestTimeout"))
        if "requestTimeout" in config and not _duration_ok(config["requestTimeout"]):
            out.append((base + ("requestTimeout",), "must be a duration of at least 1ms, like 2s or 500ms"))
        retries = config.get("retries")
        if retries is not None:
            if not isinstance(retries, dict):
                out.append((base + ("retries",), "must be a mapping"))
            else:
                attempts = retries.get("attempts", 2)
                if not _number(attempts, 0, 2**31 - 1) or isinstance(attempts, float):
                    out.append((base + ("retries", "attempts"), "must be a non-negative integer"))
                elif attempts == 0 and any(k in retries for k in ("perTryTimeout", "retryOn", "retryRemoteLocalities")):
                    out.append((base + ("retries",), "attempts 0 disables retries: perTryTimeout, retryOn and "
                                                     "retryRemoteLocalities are not allowed"))
                if "perTryTimeout" in retries and not _duration_ok(retries["perTryTimeout"]):
                    out.append((base + ("retries", "perTryTimeout"), "must be a duration, like 2s"))
                if "retryOn" in retries and not isinstance(retries["retryOn"], str):
                    out.append((base + ("retries", "retryOn"), "must be a comma-separated string"))
                if "retryRemoteLocalities" in retries and not isinstance(retries["retryRemoteLocalities"], bool):
                    out.append((base + ("retries", "retryRemoteLocalities"), "must be true or false"))
    elif policy.kind == "FaultInjectionPolicy":
        delay, abort = config.get("delay"), config.get("abort")
        if delay is None and abort is None:
            out.append((base, "needs delay or abort"))
        if delay is not None:
            if not isinstance(delay, dict) or not _duration_ok(delay.get("fixedDelay")):
                out.append((base + ("delay", "fixedDelay"), "required: a duration of at least 1ms"))
            elif "percentage" in delay and not _number(delay["percentage"], 0, 100):
                out.append((base + ("delay", "percentage"), "must be a number 0-100"))
        if abort is not None:
            if not isinstance(abort, dict) or not _number(abort.get("httpStatus"), 200, 599) or \
                    isinstance(abort.get("httpStatus"), float):
                out.append((base + ("abort", "httpStatus"), "required: an HTTP status 200-599"))
            elif "percentage" in abort and not _number(abort["percentage"], 0, 100):
                out.append((base + ("abort", "percentage"), "must be a number 0-100"))
    elif policy.kind == "MirrorPolicy":
        dest = config.get("destination")
        if not isinstance(dest, dict) or not isinstance(dest.get("ref"), dict) or not dest["ref"].get("name"):
            out.append((base + ("destination",), "required: a destination with ref.name"))
        elif "port" in dest and not (isinstance(dest["port"], dict) and _number(dest["port"].get("number"), 1, 65535)):
            out.append((base + ("destination", "port"), "must be {number: 1-65535}"))
        if "percentage" in config and not _number(config["percentage"], 0, 100):
            out.append((base + ("percentage",), "must be a number 0-100"))
    elif policy.kind == "CORSPolicy":
        origins = config.get("allowOrigins", [])
        if not isinstance(origins, list) or not all(isinstance(o, dict) for o in origins):
            out.append((base + ("allowOrigins",), "must be a list of string matches ({exact|prefix|regex: ...})"))
        if "maxAge" in config and not _duration_ok(config["maxAge"]):
            out.append((base + ("maxAge",), "must be a duration, like 60s"))
        for key in ("allowMethods", "allowHeaders", "exposeHeaders"):
            if key in config and not (isinstance(config[key], list) and all(isinstance(v, str) for v in config[key])):
                out.append((base + (key,), "must be a list of strings"))
    elif policy.kind == "HeaderManipulationPolicy":
        for key in ("removeResponseHeaders", "removeRequestHeaders"):
            if key in config and not (isinstance(config[key], list) and all(isinstance(v, str) for v in config[key])):
                out.append((base + (key,), "must be a list of header names"))
        for key in ("appendResponseHeaders", "appendRequestHeaders"):
            if key in config and not isinstance(config[key], dict):
                out.append((base + (key,), "must be a mapping of header name to value"))
    return out


def policy_findings(snapshot: Snapshot) -> list[Finding]:
    out = []
    for kind in ROUTE_POLICY_KINDS:
        for policy in snapshot.of_kind(kind):
            if not isinstance(policy, RoutePolicyV2):
                continue
            for path, message in problems_of(policy):
                file, line, col = policy.locate(path)
                out.append(Finding(Severity.ERROR, "bad-policy", f"{message}; the policy is not applied", file=file,
                                   line=line, column=col, resource=policy.display, path=format_path(path)))
    return out

"""What Envoy does once a route is chosen: upstream path after pathRewrite, redirect location, request headers."""

from __future__ import annotations

from ..model.common import HeaderManipulation, Policy, RedirectAction
from ..routing.evaluate import Request
from ..routing.matchers import EffectiveMatcher
from .request import split_authority


def rewrite_path(path: str, matcher: EffectiveMatcher, rewrite: str) -> str:
    """Envoy's prefix_rewrite: a prefix matcher swaps the matched prefix; exact (and regex/suffix) matchers swap
    the whole path. The query string is kept either way."""
    if matcher.path_kind == "prefix":
        return rewrite + path[len(matcher.path):]
    query = path[len(path.split("?", 1)[0]):]
    return rewrite + query


def regex_rewrite_path(path: str, pattern: str, substitution: str) -> str:
    """Envoy's regex_rewrite: every match in the path (query excluded, then kept) replaced, RE2 `\\N` groups."""
    import re2

    path_only = path.split("?", 1)[0]
    query = path[len(path_only):]
    return re2.sub(pattern, substitution, path_only) + query


def redirect_location(action: RedirectAction, matcher: EffectiveMatcher, req: Request) -> str:
    """The Location Envoy sends for a redirect route (Http::Utility::newUri semantics)."""
    scheme = "https" if action.https_redirect else req.scheme
    if action.host_redirect:
        host = action.host_redirect
    else:
        # the gateway listener strips the port from Host before routing (strip_any_host_port), so the
        # router — and the Location it builds — never sees one
        host = split_authority(req.authority)[0]
    path_redirect_has_query = bool(action.path_redirect) and "?" in (action.path_redirect or "")
    if action.path_redirect:
        if path_redirect_has_query:
            path = action.path_redirect
        else:
            query = req.path[len(req.path_only):]
            path = action.path_redirect + query
    elif action.prefix_rewrite is not None:
        path = rewrite_path(req.path, matcher, action.prefix_rewrite)
    else:
        path = req.path
    if not path.startswith("/"):
        path = "/" + path
    if action.strip_query and not path_redirect_has_query:
        path = path.split("?", 1)[0]
    return f"{scheme}://{host}{path}"


def upstream_headers(req: Request, upstream_path: str, options: Policy | None,
                     extra: list[HeaderManipulation] | None = None) -> dict[str, str]:
    """Request headers as the upstream sees them: pseudo-headers after rewrite, route header manipulation."""
    headers = {":method": req.method, ":authority": req.authority, ":path": upstream_path, ":scheme": req.scheme,
               "host": req.authority, **req.headers}
    manipulations = [options.header_manipulation] if options and options.header_manipulation else []
    manipulations += extra or []
    for hm in manipulations:
        for name in hm.remove_request_headers:
            headers.pop(name.lower(), None)
        for name, value in hm.append_request_headers.items():
            low = name.lower()
            headers[low] = f"{headers[low]},{value}" if low in headers else value
    return headers


def response_headers(options: Policy | None, location: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    hm = options.header_manipulation if options else None
    if hm is not None:
        for name, value in hm.append_response_headers.items():
            headers[name.lower()] = value
    if location:
        headers["location"] = location
    return headers

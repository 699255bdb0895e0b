"""JSON over plain HTTP to meshctl's own loopback control APIs (http.client: no proxy settings apply)."""

from __future__ import annotations

import http.client
import json
from typing import Any


def call_json(host: str, port: int, method: str, path: str, payload: object | None = None,
              timeout: float = 10.0) -> tuple[int, Any]:
    """(status, decoded JSON answer). Connection problems raise OSError for the caller to word."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        body = None if payload is None else json.dumps(payload).encode()
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def error_message(answer: Any) -> Any:
    return answer.get("error") if isinstance(answer, dict) else answer

"""The request sandbox: which route a request takes and why (one-shot, router_check test files, REPL)."""

from .casefile import CaseFile, CaseFileError, TestCase, append_case, load_case_file
from .engine import GatewayChoice, Sandbox, SandboxError, SandboxResult
from .index import RouteHit, RouteIndex, scan_first_match
from .request import RequestError, parse_request
from .runner import BatchReport, case_from_result, run_cases

__all__ = [
    "BatchReport", "CaseFile", "CaseFileError", "GatewayChoice", "RequestError", "RouteHit", "RouteIndex",
    "Sandbox", "SandboxError", "SandboxResult", "TestCase", "append_case", "case_from_result", "load_case_file",
    "parse_request", "run_cases", "scan_first_match",
]

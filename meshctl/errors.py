"""Errors every layer may raise for the operator to fix, kept apart so no layer imports cli/ just for them."""

from __future__ import annotations


class UsageError(Exception):
    """Bad invocation or input the operator must fix: one line on stderr, exit status 2."""

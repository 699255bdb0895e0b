"""Tests for meshctl.demo: real app processes and the process supervisor."""

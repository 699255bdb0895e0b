"""Envoy process control: bootstrap (bootstrap.py), processes (process.py), admin API client (admin.py), ports."""

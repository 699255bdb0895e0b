"""Gloo Platform v2 kinds (`networking.gloo.solo.io/v2`, `admin.gloo.solo.io/v2`): model and validation."""

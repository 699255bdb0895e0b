"""Widgets of the meshctl console."""

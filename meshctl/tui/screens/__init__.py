"""Screens of the meshctl console (detail, editor, preview, help, confirmation)."""

"""Tests of the meshctl console (Textual pilot, snapshots, tmux)."""

"""The meshctl operator console (Textual): `meshctl tui`."""

"""The meshctl operator console (Textual): `meshctl tui`."""

import os

# Textual draws a frame at most every 1/TEXTUAL_FPS s (60 by default) and, after an idle spell, may hold a change
# back by up to two frame periods (33 ms at 60 fps): a filter keystroke's tree then waits for the frame clock
# longer than it takes to build and draw. 120 halves that wait; frames are still drawn only when something
# changed. It must be set before Textual is imported; an operator's own TEXTUAL_FPS wins.
os.environ.setdefault("TEXTUAL_FPS", "120")

"""The interactive request sandbox (prompt_toolkit): completer, commands registry, toolbar, session."""

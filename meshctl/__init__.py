"""meshctl: a terminal console for service-mesh operators."""

__version__ = "0.1.0"

"""Locality failover: targets, triggers (demo apps or EDS health), observation of Envoy, drills."""

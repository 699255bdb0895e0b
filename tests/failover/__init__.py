"""Failover tests: targets, drills, watch (pure) and trigger/watch/drill against the demo on real Envoy."""

"""The control plane as a replicated Kubernetes workload: leader election, status writing, admin endpoints."""

"""Triton Inference Server adapter (tritonclient): several nodes, health checks, least-in-flight, fail-over."""

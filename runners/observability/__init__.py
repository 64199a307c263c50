"""Metrics, traces, correlated logs and readiness for every process.

A process gets all of it from two calls in its composition: ``Observability`` on its Services (the
readiness checks and scrape hooks its adapters register) and ``observe(app, settings, services)`` on
its aiohttp app (runners/observability/setup.py).  Tracing is process-wide: ``runners.serve.main`` calls
``tracing.configure`` once.  Nothing here is imported by domain/ or ports/ (an import-linter contract).
"""

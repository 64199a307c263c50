"""``python -m runners.inference``: Triton (CPU) serving every model of adapters/inference.

Settings: APP_HOST (bind address), APP_INFERENCE_HTTP_PORT, APP_INFERENCE_GRPC_PORT,
APP_INFERENCE_METRICS_PORT, APP_INFERENCE_MAX_BATCH (1 turns dynamic batching off).
SIGTERM and SIGINT stop Triton cleanly (a bare kill would leave tritonserver children behind).
"""

from __future__ import annotations

import os
import sys
import sysconfig


def _reexec_with_libpython() -> None:
    """PyTriton's python-backend stub loads a libpython: unless LD_LIBRARY_PATH points at this
    interpreter's, it picks the system one and every model fails to load (``_recursion_count``)."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if libdir and libdir not in current.split(":"):
        env = {**os.environ, "LD_LIBRARY_PATH": ":".join(p for p in (libdir, current) if p)}
        os.execve(sys.executable, [sys.executable, "-m", "runners.inference", *sys.argv[1:]], env)


if __name__ == "__main__":
    _reexec_with_libpython()
    from runners.inference.server import main

    sys.exit(main())

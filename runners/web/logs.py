"""Logging: JSON lines (for Loki) or text, with the request id on every record made inside a request, the
trace and span ids on every record made inside a span, and the service name and instance on every line."""

from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from adapters.grpc.wire import current_request_id
from runners.observability.tracing import ids

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    def __init__(self, service: str = "confero", instance: str = "") -> None:
        super().__init__()
        self.service, self.instance = service, instance

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or current_request_id.get()  # HTTP, or a gRPC call served
        span = ids()
        record.trace_id, record.span_id = span.get("trace_id"), span.get("span_id")
        record.service, record.instance = self.service, self.instance
        return True


def configure(level: str = "INFO", fmt: str = "json", service: str = "confero", instance: str = "") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter(service, instance))
    if fmt == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(trace_id)s %(span_id)s "
            "%(service)s %(instance)s", rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(trace_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_BELOW_INFO:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))


# At DEBUG these libraries log whole SDPs (ICE ufrag/pwd, DTLS fingerprints) and STUN credentials; our own
# DEBUG output is what an operator turns DEBUG on for.
QUIET_BELOW_INFO = ("aiortc", "aioice", "av")

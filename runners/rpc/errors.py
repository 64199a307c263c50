"""Domain errors -> gRPC status, and undecodable messages: shared with the client adapters, so they live
in adapters/grpc/wire.py (one mapping for every server and client); re-exported here for the servicers."""

from __future__ import annotations

from adapters.grpc.wire import GRPC_STATUS, CheckedProtoCodec, error_trailers, to_grpc

__all__ = ["GRPC_STATUS", "CheckedProtoCodec", "error_trailers", "to_grpc"]

"""The gRPC runner (grpclib + betterproto): translation only; the use cases are in domain/analysis."""

#!/usr/bin/env bash
# Generates the betterproto 2.0.0b7 package for proto/*.proto into OUT (default: proto/, checked in).
# tests/unit/test_proto_drift.py runs this into a temporary directory and fails when the result differs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/proto}
PY=${PYTHON:-python}
mkdir -p "$OUT"
"$PY" -m grpc_tools.protoc -I "$ROOT/proto" --python_betterproto_out="$OUT" "$ROOT"/proto/*.proto

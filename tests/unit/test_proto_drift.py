"""The checked-in betterproto package is what scripts/gen_proto.sh makes from proto/*.proto today."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "proto" / "confero"


def test_regenerating_the_grpc_code_changes_nothing(tmp_path):
    env = os.environ | {"PYTHON": sys.executable, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run([str(ROOT / "scripts" / "gen_proto.sh"), str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    fresh = {p.relative_to(tmp_path / "confero"): p.read_text() for p in (tmp_path / "confero").rglob("*.py")}
    kept = {p.relative_to(GENERATED): p.read_text() for p in GENERATED.rglob("*.py")}
    assert sorted(fresh) == sorted(kept), "generated files were added or removed: run scripts/gen_proto.sh"
    drifted = [str(name) for name in fresh if fresh[name] != kept[name]]
    assert not drifted, f"proto/ changed without regenerating: run scripts/gen_proto.sh ({drifted})"

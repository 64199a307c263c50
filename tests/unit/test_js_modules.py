"""The web client's logic modules (runners/web/static/*.js), unit-tested by node's own test runner.

The tests are tests/js/*.test.mjs; this runs them all in one node process so ``make test`` does.
Node is a test dependency (``make test`` installs Debian's nodejs): a machine without it fails here.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.netns import ROOT

JS_TESTS = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))


def test_the_web_clients_javascript_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: apt-get install -y nodejs (make test does it)")
    assert JS_TESTS, "no tests/js/*.test.mjs found"
    proc = subprocess.run([node, "--test", "--test-reporter=spec", *map(str, JS_TESTS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"node --test failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
    assert "# fail 0" in proc.stdout or "ℹ fail 0" in proc.stdout, proc.stdout[-4000:]

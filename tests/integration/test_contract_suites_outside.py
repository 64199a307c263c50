"""The contract suites used as an integrator would: from a folder outside this repository, one pytest
command, against an adapter that is not Confero's (examples/contract_suite/).

The package is not installed from this tree (the shared environment's editable install points
elsewhere), so the processes find it through PYTHONPATH; the entry point is checked from a
distribution record made from pyproject.toml, as pip would write it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from confero_contracts import SessionStoreContract
from tests.support.process import ROOT

EXAMPLE = ROOT / "examples" / "contract_suite"
# Every test of the suite the example runs (it has no parametrized tests): all of them must pass.
ALL_PASSED = f"\n{sum(name.startswith('test_') for name in dir(SessionStoreContract))} passed in "


def pytest_in(folder: Path, *args: str, pythonpath: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*(pythonpath or []), ROOT])
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=120)


def an_integrators_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "integrator"
    shutil.copytree(EXAMPLE, folder)
    assert not (folder / "pyproject.toml").exists()  # no pytest configuration: pytest-asyncio's strict mode
    return folder


def test_the_example_adapter_passes_the_suite_with_one_command_from_outside_the_repository(tmp_path):
    result = pytest_in(an_integrators_folder(tmp_path), "-p", "confero_contracts.plugin")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ALL_PASSED in result.stdout


def test_the_suite_finds_what_is_wrong_with_a_broken_adapter(tmp_path):
    folder = an_integrators_folder(tmp_path)
    adapter = folder / "my_sessions.py"
    # The classic bug: rotation without the compare-and-set, so a stolen refresh token rotates too.
    adapter.write_text(adapter.read_text().replace(
        "if session is None or session.refresh_token_id != expected_refresh_id:", "if session is None:"))
    result = pytest_in(folder, "-p", "confero_contracts.plugin")
    assert result.returncode == 1
    failed = sorted(line.split("::")[-1].split(" ")[0] for line in result.stdout.splitlines()
                    if line.startswith("FAILED"))
    assert failed == ["test_exactly_one_of_many_concurrent_rotations_wins",
                      "test_exactly_one_of_two_concurrent_rotations_wins",
                      "test_rotate_with_a_stale_refresh_id_fails_and_changes_nothing",
                      "test_the_previous_refresh_id_cannot_rotate_again"], result.stdout


def test_a_subclass_without_the_adapter_fixture_is_told_which_fixture_is_missing(tmp_path):
    folder = an_integrators_folder(tmp_path)
    (folder / "test_my_sessions.py").write_text(
        "from confero_contracts import SessionStoreContract\n\n"
        "class TestForgotTheFixture(SessionStoreContract):\n    pass\n")
    result = pytest_in(folder, "-p", "confero_contracts.plugin")
    assert result.returncode != 0
    assert ("TestForgotTheFixture subclasses SessionStoreContract but does not define the fixture 'store'"
            in result.stdout + result.stderr)


def test_installed_confero_loads_the_plugin_by_its_entry_point_with_no_option(tmp_path):
    """What pip writes for the ``pytest11`` entry point of pyproject.toml, and nothing else."""
    site = tmp_path / "site"
    record = site / "confero_contracts_entry_point-0.dist-info"
    record.mkdir(parents=True)
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: confero-contracts-entry-point\nVersion: 0\n")
    points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    (record / "entry_points.txt").write_text(
        "[pytest11]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()))
    result = pytest_in(an_integrators_folder(tmp_path), pythonpath=[site])
    assert result.returncode == 0, result.stdout + result.stderr
    assert ALL_PASSED in result.stdout
    both = pytest_in(an_integrators_folder(tmp_path / "again"), "-p", "confero_contracts.plugin", pythonpath=[site])
    assert both.returncode == 0 and ALL_PASSED in both.stdout, both.stdout + both.stderr

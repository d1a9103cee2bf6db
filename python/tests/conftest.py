"""Shared fixtures: the CLI binary (built by cargo in the repository) for equality tests."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> Path:
    """Path of the ``datadao`` binary; built in release mode if it is not there yet."""
    exe = os.environ.get("TEST_DATADAO_CLI")
    if exe:
        return Path(exe)
    path = ROOT / "target" / "release" / "datadao"
    if not path.exists():
        if shutil.which("cargo") is None:
            pytest.skip("cargo is not available to build the CLI")
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return path


def run_cli(cli: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI in ``cwd`` with a clean environment, failing loudly on error."""
    env = {"PATH": os.environ.get("PATH", "")}
    done = subprocess.run([str(cli), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done

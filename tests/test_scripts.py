"""The developer scripts stay runnable (their full runs are benchmarks, not tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_help(script: object) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()


@pytest.mark.slow
def test_agreement_benchmark_runs_small() -> None:
    script = str(ROOT / "scripts" / "bench_agreement.py")
    command = [sys.executable, script, "--sizes", "50,100", "--bootstrap", "20"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "per-document cost ratio" in done.stdout

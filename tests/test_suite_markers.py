"""The markers `./scripts/test --fast` selects on follow the fixtures a test uses
(docs/development.md: "a new test that starts a server is never in `--fast`")."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT


def _fast_expression() -> str:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    found = re.search(r'-m "([^"]+)"', script)
    assert found, "scripts/test --fast selects by a marker expression"
    return found.group(1)


def _collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow
def test_fast_selects_no_test_that_starts_a_server() -> None:
    assert _fast_expression() == "not studio and not ray and not slow"
    fast = _collected("-m", _fast_expression())
    assert len(fast) > 400
    # modules whose every test needs a Label Studio server (or the browser), and the Ray
    # engine's comparison on the session cluster
    for module in ("test_rounds.py", "test_browser.py", "test_faults.py"):
        assert not [t for t in fast if t.startswith(f"tests/{module}::")], module
    assert not [t for t in fast if "test_both_engines_write_identical_tables" in t]
    assert not [t for t in fast if "test_the_server_keeps_its_data_in_postgres" in t]
    # a server fixture reached only through `studio` (a parametrized, indirect fixture) counts
    assert not [t for t in fast if "test_kill_during_the_export_download" in t]
    # and nothing else is left out: every test of a module without servers is in --fast
    assert [t for t in fast if t.startswith("tests/test_ids.py::")]

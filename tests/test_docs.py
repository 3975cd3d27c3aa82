"""The README is the contract with a new user: keep it true."""

from __future__ import annotations

import re

from conftest import ROOT
from test_cli import all_commands


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_first_two_commands_are_quickstart_and_tests() -> None:
    block = re.search(r"```bash\n(.*?)```", readme(), re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands[:2] == ["./scripts/quickstart", "./scripts/test"]
    for script in ("quickstart", "test", "setup", "check"):
        assert (ROOT / "scripts" / script).stat().st_mode & 0o111


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test" in [line.strip() for line in ci.splitlines()]


def test_every_command_is_in_the_readme() -> None:
    text = readme()
    for path in all_commands():
        if path:
            assert f"corpus {' '.join(path)}" in text, path


def test_setup_installs_from_the_lock_and_check_requires_it_current() -> None:
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "uv sync --quiet --locked" in setup
    assert "uv lock --check" in (ROOT / "scripts" / "check").read_text(encoding="utf-8")
    assert (ROOT / "scripts" / "lock").stat().st_mode & 0o111
    assert (ROOT / "uv.lock").is_file()
    assert "./scripts/lock" in readme()

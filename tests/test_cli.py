"""The CLI: help of every command, exit codes, JSON output, errors with hints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import SEEDS, write_article
from typer.testing import CliRunner

from corpus.cli import app

runner = CliRunner()


def all_commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        # typer bundles its own click: look for sub-commands, not for click.Group
        found.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    assert len(found) > 10, found  # the walk really found the sub-commands
    return found


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "corpus")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


# the commands that work on a release folder or the schema, not on a store
NO_STORE = {("release", "verify"), ("release", "rehydrate"), ("publish",), ("schema", "check"),
            ("schema", "generate")}  # fmt: skip


def test_every_command_takes_json_and_every_store_command_takes_store() -> None:
    """README and docs/getting-started.md: "Every command takes `--json`; every command that
    reads or writes a store takes `--store DIR` ... all but `release verify`, `release
    rehydrate`, `publish` and `schema`"."""
    root = typer.main.get_command(app)
    leaves = []
    for path in all_commands():
        command: Any = root
        for name in path:
            command = command.commands[name]
        if not getattr(command, "commands", None):
            leaves.append(tuple(path))
            options = {opt for param in command.params for opt in param.opts}
            assert "--json" in options, path
            assert ("--store" in options) is (tuple(path) not in NO_STORE), path
    assert set(leaves) >= NO_STORE


def test_ingest_json_versions_show_diff(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    result = runner.invoke(app, ["ingest", str(SEEDS), "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["version"] == "0.1.0" and summary["documents_added"] == 1
    extra = write_article(tmp_path / "more", "x.txt", "Extra", "Trade news.")
    result = runner.invoke(
        app, ["ingest", str(extra), "--store", store, "--json", "--message", "m"]
    )
    assert json.loads(result.stdout)["parent"] == "0.1.0"
    listed = json.loads(runner.invoke(app, ["versions", "--store", store, "--json"]).stdout)
    assert listed["ok"] is True
    versions = listed["versions"]
    assert [v["version"] for v in versions] == ["0.1.0", "0.2.0"]
    assert versions[1]["rows"]["documents"] == 2 and versions[1]["message"] == "m"
    showed = json.loads(runner.invoke(app, ["show", "0.2.0", "--store", store, "--json"]).stdout)
    shown = showed["manifest"]
    assert showed["ok"] is True
    assert shown["parent"] == "0.1.0" and shown["tables"]["sentences"]["rows"] > 0
    diff = json.loads(
        runner.invoke(app, ["diff", "0.1.0", "0.2.0", "--store", store, "--json"]).stdout
    )
    assert len(diff["added"]) == 1
    again = runner.invoke(app, ["ingest", str(SEEDS), "--store", store])
    assert again.exit_code == 0 and "Nothing new" in again.stdout


def test_store_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORPUS_STORE", str(tmp_path / "envstore"))
    assert runner.invoke(app, ["ingest", str(SEEDS)]).exit_code == 0
    assert (tmp_path / "envstore" / "versions" / "0.1.0" / "manifest.json").is_file()


def test_bad_input_exits_1_with_reasons_and_hint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Title\n\n\xff\xfe broken")
    result = runner.invoke(app, ["ingest", str(bad), "--store", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "IngestError" in result.stderr and str(bad) in result.stderr
    assert "byte offset 7" in result.stderr and "--encoding" in result.stderr
    assert not (tmp_path / "s" / "versions").exists()


def test_unknown_version_and_bad_field_mapping(tmp_path: Path) -> None:
    result = runner.invoke(app, ["show", "9.9.9", "--store", str(tmp_path)])
    assert result.exit_code == 1 and "VersionNotFoundError" in result.stderr
    assert "corpus versions" in result.stderr
    result = runner.invoke(
        app, ["ingest", str(SEEDS), "--field", "nonsense", "--store", str(tmp_path)]
    )
    assert result.exit_code == 1 and "FIELD=COLUMN" in result.stderr


def test_schema_check_passes_on_the_repository() -> None:
    result = runner.invoke(app, ["schema", "check"])
    assert result.exit_code == 0, result.output

"""Issue 18, CLI and API: cases a hostile run found ending in a traceback or a wrong word,
each now a clear error or the right result (docs/reference/output.md "Output, errors")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS
from typer.testing import CliRunner

import corpus
from corpus.cli import app
from corpus.errors import StudioAuthError, VersionNotFoundError
from corpus.labelstudio import Connection, connect
from corpus.store import Store


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CORPUS_", "LABEL_"))}


def test_json_into_a_pipe_that_closes_early_ends_quietly(tmp_path: Path) -> None:
    """issue 18 (CLI): `--json` piped into `head` ended in a BrokenPipe traceback. A closed
    pipe ends the command quietly (exit 1, nothing on stderr), as command line tools do
    (docs/reference/output.md "Output, errors")."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(600):  # a report far larger than a pipe's buffer (64 KiB)
        (folder / f"empty-{i:03d}.txt").write_text("\n")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpus", "ingest", str(folder), "--store", str(tmp_path / "s"),
         "--json"],
        stdout=write, stderr=subprocess.PIPE, env=_environ(),
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read, "rb") as head:
        assert head.read(1) == b"{"  # `head -c 1`: read a little, then close the pipe
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert err.decode() == ""


def test_demo_with_a_missing_seed_folder_is_a_clear_error(tmp_path: Path) -> None:
    """issue 18 (CLI): `demo --seeds <missing folder>` ended in a traceback; it is an
    IngestError naming the folder, before Label Studio starts."""
    done = CliRunner().invoke(
        app, ["demo", "--seeds", str(tmp_path / "nope"), "--store", str(tmp_path / "s"), "--json"]
    )
    assert done.exit_code == 1, done.output
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "IngestError" and "does not exist" in error["message"]
    assert "--seeds" in error["hint"]
    assert not (tmp_path / "s" / "studio").exists()  # no Label Studio was started
    from corpus.demo import check_seeds

    (tmp_path / "empty").mkdir()
    with pytest.raises(corpus.IngestError, match=r"holds no \.txt article"):
        check_seeds(tmp_path / "empty")
    assert check_seeds(str(SEEDS)) == SEEDS


def test_load_schema_and_list_rounds_take_a_str(tmp_path: Path) -> None:
    """issue 18 (API): `load_schema` and `list_rounds` refused a str path (and `list_rounds`
    a `corpus.Store`); they take str, Path or Store like the other public functions."""
    from corpus.label_schema import default_schema_path

    path = default_schema_path()
    assert corpus.load_schema(str(path)) == corpus.load_schema(path)
    store = Store(tmp_path / "s")
    corpus.ingest([SEEDS], store=store)
    assert corpus.list_rounds(str(store.root)) == corpus.list_rounds(store) == []


def test_check_of_a_missing_version_says_not_found(tmp_path: Path) -> None:
    """issue 18 (CLI): `check 9.9.9` called a missing version "damaged"; it is
    VersionNotFoundError."""
    store = Store(tmp_path / "s")
    corpus.ingest([SEEDS], store=store)
    with pytest.raises(VersionNotFoundError, match=r"no version 9\.9\.9"):
        corpus.check_store(store, ["9.9.9"])
    done = CliRunner().invoke(app, ["check", "9.9.9", "--store", str(store.root), "--json"])
    assert done.exit_code == 1
    assert json.loads(done.stdout)["error"]["type"] == "VersionNotFoundError"
    assert corpus.check_store(store, ["0.1.0"]).ok


def test_credentials_in_the_label_studio_url_get_a_correct_hint(tmp_path: Path) -> None:
    """issue 18 (CLI): credentials in LABEL_STUDIO_URL were masked, but httpx then sent them
    as Basic auth instead of the API key and the 401 hinted at a wrong key. They are refused
    before any request, saying they are not used and to remove them."""
    key = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(StudioAuthError) as info:  # port 9: nothing is sent anywhere
        connect(Connection("http://user:secret@127.0.0.1:9", key))
    assert "user name and password" in info.value.message
    assert "secret" not in info.value.message and "Remove 'user:password@'" in info.value.hint
    env = {"LABEL_STUDIO_URL": "http://user:secret@127.0.0.1:9", "LABEL_STUDIO_API_KEY": key}
    done = CliRunner().invoke(  # the demo connects first thing
        app, ["demo", "--seeds", str(SEEDS), "--store", str(tmp_path / "s"), "--json"], env=env
    )
    assert done.exit_code == 1, done.output
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "StudioAuthError" and "secret" not in done.stdout

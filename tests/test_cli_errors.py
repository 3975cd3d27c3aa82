"""Errors a script can read: one JSON object per failure, usage errors for bad option values,
no traceback for anything a user caused, user text never interpreted by the terminal."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import lock_held_elsewhere
from typer.testing import CliRunner

from corpus.cli import app

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
runner = CliRunner()


def invoke(args: list[str], **env: str) -> Any:
    """Run the CLI in-process (the root group turns errors into exit codes)."""
    return runner.invoke(app, args, env=env or None, catch_exceptions=False)


def failure(args: list[str], *, code: int = 1, **env: str) -> dict[str, Any]:
    """The one JSON error object a failing ``--json`` command prints, checked for shape."""
    result = invoke([*args, "--json"], **env)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    payload = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert set(payload) == {"ok", "error"} and payload["ok"] is False
    error = payload["error"]
    assert {"type", "message", "hint"} <= set(error), error
    assert error["message"] and error["hint"], error
    assert "Traceback" not in result.stdout + result.stderr
    return dict(error)


def usage(args: list[str], option: str, **env: str) -> dict[str, Any]:
    error = failure(args, code=2, **env)
    assert error["type"] == "UsageError"
    assert error["option"] == option
    assert "--help" in error["hint"]
    return error


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("seeded") / "store"
    assert invoke(["ingest", str(SEEDS), "--store", str(store)]).exit_code == 0
    return store


# --- one test per bad option value --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        (["--overlap", "0"], "--overlap", "at least 1, not 0"),
        (["--overlap", "-2"], "--overlap", "at least 1, not -2"),
        (["--anchor", "-1"], "--anchor", "greater than or equal to 0"),
        (["--batch-size", "0"], "--batch-size", "at least 1, not 0"),
        (["--sample", "-3"], "--sample", "at least 1, not -3"),
        (["--sample", "0"], "--sample", "at least 1, not 0"),
        (["--sample", "2", "--anchor", "5"], "--anchor", "cannot exceed the 2 sampled"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_round_start_refuses_nonsense(
    seeded: Path, args: list[str], option: str, words: str
) -> None:
    port = closed_port()  # nothing may be contacted: the option is refused first
    error = usage(
        ["round", "start", "r1", "--version", "0.1.0", "--store", str(seeded), *args],
        option,
        LABEL_STUDIO_URL=f"http://127.0.0.1:{port}/",
        LABEL_STUDIO_API_KEY="x",
    )
    assert words in error["message"]
    assert not (seeded / "rounds" / "r1").exists()  # nothing created


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        (["--workers", "0"], "--workers", "at least 1, not 0"),
        (["--max-bytes", "-5"], "--max-bytes", "at least 1, not -5"),
    ],
)
def test_ingest_refuses_nonsense(tmp_path: Path, args: list[str], option: str, words: str) -> None:
    store = tmp_path / "store"
    error = usage(["ingest", str(SEEDS), "--store", str(store), *args], option)
    assert words in error["message"]
    assert not store.exists()


@pytest.mark.parametrize(
    ("ratios", "force"),
    [("nan/1/1", None), ("1e309/1/1", None), ("100/0/0", "x"), ("80/-10/30", None), ("a/b", None)],
)
def test_release_build_refuses_bad_ratios(
    seeded: Path, tmp_path: Path, ratios: str, force: str | None
) -> None:
    out = tmp_path / "release"
    args = ["release", "build", "0.1.0", "--release", "1.0.0", "--store", str(seeded)]
    args += ["--out", str(out), "--ratios", ratios] + (["--force", force] if force else [])
    error = usage(args, "--ratios")
    assert ratios in error["message"] or "three numbers" in error["message"]
    assert not out.exists()


def test_agreement_refuses_a_negative_bootstrap(seeded: Path) -> None:
    # 0 is allowed: the figures without intervals (tests/test_agreement.py)
    error = usage(["agreement", "r1", "--store", str(seeded), "--bootstrap", "-1"], "--bootstrap")
    assert "greater than or equal to 0" in error["message"]


def test_publish_refuses_an_empty_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    error = usage(["publish", str(tmp_path / "release"), "--to", ""], "--to")
    assert "must not be empty" in error["message"]
    assert list(tmp_path.iterdir()) == []  # nothing published into the current directory


def test_demo_refuses_zero_documents(tmp_path: Path) -> None:
    error = usage(["demo", "--docs", "0", "--store", str(tmp_path / "s")], "--docs")
    assert "at least 1" in error["message"]


def test_studio_up_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    usage(["studio", "up", "--port", "70000", "--store", str(tmp_path / "s")], "--port")


# --- conditions users cause: errors, not tracebacks ----------------------------------------


def test_agreement_out_that_is_a_file(seeded: Path, tmp_path: Path) -> None:
    """The round is looked up first; a report folder that is a file is named with a hint."""
    from corpus.iaa import write_report
    from corpus.iaa.stats import AgreementReport, Metric

    none = Metric(None, note="none")
    report = AgreementReport("r", "0.1.0", 0, 0, [], none, none, [], [], none, [], [], [])
    blocker = tmp_path / "report"
    blocker.write_text("not a folder")
    from corpus.errors import FileSystemError

    with pytest.raises(FileSystemError) as info:
        write_report(report, blocker)
    assert info.value.path == str(blocker) and info.value.hint


def test_corrupt_manifest_is_a_clear_error(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert invoke(["ingest", str(SEEDS), "--store", str(store)]).exit_code == 0
    manifest = store / "versions" / "0.1.0" / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text('{"version": "0.1.0", "tables": ')
    error = failure(["show", "0.1.0", "--store", str(store)])
    assert error["type"] == "DamagedVersionError"
    assert "damaged" in error["message"] and str(manifest) in error["message"]
    assert error["path"] == str(manifest)


def test_corrupt_round_state_is_a_clear_error(seeded: Path) -> None:
    state = seeded / "rounds" / "broken" / "round.json"
    state.parent.mkdir(parents=True)
    state.write_text("{}")
    try:
        error = failure(["round", "list", "--store", str(seeded)])
    finally:
        state.unlink()
        state.parent.rmdir()
    assert error["type"] == "RoundError" and "damaged" in error["message"]


def test_a_non_utf8_file_name_is_ingested(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    name = os.fsdecode(os.fsencode(tmp_path / "in") + b"/caf\xe9.txt")  # not valid UTF-8
    Path(name).write_text("A title\n\nA body about trade and investment.\n", encoding="utf-8")
    store = tmp_path / "store"
    result = invoke(["ingest", str(tmp_path / "in"), "--store", str(store), "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["documents_added"] == 1
    shown = json.loads(
        invoke(["show", "0.1.0", "--store", str(store), "--inputs", "--json"]).stdout
    )
    assert shown["inputs"][0]["path"].endswith("caf\\xe9.txt")


@pytest.fixture
def small_mount(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs of 512 KiB (full disks and read-only file systems are tested for real)."""
    folder = tmp_path / "mnt"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _big_articles(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        body = " ".join(f"Trade talks {i} went on about export controls {k}." for k in range(400))
        (folder / f"a{i:03d}.txt").write_text(f"Article {i}\n\n{body}\n", encoding="utf-8")
    return folder


def test_a_full_disk_is_a_clear_error_and_nothing_is_half_written(
    small_mount: Path, tmp_path: Path
) -> None:
    store = small_mount / "store"
    assert invoke(["ingest", str(SEEDS), "--store", str(store)]).exit_code == 0
    error = failure(["ingest", str(_big_articles(tmp_path / "big", 40)), "--store", str(store)])
    assert error["type"] == "FileSystemError"
    assert error["errno"] == 28  # ENOSPC
    assert "disk is full" in error["hint"]
    assert sorted(p.name for p in (store / "versions").iterdir()) == ["0.1.0"]
    assert not any((store / ".tmp").iterdir()) if (store / ".tmp").exists() else True
    versions = json.loads(invoke(["versions", "--store", str(store), "--json"]).stdout)
    assert [v["version"] for v in versions["versions"]] == ["0.1.0"]


def test_a_read_only_store_is_a_clear_error(small_mount: Path, tmp_path: Path) -> None:
    store = small_mount / "store"
    assert invoke(["ingest", str(SEEDS), "--store", str(store)]).exit_code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "x.txt").write_text("Extra\n\nMore trade news.\n", encoding="utf-8")
    error = failure(["ingest", str(extra), "--store", str(store)])
    assert error["type"] == "FileSystemError"
    assert error["errno"] == 30  # EROFS
    assert "read-only" in error["hint"]
    assert json.loads(invoke(["versions", "--store", str(store), "--json"]).stdout)["ok"]


# --- user text and secrets ---------------------------------------------------------------


def test_messages_are_never_markup_or_terminal_escapes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    message = "[/] x [bold]y[/bold] \x1b[31mred\x1b[0m \x07"
    done = invoke(["ingest", str(SEEDS), "--store", str(store), "--message", message])
    assert done.exit_code == 0
    shown = invoke(["versions", "--store", str(store)], COLUMNS="220")  # one line per row
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    assert "[/] x [bold]y[/bold]" in shown.stdout.replace("\n", " ").replace("│", " ") or (
        "[/] x" in shown.stdout and "[bold]y[/bold]" in shown.stdout.replace(" ", "")
    )
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b[31mred" in shown.stdout.replace("│", "").replace("\n", "").replace(" ", "")
    stored = json.loads(invoke(["versions", "--store", str(store), "--json"]).stdout)
    assert stored["versions"][0]["message"] == message  # kept exactly in the data


@pytest.mark.parametrize(
    "url",
    [
        "http://bob:s3cret-pass@127.0.0.1:{port}/",
        "http://127.0.0.1:{port}/?token=s3cret-pass&x=1",
        "http://127.0.0.1:{port}/?api_key=s3cret-pass",
    ],
)
def test_credentials_in_the_server_url_are_redacted(seeded: Path, url: str) -> None:
    env = {"LABEL_STUDIO_URL": url.format(port=closed_port()), "LABEL_STUDIO_API_KEY": "k"}
    result = invoke(["round", "status", "r1", "--store", str(seeded), "--json"], **env)
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]  # credentials in the URL: refused first
    assert error["type"] == ("StudioAuthError" if "@" in url else "StudioNotRunningError")
    assert "127.0.0.1" in error["message"]
    assert "s3cret" not in result.stdout + result.stderr
    plain = invoke(["round", "status", "r1", "--store", str(seeded)], **env)
    assert "s3cret" not in plain.stdout + plain.stderr and "***" in plain.stderr


def test_a_bug_keeps_its_traceback(tmp_path: Path) -> None:
    """Only CorpusError is caught: a genuine bug still shows where it happened."""
    code = (
        "import corpus.cli.ingest as m\n"
        "def boom(*a, **k): raise ZeroDivisionError('bug')\n"
        "import corpus.ingestion\n"
        "corpus.ingestion.ingest = boom\n"
        "from corpus.cli import main\n"
        f"import sys; sys.argv = ['corpus', 'ingest', {str(SEEDS)!r}, '--store', "
        f"{str(tmp_path / 's')!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ZeroDivisionError: bug" in done.stderr
    assert "CORPUS_DEBUG=1" in done.stderr


# --- every command: one parseable JSON object on failure -----------------------------------


def leaf_commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", {})
        if not subs:
            found.append(path)
        for name, sub in subs.items():
            walk(sub, (*path, name))

    walk(root, ())
    return sorted(found)


def failing_invocations(store: Path, damaged: Path, tmp: Path) -> dict[tuple[str, ...], list[str]]:
    """For every command, arguments that make it fail."""
    s = ["--store", str(store)]
    return {
        ("ingest",): ["ingest", str(tmp / "missing"), *s],
        ("versions",): ["versions", "--store", str(tmp / "a-file")],
        ("check",): ["check", "--store", str(damaged)],
        ("show",): ["show", "9.9.9", *s],
        ("diff",): ["diff", "0.1.0", "9.9.9", *s],
        ("studio", "up"): ["studio", "up", "--store", str(damaged)],
        ("studio", "down"): ["studio", "down", "--store", str(damaged)],
        ("studio", "status"): ["studio", "status", "--store", str(damaged)],
        ("round", "start"): ["round", "start", "r9", "--version", "0.1.0", *s],
        ("round", "push"): ["round", "push", "r9", *s],
        ("round", "status"): ["round", "status", "r9", *s],
        ("round", "pull"): ["round", "pull", "r9", *s],
        ("round", "list"): ["round", "list", "--store", str(damaged)],
        ("agreement",): ["agreement", "r9", *s],
        ("adjudicate",): ["adjudicate", "r9", *s],
        ("release", "build"): ["release", "build", "9.9.9", "--release", "1.0.0", *s],
        ("release", "verify"): ["release", "verify", str(tmp / "no-release")],
        ("release", "rehydrate"): [
            "release",
            "rehydrate",
            str(tmp / "no-release"),
            "--from",
            str(tmp / "missing"),
            "--out",
            str(tmp / "out"),
        ],
        ("publish",): ["publish", str(tmp / "no-release"), "--to", str(tmp / "copy")],
        ("demo",): ["demo", *s, "--seeds", str(SEEDS)],
        ("schema", "check"): ["schema", "check", "--schema", str(tmp / "missing.yaml")],
        ("schema", "generate"): ["schema", "generate", "--out", str(tmp / "a-file")],
        ("schema", "migrate"): ["schema", "migrate", str(tmp / "missing.yaml"), *s],
        ("round", "show"): ["round", "show", "r9", *s],
        ("model", "train"): ["model", "train", "9.9.9", *s],
        ("model", "evaluate"): ["model", "evaluate", "missing", "9.9.9", *s],
        ("model", "list"): ["model", "list", "--store", str(tmp / "a-file")],
        ("model", "curve"): ["model", "curve", "9.9.9", "--sizes", "10,20", *s],
    }


def test_every_command_fails_with_one_json_object(seeded: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    (damaged / "studio").mkdir(parents=True)
    (damaged / "studio" / "credentials.json").write_text("not json")
    (damaged / "versions" / "0.1.0").mkdir(parents=True)
    (damaged / "versions" / "0.1.0" / "manifest.json").write_text("[]")
    (damaged / "rounds" / "x").mkdir(parents=True)
    (damaged / "rounds" / "x" / "round.json").write_text("{")
    (tmp_path / "a-file").write_text("in the way")
    env = {"LABEL_STUDIO_URL": f"http://127.0.0.1:{closed_port()}/", "LABEL_STUDIO_API_KEY": "k"}
    cases = failing_invocations(seeded, damaged, tmp_path)
    assert set(cases) == set(leaf_commands()), "give every new command a failing case here"
    kinds = {}
    for command, args in cases.items():
        result = invoke([*args, "--json"], **env)
        assert result.exit_code in (1, 2), (command, result.exit_code, result.stdout)
        payload = json.loads(result.stdout)
        assert payload["ok"] is False, command
        assert payload["error"]["type"] != "InternalError", (command, payload)
        assert payload["error"]["message"] and payload["error"]["hint"], (command, payload)
        kinds[command] = payload["error"]["type"]
    assert kinds[("round", "status")] == "StudioNotRunningError"
    assert kinds[("show",)] == "VersionNotFoundError"
    assert kinds[("schema", "generate")] == "FileSystemError"
    assert kinds[("model", "train")] == kinds[("model", "curve")] == "ReleaseError"
    assert kinds[("model", "evaluate")] == "ModelError"


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        (["--text", "some"], "--text", "must be full or none, not 'some'"),
        (["--keep-titles"], "--keep-titles", "only means something with --text none"),
    ],
)
def test_release_build_refuses_bad_text_options(
    seeded: Path, tmp_path: Path, args: list[str], option: str, words: str
) -> None:
    out = tmp_path / "release"
    base = ["release", "build", "0.1.0", "--release", "1.0.0", "--store", str(seeded)]
    error = usage([*base, "--out", str(out), *args], option)
    assert words in error["message"]
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_release_verify_refuses_bad_croissant_records(tmp_path: Path, value: str) -> None:
    error = usage(["release", "verify", str(tmp_path), "--croissant-records", value],
                  "--croissant-records")  # fmt: skip
    assert "must be all or a count of at least 1" in error["message"]


def test_agreement_refuses_an_unknown_interval(seeded: Path) -> None:
    error = usage(["agreement", "r1", "--store", str(seeded), "--interval", "t"], "--interval")
    assert "must be bca or percentile" in error["message"]


def test_a_locked_store_is_named_as_such_in_json(tmp_path: Path) -> None:
    """The user's case: `ingest --json` said {"error": "bad input"} for a locked store."""
    store = tmp_path / "store"
    with lock_held_elsewhere(store):
        error = failure(["ingest", str(SEEDS), "--store", str(store)])
    assert error["type"] == "StoreLockedError"
    assert str(store) in error["message"] and "locked" in error["message"]
    assert not (store / "versions").exists()

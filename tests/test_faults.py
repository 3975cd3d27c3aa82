"""Faults on a real Label Studio: lost responses, kill -9 in the middle of a push and a pull.

Kill tests use their own server (not the session one) and restart it on the same data.
A lost response is produced by a small relay between the client and the real server that
forwards the import and then answers 502, as a proxy does when the upstream times out.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write_article
from typer.testing import CliRunner

from corpus.cli import app
from corpus.errors import LabelStudioError
from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import (
    Connection,
    StudioClient,
    StudioInfo,
    connect,
    studio_down,
    studio_up,
)
from corpus.preannotate import KeywordPreAnnotator
from corpus.progress import Progress
from corpus.rounds import pull_round, push_round, start_round
from corpus.rounds.state import load_round
from corpus.store import Store

pytestmark = pytest.mark.studio


@pytest.fixture
def many_docs(tmp_path: Path, store: Store, schema: AnnotationSchema) -> str:
    for i in range(40):
        write_article(
            tmp_path / "many",
            f"{i:02d}.txt",
            f"Story {i}",
            f"Trade item {i}: tariffs.",
            f"Number {i}.",
        )
    ingest([tmp_path / "many"], store=store, schema=schema)
    return "0.1.0"


class _Relay(BaseHTTPRequestHandler):
    upstream = ""
    lose_imports = 0

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
        }
        r = httpx.request(
            self.command, self.upstream + self.path, content=body, headers=headers, timeout=120
        )
        if (
            self.command == "POST"
            and self.path.split("?")[0].endswith("/import")
            and type(self).lose_imports
        ):
            type(self).lose_imports -= 1
            self.send_response(502)
            self.end_headers()
            return
        self.send_response(r.status_code)
        for k, v in r.headers.items():
            if k.lower() not in (
                "content-length",
                "transfer-encoding",
                "content-encoding",
                "connection",
            ):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(r.content)))
        self.end_headers()
        self.wfile.write(r.content)

    do_GET = do_POST = do_PATCH = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def relay(studio: StudioInfo) -> Iterator[type[_Relay]]:
    handler = type("Relay", (_Relay,), {"upstream": studio.url.rstrip("/"), "lose_imports": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def test_lost_import_response_is_not_imported_twice(
    relay: Any,
    studio: StudioInfo,
    studio_client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    many_docs: str,
) -> None:
    relay.lose_imports = 2  # the server applies two imports whose answers are lost (502)
    client = connect(Connection(url=relay.url, api_key=studio.api_key))
    result = start_round(
        client,
        store,
        "lost",
        version=many_docs,
        schema=schema,
        preannotator=KeywordPreAnnotator(schema),
        batch_size=10,
    )
    assert relay.lose_imports == 0
    state = load_round(store.root, "lost")
    tasks = studio_client.task_keys(state.project_id)
    assert sorted(tasks) == sorted(state.doc_ids) and all(len(t) == 1 for t in tasks.values())
    assert result.imported == 20  # two batches of ten were found already there after the 502s


@pytest.fixture(scope="module")
def victim(studio_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A second server of our own to kill; its home (data survives restarts)."""
    home = tmp_path_factory.mktemp("victim")
    studio_up(home, venv_dir=studio_venv, timeout=300)
    yield home
    studio_down(home)


def _kill_soon(pid: int, delay: float) -> None:
    threading.Timer(delay, lambda: os.kill(pid, signal.SIGKILL)).start()


def test_kill_9_during_push_then_push_completes(
    victim: Path, studio_venv: Path, store: Store, schema: AnnotationSchema, many_docs: str
) -> None:
    info = studio_up(victim, venv_dir=studio_venv)
    client = connect(info.connection())
    pre = KeywordPreAnnotator(schema)
    pid = info.pid

    def kill_at_six(event: Progress) -> None:
        if event.stage == "push" and event.done == 6:
            _kill_soon(pid, 0.03)  # lands inside one of the next import requests

    with pytest.raises(LabelStudioError):
        start_round(
            client,
            store,
            "killed",
            version=many_docs,
            schema=schema,
            preannotator=pre,
            batch_size=2,
            progress=kill_at_six,
        )
    info = studio_up(victim, venv_dir=studio_venv, timeout=300)
    client = connect(info.connection())
    state = load_round(store.root, "killed")
    before = client.task_keys(state.project_id)
    assert 0 < len(before) < len(state.doc_ids)  # the push really was cut short
    result = push_round(client, store, "killed", preannotator=pre)
    tasks = client.task_keys(state.project_id)
    assert sorted(tasks) == sorted(state.doc_ids) and all(len(t) == 1 for t in tasks.values())
    assert result.imported + result.already_there == len(state.doc_ids)


def test_kill_9_during_pull_then_pull_loses_nothing(
    victim: Path, studio_venv: Path, store: Store, schema: AnnotationSchema, many_docs: str
) -> None:
    info = studio_up(victim, venv_dir=studio_venv)
    client = connect(info.connection())
    pre = KeywordPreAnnotator(schema)
    start_round(client, store, "pk", version=many_docs, schema=schema, preannotator=pre)
    state = load_round(store.root, "pk")
    tasks = client.task_keys(state.project_id)
    for doc_id in state.doc_ids:
        task_id = tasks[doc_id][0][0]
        client.sdk.annotations.create(  # an annotator, through the raw SDK
            id=task_id,
            result=[
                {
                    "from_name": "stance",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": ["neutral"]},
                },
            ],
        )
    pid = info.pid

    def kill_before_export(event: Progress) -> None:
        if event.stage == "pull":
            os.kill(pid, signal.SIGKILL)  # the export request is next

    with pytest.raises(LabelStudioError):
        pull_round(
            client, store, "pk", schema=schema, preannotator=pre, progress=kill_before_export
        )
    assert store.version_names() == ["0.1.0"]  # nothing half-written
    info = studio_up(victim, venv_dir=studio_venv, timeout=300)
    client = connect(info.connection())
    result = pull_round(client, store, "pk", schema=schema, preannotator=pre)
    assert result.written and result.annotations == len(state.doc_ids) and result.rejects == []


def test_cli_errors_when_server_is_down_or_token_wrong(
    tmp_path: Path, studio: StudioInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    store = str(tmp_path / "s")
    (tmp_path / "s").mkdir()  # a store folder (round commands refuse a missing one first)
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x" * 40)
    result = runner.invoke(app, ["round", "status", "r1", "--store", store])
    assert result.exit_code == 1 and "StudioNotRunningError" in result.stderr
    assert "corpus studio up" in result.stderr and "LABEL_STUDIO_URL" in result.stderr
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    result = runner.invoke(app, ["round", "status", "r1", "--store", store])
    assert result.exit_code == 1 and "StudioAuthError" in result.stderr
    assert "x" * 40 not in result.stderr + result.stdout


def test_pseudonyms_survive_a_restart_on_another_port(
    victim: Path, studio_venv: Path, store: Store, schema: AnnotationSchema, many_docs: str
) -> None:
    """The user's case: pseudonyms were keyed on the server's URL, so after a restart on
    another port one annotator became two."""
    import socket

    from corpus.rounds.pulled import annotator_keys

    info = studio_up(victim, venv_dir=studio_venv)
    client = connect(info.connection())
    start_round(client, store, "ports", version=many_docs, schema=schema, sample=5)
    state = load_round(store.root, "ports")
    for doc_id, tasks in client.task_keys(state.project_id or 0).items():
        assert doc_id in state.doc_ids
        client.sdk.annotations.create(
            id=tasks[0][0],
            result=[{"from_name": "stance", "to_name": "text", "type": "choices",
                     "value": {"choices": ["neutral"]}}],
        )  # fmt: skip
    first = pull_round(client, store, "ports", schema=schema)
    before = {r["annotator"] for r in store.iter_rows(first.version or "", "annotations")}
    identity = annotator_keys(client, store).server
    studio_down(victim)
    with socket.socket() as sock:  # another free port than the one recorded
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    info = studio_up(victim, venv_dir=studio_venv, port=port, timeout=300)
    assert f":{port}/" in info.url
    client = connect(info.connection())
    assert annotator_keys(client, store).server == identity
    (store.root / "rounds" / "ports" / "pull_state.json").unlink()  # validate every task again
    second = pull_round(client, store, "ports", schema=schema)
    assert not second.written and second.version == first.version  # the very same rows
    after = {r["annotator"] for r in store.iter_rows(second.version or "", "annotations")}
    assert after == before and len(before) == 1
    servers = json.loads((store.root / "store.json").read_text())["servers"]
    assert list(servers) == [identity]

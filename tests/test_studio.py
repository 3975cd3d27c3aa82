"""The Label Studio stage against a real Label Studio 1.23.2 (no fakes)."""

from __future__ import annotations

import json
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError
from studio_fixtures import STARTUP_TIMEOUT, Annotator

from corpus.errors import LabelStudioError, StudioAuthError, StudioNotRunningError
from corpus.labelstudio import (
    LABEL_STUDIO_VERSION,
    Connection,
    StudioInfo,
    connect,
    default_venv_dir,
    resolve_connection,
    studio_down,
    studio_status,
    studio_up,
)
from corpus.labelstudio import studio_home as home_of
from corpus.labelstudio.client import wrap_api_error
from corpus.progress import Progress

pytestmark = [
    pytest.mark.studio,
    # SDK 2.1.2 exchanges a personal access token with the deprecated pydantic `parse_obj`
    pytest.mark.filterwarnings(
        "ignore:The `parse_obj` method is deprecated"
        ":pydantic.warnings.PydanticDeprecatedSince20:label_studio_sdk.tokens.client_ext"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_status_reports_the_running_server(studio: StudioInfo, studio_home: Path) -> None:
    status = studio_status(studio_home)
    assert status.running and status.managed
    assert status.version == LABEL_STUDIO_VERSION == studio.version
    assert (status.url, status.pid) == (studio.url, studio.pid)
    assert studio.url.startswith("http://127.0.0.1:") and studio.url.endswith("/")
    assert httpx.get(studio.url + "health", trust_env=False).json() == {"status": "UP"}


def test_up_again_returns_the_running_server(
    studio: StudioInfo, studio_home: Path, studio_venv: Path
) -> None:
    again = studio_up(studio_home, venv_dir=studio_venv)
    assert again == studio  # same pid, url and token: no second server
    events: list[Progress] = []
    ready = studio_up(studio_home, venv_dir=studio_venv, progress=events.append)
    assert [e.stage for e in events] == ["waiting"]  # no install, no start: only a check
    assert ready == studio
    with pytest.raises(LabelStudioError, match="already runs"):
        studio_up(studio_home, venv_dir=studio_venv, port=_free_port())


def test_secrets_stay_private(studio: StudioInfo, studio_home: Path) -> None:
    creds = studio_home / "credentials.json"
    assert studio.password_file == creds
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE(studio_home.stat().st_mode) == 0o700
    assert studio.api_key in creds.read_text(encoding="utf-8")
    assert len(studio.api_key) == 40 and int(studio.api_key, 16) >= 0
    log = studio.log_file.read_text(encoding="utf-8", errors="replace")
    assert "Starting development server" in log
    assert studio.api_key not in log
    for shown in (repr(studio), str(studio), repr(studio.connection())):
        assert studio.api_key not in shown
    assert "api_key" not in repr(studio)


def test_connect_with_the_managed_credentials(studio: StudioInfo, studio_store: Path) -> None:
    conn = resolve_connection(studio_store, url=None, api_key=None)
    assert conn == studio.connection() and conn.managed
    assert connect(conn).whoami().email == studio.email


def test_wrong_token_is_an_auth_error(studio: StudioInfo) -> None:
    bad = "0123456789abcdef" * 2 + "01234567"
    with pytest.raises(StudioAuthError) as caught:
        connect(Connection(url=studio.url, api_key=bad))
    assert caught.value.status_code == 401
    assert caught.value.hint
    assert bad not in str(caught.value) and "sessionid" not in str(caught.value)


def test_forged_personal_access_token_is_an_auth_error(studio: StudioInfo) -> None:
    forged = jwt.encode(
        {"token_type": "refresh", "exp": int(time.time()) + 3600, "user_id": "1", "jti": "x"},
        "not-the-secret-of-this-label-studio-server",
        algorithm="HS256",
    )
    with pytest.raises(StudioAuthError) as caught:
        connect(Connection(url=studio.url, api_key=forged))
    assert forged not in str(caught.value)


def test_nothing_listening_is_not_running() -> None:
    url = f"http://127.0.0.1:{_free_port()}/"
    with pytest.raises(StudioNotRunningError, match=url):
        connect(Connection(url=url, api_key="0" * 40), timeout=5.0)


def test_resolve_connection_rules(tmp_path: Path, studio: StudioInfo) -> None:
    with pytest.raises(StudioAuthError, match="LABEL_STUDIO_API_KEY"):
        resolve_connection(tmp_path, url="https://ls.example.org", api_key=None)
    with pytest.raises(LabelStudioError, match="LABEL_STUDIO_URL"):
        resolve_connection(tmp_path, url=None, api_key="abc123")
    with pytest.raises(StudioNotRunningError) as caught:
        resolve_connection(tmp_path, url=None, api_key=None)
    assert "corpus studio up" in caught.value.hint
    with pytest.raises(LabelStudioError, match="not an http"):
        resolve_connection(tmp_path, url="ls.example.org", api_key="abc123")
    team = resolve_connection(tmp_path, url=studio.url.rstrip("/"), api_key=studio.api_key)
    assert team == Connection(url=studio.url, api_key=studio.api_key, managed=False)
    assert studio.api_key not in repr(team)


def test_personal_access_token_works(ls_client: LabelStudio, studio: StudioInfo) -> None:
    settings = ls_client.jwt_settings.get()
    if not settings.api_tokens_enabled:
        ls_client.jwt_settings.update(api_token_ttl_days=30, api_tokens_enabled=True)
    pat = ls_client.tokens.create().token
    assert pat and pat.count(".") == 2  # a JWT refresh token, not a legacy key
    conn = resolve_connection(Path("unused"), url=studio.url, api_key=pat)
    client = connect(conn)
    assert client.whoami().email == studio.email
    assert client.projects_titled("no such project") == []
    assert client.sdk.projects.list(page_size=1) is not None


def test_api_errors_are_wrapped_without_headers(ls_client: LabelStudio) -> None:
    with pytest.raises(ApiError) as caught:
        ls_client.projects.get(id=987654)
    assert "sessionid" in str(caught.value)  # why the raw text must never be shown
    error = wrap_api_error(caught.value, "api/projects/987654/")
    assert type(error) is LabelStudioError
    assert (error.status_code, error.endpoint) == (404, "api/projects/987654/")
    assert "sessionid" not in str(error) and "set-cookie" not in str(error).lower()
    with pytest.raises(ApiError) as invalid:
        ls_client.projects.create(title="x", label_config="<View></View>")
    assert "title" in str(wrap_api_error(invalid.value, "api/projects/"))


def test_make_annotator_creates_real_users(
    make_annotator: Callable[..., Annotator], ls_client: LabelStudio, studio: StudioInfo
) -> None:
    first, second = make_annotator(), make_annotator("coder", can_log_in=True)
    assert first.email != second.email and first.password is None
    emails = {u.email for u in ls_client.users.list()}
    assert {first.email, second.email} <= emails
    assert second.password is not None
    with httpx.Client(base_url=studio.url, trust_env=False) as browser:
        browser.get("user/login/")
        form = {
            "email": second.email,
            "password": second.password,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        }
        browser.post("user/login/", data=form, headers={"Referer": studio.url + "user/login/"})
        assert browser.get("api/current-user/whoami").json()["id"] == second.id


def test_busy_port_fails_instead_of_shifting(
    studio: StudioInfo, studio_venv: Path, tmp_path: Path
) -> None:
    port = int(studio.url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(LabelStudioError, match=f"Port {port} .* in use"):
        studio_up(tmp_path / "studio", venv_dir=studio_venv, port=port)


def test_a_crash_during_startup_shows_the_log(studio_venv: Path, tmp_path: Path) -> None:
    home = tmp_path / "studio"
    home.mkdir()
    (home / "data").write_text("not a folder")  # Label Studio cannot create its data dir
    with pytest.raises(LabelStudioError, match="exited while starting") as caught:
        studio_up(home, venv_dir=studio_venv, timeout=STARTUP_TIMEOUT)
    assert "Error" in str(caught.value)  # the traceback tail from the log
    assert not studio_status(home).running


def test_down_stops_only_its_own_server(
    studio: StudioInfo, studio_home: Path, studio_venv: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    assert studio_down(empty) is False
    assert not empty.exists()
    second = tmp_path / "second"  # a store: its server lives in <store>/studio
    home = home_of(second)
    info = studio_up(home, venv_dir=studio_venv, timeout=STARTUP_TIMEOUT)
    try:
        assert info.pid != studio.pid and info.url != studio.url
        assert studio_status(home).running
    finally:
        assert studio_down(home) is True
    status = studio_status(home)
    assert not status.running and status.pid is None and status.url == info.url
    assert studio_down(home) is False
    with pytest.raises(StudioNotRunningError):
        resolve_connection(second, url=None, api_key=None)
    assert studio_status(studio_home).running  # the session server is untouched

    again = studio_up(home, venv_dir=studio_venv, timeout=STARTUP_TIMEOUT)  # a restart
    try:
        assert (again.url, again.api_key) == (info.url, info.api_key)  # same port and token
        assert again.pid != info.pid
    finally:
        assert studio_down(home) is True

    creds = home / "credentials.json"
    tampered = json.loads(creds.read_text(encoding="utf-8")) | {"api_key": "ab" * 20}
    creds.write_text(json.dumps(tampered), encoding="utf-8")
    with pytest.raises(StudioAuthError, match="rejects the token") as caught:
        studio_up(home, venv_dir=studio_venv, timeout=STARTUP_TIMEOUT)
    assert "ab" * 20 not in str(caught.value)
    assert not studio_status(home).running  # the refused server was stopped again


def test_default_venv_dir(tmp_path: Path) -> None:
    assert default_venv_dir({}, tmp_path) == tmp_path / ".venv-labelstudio"
    assert default_venv_dir({"CORPUS_STUDIO_VENV": "/opt/ls"}, tmp_path) == Path("/opt/ls")
    assert default_venv_dir({"CORPUS_STUDIO_VENV": "v"}, tmp_path) == tmp_path / "v"

"""The one door to a Label Studio server: a typed client over label-studio-sdk.

:class:`StudioClient` offers the dozen calls `corpus` makes, with typed results, our errors
(never the SDK's ``ApiError`` text, which carries the response headers and a fresh session
cookie) and ONE retry policy (tenacity): idempotent calls are retried on 5xx, 429 and
timeouts with exponential backoff; the SDK's own retries are switched off for every call, so
a POST is never sent twice behind our back. Imports are made safe instead: after a failed
import the server is read again and only what did not arrive is sent.

Nothing else in `corpus` imports the SDK.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx

from corpus.errors import LabelStudioError, StudioAuthError, StudioNotRunningError, redact_url
from corpus.faults import fault_point
from corpus.labelstudio.calls import retrying, wrap_api_error

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.request_options import RequestOptions

T = TypeVar("T")
WHOAMI = "api/current-user/whoami"
# The SDK retries every method, POST included; our one retry policy replaces it.
NO_RETRY: RequestOptions = {"max_retries": 0}  # retried by StudioClient.retried


@dataclass(frozen=True)
class Connection:
    """Where Label Studio runs and the key to use; ``managed`` is True for the local server.

    ``url`` may carry credentials (``user:password@``, ``?token=``): every message shows
    :attr:`display_url` instead.
    """

    url: str
    api_key: str = field(repr=False)
    managed: bool = False

    @property
    def display_url(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    title: str
    description: str
    task_number: int


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    username: str
    joined: str = ""  # date_joined: with the id, tells a re-created user from the old one


@dataclass(frozen=True)
class TaskRef:
    """A task of a project, matched on ``data.doc_id``."""

    id: int
    doc_id: str
    annotations: int


def normalize_url(url: str) -> str:
    """An http(s) URL ending in ``/`` (the SDK urljoins the token refresh path)."""
    try:
        parsed = httpx.URL(url) if "://" in url else None
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise LabelStudioError(
            f"LABEL_STUDIO_URL is not an http(s) URL: {redact_url(url)!r}",
            hint="Use the address you open in the browser, e.g. https://labelstudio.example.org/.",
        )
    return url if url.endswith("/") else url + "/"


class StudioClient:
    """Typed calls to one Label Studio server (build it with :func:`connect`)."""

    def __init__(self, sdk: LabelStudio, connection: Connection) -> None:
        self.sdk = sdk
        self.connection = connection

    @property
    def url(self) -> str:
        """The server's address without credentials (safe to show and to store)."""
        return self.connection.display_url

    def __repr__(self) -> str:
        return f"StudioClient({self.url!r})"

    @contextlib.contextmanager
    def call(self, endpoint: str) -> Iterator[None]:
        """Turn SDK and HTTP failures inside the block into our errors."""
        from label_studio_sdk.core.api_error import ApiError

        try:
            yield
        except ApiError as exc:
            raise wrap_api_error(exc, endpoint, url=self.url) from None
        except httpx.ConnectError:
            raise StudioNotRunningError(
                f"Label Studio at {self.url} stopped answering during {endpoint}",
                endpoint=endpoint,
            ) from None
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise LabelStudioError(
                f"Label Studio at {self.url} did not answer {endpoint} ({type(exc).__name__})",
                endpoint=endpoint,
                hint="The server may be overloaded or restarting; run the command again.",
            ) from None

    def retried(self, endpoint: str, fn: Callable[[], T]) -> T:
        """An idempotent call under the retry policy."""

        def once() -> T:
            with self.call(endpoint):
                return fn()

        return retrying(once)

    # --- users ------------------------------------------------------------------------------

    def whoami(self, *, timeout: float = 30.0) -> UserInfo:
        with self.call(WHOAMI):
            me = self.sdk.users.whoami(request_options={"max_retries": 0, "timeout": int(timeout)})
        return UserInfo(int(me.id), str(me.email or ""), str(me.username or ""))

    def users(self) -> list[UserInfo]:
        found = self.retried("GET /api/users", lambda: list(self.sdk.users.list()))
        return [
            UserInfo(int(u.id), str(u.email or ""), str(u.username or ""), _stamp(u.date_joined))
            for u in found
        ]

    def server_identity(self) -> str:
        """What identifies this server across restarts, ports and URLs: its organization's id
        and creation time (readable with any user's token)."""
        me = self.retried(WHOAMI, lambda: self.sdk.users.whoami(request_options=NO_RETRY))
        orgs = self.retried(
            "GET /api/organizations",
            lambda: list(self.sdk.organizations.list(request_options=NO_RETRY)),
        )
        active = getattr(me, "active_organization", None)
        org = next((o for o in orgs if o.id == active), orgs[0] if orgs else None)
        if org is None:
            raise LabelStudioError(
                f"Label Studio at {self.url} lists no organization for this user",
                endpoint="GET /api/organizations",
                hint="Use an API key of a user who belongs to an organization.",
            )
        return f"org{org.id}@{_stamp(getattr(org, 'created_at', None))}"

    def create_user(self, *, username: str, email: str) -> UserInfo:
        with self.call("POST /api/users"):
            u = self.sdk.users.create(username=username, email=email, request_options=NO_RETRY)
        return UserInfo(int(u.id or 0), str(u.email or email), str(u.username or username))

    # --- projects ---------------------------------------------------------------------------

    def project(self, project_id: int) -> ProjectInfo | None:
        """The project, or None when the server has no project with that id."""
        try:
            p = self.retried(
                f"GET /api/projects/{project_id}",
                lambda: self.sdk.projects.get(id=project_id, request_options=NO_RETRY),
            )
        except LabelStudioError as exc:
            if exc.status_code == 404:
                return None
            raise
        return _project(p)

    def projects_titled(self, title: str) -> list[ProjectInfo]:
        found: list[Any] = self.retried(
            "GET /api/projects",
            lambda: list(self.sdk.projects.list(title=title, request_options=NO_RETRY)),
        )
        return [_project(p) for p in found if p.title == title]

    def create_project(self, *, title: str, **settings: Any) -> ProjectInfo:
        """A new project; ``settings`` are Label Studio project fields (label_config, ...)."""
        with self.call("POST /api/projects"):
            p = self.sdk.projects.create(title=title, **settings, request_options=NO_RETRY)
        return _project(p)

    def update_project(self, project_id: int, **settings: Any) -> None:
        self.retried(
            f"PATCH /api/projects/{project_id}",
            lambda: self.sdk.projects.update(id=project_id, **settings, request_options=NO_RETRY),
        )

    # --- tasks ------------------------------------------------------------------------------

    def tasks(self, project_id: int) -> list[TaskRef]:
        """Every task of the project that carries a ``data.doc_id``."""
        project = self.project(project_id)
        if project is None or project.task_number == 0:
            return []

        def listing() -> list[TaskRef]:
            out = []
            task: Any
            for task in self.sdk.tasks.list(
                project=project_id, fields="task_only", page_size=1000, request_options=NO_RETRY
            ):
                doc_id = (task.data or {}).get("doc_id")
                if isinstance(doc_id, str):
                    out.append(TaskRef(int(task.id), doc_id, int(task.total_annotations or 0)))
            return out

        return self.retried("GET /api/tasks", listing)

    def task_keys(self, project_id: int) -> dict[str, list[tuple[int, int]]]:
        """doc_id -> [(task id, annotations)] of the tasks in the project."""
        found: dict[str, list[tuple[int, int]]] = {}
        for t in self.tasks(project_id):
            found.setdefault(t.doc_id, []).append((t.id, t.annotations))
        return found

    def import_tasks(
        self, project_id: int, doc_ids: Sequence[str], payload: Sequence[Mapping[str, Any]]
    ) -> int:
        """Import tasks (``payload[i]`` holds ``doc_ids[i]``); returns how many were sent.

        Label Studio never de-duplicates and a lost response may hide an import that was
        applied, so after a transient failure the project is read again and only tasks whose
        ``doc_id`` is still missing are sent, under the retry policy.
        """
        pending = list(zip(doc_ids, payload, strict=True))

        def once() -> int:
            nonlocal pending
            if attempt[0] > 0:
                there = self.task_keys(project_id)
                pending = [(d, p) for d, p in pending if d not in there]
                if not pending:
                    return 0
            attempt[0] += 1
            with self.call(f"POST /api/projects/{project_id}/import"):
                self.sdk.projects.import_tasks(
                    id=project_id,
                    request=[cast(Any, dict(p)) for _, p in pending],
                    return_task_ids=False,
                    request_options={"max_retries": 0, "timeout": 600},
                )
            return len(pending)

        attempt = [0]
        return retrying(once)

    def delete_task(self, task_id: int) -> None:
        self.retried(
            f"DELETE /api/tasks/{task_id}",
            lambda: self.sdk.tasks.delete(id=str(task_id), request_options=NO_RETRY),
        )

    def set_task_overlap(self, task_id: int, overlap: int) -> None:
        self.retried(
            f"PATCH /api/tasks/{task_id}",
            lambda: self.sdk.tasks.update(
                id=str(task_id), overlap=overlap, request_options=NO_RETRY
            ),
        )

    def create_annotation(
        self, task_id: int, *, result: list[dict[str, Any]], completed_by: int, lead_time: float
    ) -> int:
        with self.call(f"POST /api/tasks/{task_id}/annotations"):
            a = self.sdk.annotations.create(
                id=task_id,
                result=result,
                completed_by=completed_by,
                lead_time=lead_time,
                request_options=NO_RETRY,
            )
        return int(a.id or 0)

    # --- export -----------------------------------------------------------------------------

    def export(self, project_id: int, *, timeout: float = 900.0) -> bytes:
        """Every task with its annotations, as Label Studio's JSON export (raw bytes)."""

        def download() -> bytes:
            chunks = []
            for chunk in self.sdk.projects.exports.download_sync(
                project_id,
                download_all_tasks=True,
                request_options={"max_retries": 0, "timeout": timeout},
            ):
                chunks.append(chunk)
                if len(chunks) == 1:
                    fault_point("pull:export-download")
            return b"".join(chunks)

        return self.retried(f"GET /api/projects/{project_id}/export", download)


def _stamp(value: object) -> str:
    """A timestamp as ISO text (microseconds kept), whatever the SDK gave."""
    if value is None:
        return ""
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)


def _project(p: Any) -> ProjectInfo:
    return ProjectInfo(
        id=int(p.id),
        title=str(p.title or ""),
        description=str(getattr(p, "description", "") or ""),
        task_number=int(getattr(p, "task_number", 0) or 0),
    )


def connect(conn: Connection, *, timeout: float = 60.0) -> StudioClient:
    """A client for ``conn``, checked once (whoami) so a bad URL or key fails here.

    Legacy tokens are sent as ``Token``; a personal access token (JWT) is exchanged by the SDK.
    """
    from label_studio_sdk import LabelStudio

    url = normalize_url(conn.url)
    shown = redact_url(url)
    if httpx.URL(url).userinfo:  # httpx would send them as Basic auth instead of the key
        raise StudioAuthError(
            f"the Label Studio URL {shown} carries a user name and password: Label Studio's "
            "API does not use them, and they would be sent instead of the API key",
            endpoint=WHOAMI,
            hint="Remove 'user:password@' from LABEL_STUDIO_URL; the API key "
            "(LABEL_STUDIO_API_KEY, from Account & Settings) is what logs in.",
        )
    try:
        sdk = LabelStudio(base_url=url, api_key=conn.api_key, timeout=timeout)  # type: ignore[no-untyped-call]
        client = StudioClient(sdk, Connection(url, conn.api_key, conn.managed))
        client.whoami(timeout=min(timeout, 30.0))
    except StudioNotRunningError:
        raise StudioNotRunningError(
            f"No Label Studio answers at {shown} (the connection was refused)", endpoint=WHOAMI
        ) from None
    except LabelStudioError as exc:
        if exc.status_code is None and "did not answer" in exc.message:
            raise StudioNotRunningError(
                f"No Label Studio answers at {shown} (the connection timed out)", endpoint=WHOAMI
            ) from None
        raise
    except httpx.HTTPError as exc:
        raise LabelStudioError(
            f"Cannot talk to Label Studio at {shown}: {type(exc).__name__}", endpoint=WHOAMI
        ) from None
    except ValueError:  # not JSON, or not the expected JSON
        raise LabelStudioError(
            f"{shown} does not answer like a Label Studio server",
            endpoint=WHOAMI,
            hint="Check LABEL_STUDIO_URL: it is the address you open in the browser.",
        ) from None
    return client

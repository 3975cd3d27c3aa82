"""The one retry policy and error mapping for every Label Studio call.

Idempotent calls are retried on 5xx, 429 and timeouts with exponential backoff (tenacity);
an SDK ``ApiError`` becomes our :class:`~corpus.errors.LabelStudioError` with status,
endpoint and the server's detail only (never the SDK's text, which carries the response
headers and a fresh session cookie).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from corpus.errors import LabelStudioError, StudioAuthError, StudioNotRunningError, redact_url

T = TypeVar("T")
ATTEMPTS = 4


def transient(exc: BaseException) -> bool:
    """Worth another try: a 5xx, 429, or no answer at all (but not a refused connection)."""
    if isinstance(exc, StudioNotRunningError) or not isinstance(exc, LabelStudioError):
        return False
    return exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429


def retrying(fn: Callable[[], T], *, attempts: int = ATTEMPTS, base: float = 0.5) -> T:
    """The retry policy: ``fn`` again on :func:`transient` errors, exponential backoff."""
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    wrapped = retry(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=base, max=8),
        reraise=True,
    )(fn)
    return wrapped()


def wrap_api_error(exc: Any, endpoint: str, *, url: str | None = None) -> LabelStudioError:
    """Our error for an SDK ``ApiError``: status, endpoint and the server's detail only."""
    status: int | None = exc.status_code
    where = f" at {redact_url(url)}" if url else ""
    message = f"Label Studio{where} answered {status} to {endpoint}"
    if detail := _detail(exc.body):
        message += f": {detail}"
    if status == 401:
        return StudioAuthError(message, status_code=status, endpoint=endpoint)
    if status == 403:
        hint = "The API key's user may not do this; use an administrator's key."
        return StudioAuthError(message, status_code=status, endpoint=endpoint, hint=hint)
    return LabelStudioError(message, status_code=status, endpoint=endpoint)


def _detail(body: object) -> str:
    text = "" if body is None else str(body)
    if isinstance(body, dict):
        parts = [str(body["detail"])] if body.get("detail") else []
        errors = body.get("validation_errors")
        for name, problems in errors.items() if isinstance(errors, dict) else ():
            problems = problems if isinstance(problems, list) else [problems]
            parts.append(f"[{name}] {'; '.join(map(str, problems))}")
        text = " ".join(parts) or json.dumps(body, default=str)
    elif isinstance(body, str) and body.lstrip().startswith("<"):
        text = "(an HTML page, not the Label Studio API)"
    return text if len(text) <= 500 else text[:497] + "..."

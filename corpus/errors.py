"""The one error tree of `corpus`.

Every failure a user can act on is a :class:`CorpusError` with a ``hint`` that says what to
do next. The CLI catches only this root; anything else is a bug and keeps its traceback.
API misuse (wrong argument types, impossible option combinations in library calls) raises
the builtin ``TypeError`` / ``ValueError`` instead.

* CorpusError
  + SchemaError            the annotation schema file or a record does not validate
  + IngestError            input files or records could not be ingested (``.problems``)
  + StoreError             the versioned store
    - StoreLockedError     another writer holds the store lock
    - VersionNotFoundError a version named by the user does not exist
    - VersionExistsError   a version number is already taken (versions are immutable)
    - DamagedVersionError  a version's manifest or files differ from what was written
  + LabelStudioError       talking to Label Studio (``.status_code``, ``.endpoint``)
    - StudioNotRunningError  no server answers at the configured URL
    - StudioAuthError        the server answers but rejects the token
  + RoundError             annotation rounds: unknown round, bad settings, drift
  + ReleaseError           building, verifying or publishing a release
    - ReleaseGateError     the release gates failed (``.gates``: each failure, and whether
                           only more data could pass it)
    - RehydrateError       the user's copies do not give back the release's text
                           (``.missing``, ``.changed``, ``.skipped``)
  + MissingExtraError      an optional feature's packages are not installed (``.extra``,
                           ``.module``): the hint names the extra that installs them
  + EngineError            the engine asked for (``--engine ray``) is not installed or reachable
    - MissingEngineError   its extra is not installed (also a MissingExtraError)
  + ModelError             training, loading or using a stored model (``.path``): a release
                           without gold or too small, a damaged model folder, another schema
  + FileSystemError        the operating system refused a read or write (``.path``, ``.errno``):
                           read-only or full disk, no permission, a missing file

:func:`redact_url` removes credentials (``user:password@``, ``token=``/``key=`` query
parameters) from a URL; every message that shows a server's address goes through it.
"""

from __future__ import annotations

import errno as errno_codes
import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class CorpusError(Exception):
    """Root of every error `corpus` raises on purpose; ``hint`` says what to do next."""

    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, object]:
        """``message``, ``hint`` and the error's details (path, problems, status, ...)."""
        out: dict[str, object] = {"message": self.message, "hint": self.hint}
        for key, value in vars(self).items():
            if key in out or key.startswith("_"):
                continue
            if isinstance(value, Path):
                value = display_path(value)
            elif isinstance(value, list):
                value = [v.to_dict() if isinstance(v, Problem) else v for v in value]
            out[key] = value
        return out


class SchemaError(CorpusError, ValueError):
    default_hint = "Fix the schema file (see schemas/annotation.yaml) and run the command again."


@dataclass(frozen=True)
class Problem:
    """One bad input: which file (and record), why, and what to do about it."""

    path: str
    reason: str
    hint: str = ""
    record: int | None = None

    def where(self) -> str:
        return self.path if self.record is None else f"{self.path} (record {self.record})"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "record": self.record, "reason": self.reason, "hint": self.hint}


class IngestError(CorpusError):
    default_hint = (
        "Fix or remove the files listed, or pass --skip-bad to ingest the good ones "
        "and keep this report in the manifest."
    )

    def __init__(
        self, message: str, *, problems: Sequence[Problem] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = list(problems)


class StoreError(CorpusError):
    default_hint = "Check the --store folder (or CORPUS_STORE)."

    def __init__(self, message: str, *, path: Path | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class StoreLockedError(StoreError):
    default_hint = (
        "Another corpus command is writing to this store; wait for it to finish. If no other "
        "command runs, the lock file can be removed by hand."
    )


class VersionNotFoundError(StoreError):
    default_hint = "Run `corpus versions` to list the versions in this store."


class DamagedVersionError(StoreError):
    """A version's manifest or files differ from what was written (``report``: the check)."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        hint: str | None = None,
        report: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, path=path, hint=hint)
        if report is not None:
            self.report = report

    default_hint = (
        "Restore the version folder from a backup (versions are immutable: nothing may edit "
        "them) and run `corpus check` to see everything that is damaged. A damaged version is "
        "never read, released, sampled or diffed, and its number is never reused."
    )


class VersionExistsError(StoreError):
    default_hint = "Versions are immutable: pick a higher version number or leave --version out."


class LabelStudioError(CorpusError):
    default_hint = "Check that Label Studio runs (`corpus studio status`) and the settings."

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        endpoint: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.endpoint = endpoint


class StudioNotRunningError(LabelStudioError):
    default_hint = (
        "Start the local server with `corpus studio up`, or point LABEL_STUDIO_URL at your "
        "team's server."
    )


class StudioAuthError(LabelStudioError):
    default_hint = (
        "Check LABEL_STUDIO_API_KEY (a legacy token or a personal access token from "
        "Account & Settings), or run `corpus studio up` for the local server."
    )


class RoundError(CorpusError):
    default_hint = "Run `corpus round list` to see the rounds in this store."


class ReleaseError(CorpusError):
    default_hint = "See the reason above; `--force REASON` overrides a release gate."


class ReleaseGateError(ReleaseError):
    """The build's gates failed; ``gates``: ``{"gate", "message", "unavoidable"}`` each."""

    def __init__(
        self, message: str, *, gates: Sequence[dict[str, object]] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.gates = list(gates)


class RehydrateError(ReleaseError):
    """Documents of an offsets-only release that the given sources do not give back."""

    default_hint = (
        "Add the missing articles to the sources (the same files you ingested: .txt/.md, "
        ".jsonl, .csv or .parquet), or restore the edited ones; nothing was written."
    )

    def __init__(
        self,
        message: str,
        *,
        missing: Sequence[dict[str, object]] = (),
        changed: Sequence[dict[str, object]] = (),
        skipped: Sequence[dict[str, object]] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.missing = list(missing)  # doc_id and where it was ingested from
        self.changed = list(changed)  # doc_id, the source record, what differs
        self.skipped = list(skipped)  # source files or records that could not be read


class MissingExtraError(CorpusError):
    """An optional feature needs packages of an extra that is not installed (see
    :mod:`corpus.extras`); ``extra`` names it, ``module`` the import that failed."""

    default_hint = "Install the extra named above with pip install 'corpus[EXTRA]'."

    def __init__(
        self, message: str, *, extra: str, module: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.extra = extra
        self.module = module


class EngineError(CorpusError):
    """The engine asked for cannot run: Ray is not installed, or its cluster not reachable."""

    default_hint = (
        "Install the Ray engine with `pip install 'corpus[ray]'` (Ray Data and polars), or use "
        "--engine local."
    )


class MissingEngineError(EngineError, MissingExtraError):
    """The engine asked for is not installed: its extra (``corpus[ray]``) is missing."""


class ModelError(CorpusError):
    """A stored model could not be trained, read or used; ``path`` names the folder."""

    default_hint = "Run `corpus model list` to see the models in this store."

    def __init__(self, message: str, *, path: Path | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class FileSystemError(CorpusError):
    """The operating system refused a read or write; ``path`` and ``errno`` say which."""

    default_hint = "Check the path, its permissions and the free disk space."

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        errno: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.errno = errno


_HINTS = {
    errno_codes.EROFS: "The file system is read-only: point --store (or the output option) at "
    "a writable folder.",
    errno_codes.ENOSPC: "The disk is full: free some space and run the command again; nothing "
    "already stored was changed.",
    errno_codes.EDQUOT: "The disk quota is used up: free some space and run the command again.",
    errno_codes.EACCES: "Permission denied: make the path readable (and writable for outputs) "
    "by this user, or use another folder.",
    errno_codes.EPERM: "Operation not permitted: check the path's owner and permissions.",
    errno_codes.ENOENT: "No such file or folder: check the path.",
    errno_codes.ENOTDIR: "A part of the path is a file, not a folder: check the path.",
    errno_codes.EISDIR: "The path is a folder where a file was expected: check the path.",
    errno_codes.ENAMETOOLONG: "The path is too long: use a shorter one.",
    errno_codes.EEXIST: "Something is already at that path (a file where a folder is needed, "
    "or the reverse): pick another path.",
}


def display_path(path: object) -> str:
    """A path as text that always prints: undecodable bytes become ``\\xNN`` escapes."""
    if path is None:
        return ""
    if isinstance(path, bytes):
        return path.decode("utf-8", "backslashreplace")
    text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def os_error(exc: OSError, action: str = "") -> FileSystemError:
    """Our error for an ``OSError``: what failed, on which path, and what to do."""
    path = display_path(exc.filename) if exc.filename is not None else None
    reason = exc.strerror or type(exc).__name__
    what = f"cannot {action} " if action else ""
    where = f"{path}: " if path else ""
    return FileSystemError(
        f"{what}{where}{reason}".strip(),
        path=path,
        errno=exc.errno,
        hint=_HINTS.get(exc.errno or -1),
    )


P = ParamSpec("P")
R = TypeVar("R")


def translate_os_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public function: an ``OSError`` from the file system becomes a
    :class:`FileSystemError` naming the path (network errors are left alone)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (ConnectionError, TimeoutError):
            raise
        except OSError as exc:
            raise os_error(exc) from exc

    return wrapper


_SECRET_PARAMS = re.compile(r"(token|key|secret|password|passwd|auth|signature|sig)", re.I)


def redact_url(url: str) -> str:
    """``url`` without credentials: userinfo and secret-looking query parameters become ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unparsable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


__all__ = [
    "CorpusError",
    "DamagedVersionError",
    "EngineError",
    "FileSystemError",
    "IngestError",
    "LabelStudioError",
    "MissingEngineError",
    "MissingExtraError",
    "ModelError",
    "Problem",
    "ReleaseError",
    "RoundError",
    "SchemaError",
    "StoreError",
    "StoreLockedError",
    "StudioAuthError",
    "StudioNotRunningError",
    "VersionExistsError",
    "VersionNotFoundError",
    "display_path",
    "os_error",
    "redact_url",
    "translate_os_errors",
]

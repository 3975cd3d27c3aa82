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
  + LabelStudioError       talking to Label Studio (``.status_code``, ``.endpoint``)
    - StudioNotRunningError  no server answers at the configured URL
    - StudioAuthError        the server answers but rejects the token
  + RoundError             annotation rounds: unknown round, bad settings, drift
  + ReleaseError           building, verifying or publishing a release
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class CorpusError(Exception):
    """Root of every error `corpus` raises on purpose; ``hint`` says what to do next."""

    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


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


__all__ = [
    "CorpusError",
    "IngestError",
    "LabelStudioError",
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
]

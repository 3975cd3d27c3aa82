"""What an ingest reports (either engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import Problem


@dataclass
class IngestResult:
    version: str | None
    parent: str | None
    written: bool
    documents_added: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    paragraphs: int = 0
    sentences: int = 0
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    ignored: list[Problem] = field(default_factory=list)  # files in folders left unread
    path: Path | None = None
    migrated: dict[str, Any] = field(default_factory=dict)  # an old documents table rewritten

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "parent": self.parent,
            "written": self.written,
            "documents_added": self.documents_added,
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "paragraphs": self.paragraphs,
            "sentences": self.sentences,
            "files": self.files,
            "problems": [p.to_dict() for p in self.problems],
            "ignored": [p.to_dict() for p in self.ignored],
            "path": str(self.path) if self.path else None,
        }

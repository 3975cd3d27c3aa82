"""Ingest: files and records into a new, immutable dataset version."""

from __future__ import annotations

from corpus.ingest.readers import ReadOptions, parse_field_mapping
from corpus.ingest.run import Finished, IngestEvent, IngestResult, Progress, ingest, ingest_iter

__all__ = [
    "Finished",
    "IngestEvent",
    "IngestResult",
    "Progress",
    "ReadOptions",
    "ingest",
    "ingest_iter",
    "parse_field_mapping",
]

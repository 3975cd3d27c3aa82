"""Ingest: files and records into a new, immutable dataset version.

* :mod:`corpus.ingestion.on.readers`: find input files, read them into raw records (the I/O edge);
* :mod:`corpus.ingestion.on.core`: normalise, segment and hash a batch of records (pure);
* :mod:`corpus.ingestion.on.minhash`: near-duplicate signatures, vectorised;
* :mod:`corpus.ingestion.on.run`: stream batches through worker processes into the store.
"""

from __future__ import annotations

from corpus.ingestion.readers import ReadOptions, parse_field_mapping
from corpus.ingestion.result import IngestResult
from corpus.ingestion.run import ingest

__all__ = ["IngestResult", "ReadOptions", "ingest", "parse_field_mapping"]

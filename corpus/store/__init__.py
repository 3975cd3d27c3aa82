"""The versioned store: immutable versions of Arrow tables, written atomically.

* :mod:`corpus.store.numbers`: version numbers (the one definition, for releases too);
* :mod:`corpus.store.versions`: :class:`Store` and :class:`Version` (every read verified);
* :mod:`corpus.store.derive`: a new version derived from the latest, carrying its tables;
* :mod:`corpus.store.writer`: writing tables into a temporary version and committing it;
* :mod:`corpus.store.arrow`: Arrow arrays built from Python values without pandas;
* :mod:`corpus.store.meta`: `store.json` (the store id, the last version issued, servers);
* :mod:`corpus.store.diff`: list, show and diff versions;
* :mod:`corpus.store.inputs`: the files an ingest read (a table, or an old manifest's list);
* :mod:`corpus.store.integrity`: ``corpus check``, above the reader (the package's modules
  import downwards only: numbers, files, meta -> writer -> versions -> derive, diff,
  inputs -> integrity).
"""

from __future__ import annotations

from corpus.store.derive import derive_version
from corpus.store.diff import VersionDiff, diff_versions, lineage, list_versions, show_version
from corpus.store.inputs import input_files, input_summary
from corpus.store.integrity import CheckReport, check_store
from corpus.store.numbers import (
    format_version,
    is_version,
    next_minor,
    parse_version,
    version_folders,
)
from corpus.store.versions import Store, Version, as_store
from corpus.store.writer import TableWriter, VersionWriter

__all__ = [
    "CheckReport",
    "Store",
    "TableWriter",
    "Version",
    "VersionDiff",
    "VersionWriter",
    "as_store",
    "check_store",
    "derive_version",
    "diff_versions",
    "format_version",
    "input_files",
    "input_summary",
    "is_version",
    "lineage",
    "list_versions",
    "next_minor",
    "parse_version",
    "show_version",
    "version_folders",
]

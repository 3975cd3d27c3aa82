"""The files an ingest read, however its manifest records them: one accessor for every reader.

Ingests since issue 20 keep a row per file in the version's ``inputs`` table and only the
sum in the manifest (:class:`~corpus.models.InputsSummary`); older manifests list the files
inline (``inputs: [...]``), and versions other stages made list none.
"""

from __future__ import annotations

from collections.abc import Iterator

from corpus.models import InputFile, InputsSummary, VersionManifest
from corpus.store.versions import Store


def input_summary(manifest: VersionManifest) -> InputsSummary:
    """The number of files a version read, their bytes and documents (an old manifest's
    inline list summed)."""
    if isinstance(manifest.inputs, InputsSummary):
        return manifest.inputs
    return InputsSummary(
        files=len(manifest.inputs),
        bytes=sum(f.bytes for f in manifest.inputs),
        documents=sum(f.documents for f in manifest.inputs),
    )


def input_files(store: Store, version: str) -> Iterator[InputFile]:
    """Each file the version read, in input order: streamed from its ``inputs`` table, or
    from an old manifest's list (the version is checked first, as every read is)."""
    manifest = store.verify(version)
    if not isinstance(manifest.inputs, InputsSummary):
        yield from manifest.inputs
        return
    for batch in store.iter_batches(version, manifest.inputs.table):
        for row in batch.to_pylist():
            yield InputFile.model_validate(row)


__all__ = ["input_files", "input_summary"]

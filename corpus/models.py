"""Public record types: one pydantic model per stored row and for the version manifest.

The Arrow schemas of the store's tables and their ``datasets.Features`` are derived from
these models (:mod:`corpus.features`), and so are the JSON Schemas in ``schemas/``.
Offsets (``start``/``end``) are Python string indices (Unicode code points) into the
document's stored ``text``, ``end`` exclusive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_ROW = ConfigDict(extra="forbid", frozen=True)


class Document(BaseModel):
    """One article, stored once however often it was ingested."""

    model_config = _ROW

    doc_id: str = Field(description="Stable id: hash of the normalised title and text.")
    title: str = Field(description="Normalised title.")
    text: str = Field(description="Normalised body text; every offset indexes into it.")
    text_sha256: str = Field(description="sha256 of `text` (UTF-8), checked on pull.")
    source_path: str = Field(description="Where the document was first read from.")
    source_sha256: str = Field(description="sha256 of that source file's bytes.")
    source_record: int | None = Field(
        description="1-based record number in a JSONL/CSV/Parquet file."
    )
    external_id: str | None = Field(description="The `id` field of the input record, if any.")
    url: str | None = Field(description="Article URL, if given.")
    source: str | None = Field(description="Publisher or feed name, if given.")
    published_at: datetime | None = Field(
        description="Publication time in UTC (from ISO 8601 or a Unix timestamp), if given."
    )
    language: str = Field(description="BCP 47 language tag of the text (default en).")
    dup_group: str = Field(
        description="Near-duplicate group when stored: the doc_id of the group's first "
        "member. Never changes; groups merged later are listed in the dup_merges table."
    )
    n_paragraphs: int = Field(description="Number of paragraphs.")
    n_sentences: int = Field(description="Number of sentences.")
    ingested_in: str = Field(description="Dataset version that first stored this document.")


class Paragraph(BaseModel):
    """A blank-line separated block of a document's text."""

    model_config = _ROW

    doc_id: str
    index: int = Field(description="0-based position in the document.")
    start: int = Field(description="Start offset into the document text.")
    end: int = Field(description="End offset (exclusive) into the document text.")
    text: str = Field(description="Exactly document.text[start:end].")


class Sentence(BaseModel):
    """A sentence of a document; it never crosses a paragraph boundary."""

    model_config = _ROW

    doc_id: str
    index: int = Field(description="0-based position in the document.")
    paragraph_index: int = Field(description="Index of the paragraph holding the sentence.")
    start: int = Field(description="Start offset into the document text.")
    end: int = Field(description="End offset (exclusive) into the document text.")
    text: str = Field(description="Exactly document.text[start:end].")


class Source(BaseModel):
    """Every place a document was read from (exact duplicates add rows here)."""

    model_config = _ROW

    doc_id: str
    source_path: str
    source_sha256: str
    source_record: int | None
    ingested_in: str = Field(description="Version in which this source was read.")


class MinHashRow(BaseModel):
    """The near-duplicate signature of a document, kept so later ingests can compare."""

    model_config = _ROW

    doc_id: str
    signature: list[int] = Field(description="MinHash values (uint32) over word 5-shingles.")


class DupMerge(BaseModel):
    """A near-duplicate group merged into another: a new document linked both."""

    model_config = _ROW

    dup_group: str = Field(description="The group merged (a dup_group value).")
    into: str = Field(
        description="The group it joined (smaller id; follow the merges for today's group)."
    )
    ingested_in: str = Field(description="Dataset version whose ingest merged them.")


class SpanAnnotation(BaseModel):
    """One issue span labelled by one annotator."""

    model_config = _ROW

    doc_id: str
    round: str = Field(description="Annotation round name.")
    annotator: str = Field(description="Stable pseudonym (keyed hash of the Label Studio user).")
    annotation_id: int = Field(description="Label Studio annotation id.")
    region_id: str | None = Field(
        description="Label Studio region id (absent for API-made results)."
    )
    start: int
    end: int
    text: str = Field(description="document.text[start:end], sliced by corpus, never value.text.")
    issue: str = Field(description="Issue label name from the schema.")
    stance: str | None = Field(description="Per-span stance label name, if given.")
    from_prediction: bool = Field(
        description="True when the span came unchanged from a pre-annotation."
    )
    schema_version: int | None = Field(
        default=None,
        description="Label-schema version the row's labels are in: the round's when pulled, "
        "the new one once a migration mapped them (null: stored before versions were "
        "recorded).",
    )


class AnnotationRow(BaseModel):
    """One annotator's answer for one task (skips included)."""

    model_config = _ROW

    doc_id: str
    round: str
    annotator: str = Field(description="Stable pseudonym (keyed hash of the Label Studio user).")
    annotation_id: int
    task_id: int
    stance: str | None = Field(description="Document stance label name; null when skipped.")
    cancelled: bool = Field(description="True when the annotator skipped the task.")
    ground_truth: bool
    lead_time: float | None = Field(description="Seconds spent in the UI (null via the API).")
    created_at: str | None
    updated_at: str | None
    n_spans: int
    schema_version: int | None = Field(
        default=None,
        description="Label-schema version the row's labels are in: the round's when pulled, "
        "the new one once a migration mapped them (null: stored before versions were "
        "recorded).",
    )
    model_version: str | None = Field(
        default=None,
        description="model_version of the prediction the task showed (keywords or a stored "
        "model); null when it had none or was stored before this was recorded.",
    )
    suggested_stance: str | None = Field(
        default=None, description="The document stance that prediction suggested, if any."
    )


class GoldAnnotation(BaseModel):
    """The adjudicated document stance of one document in one round."""

    model_config = _ROW

    doc_id: str
    round: str
    stance: str | None = Field(description="Gold stance; null when unresolved (a tie).")
    decided_by: str = Field(description="unanimous, majority, review or unresolved.")
    votes: str = Field(description="Votes for the gold label over valid votes, e.g. '2/3'.")
    annotators: list[str] = Field(description="Pseudonyms whose annotations were used.")
    annotation_ids: list[int] = Field(description="Label Studio annotation ids used.")
    schema_version: int | None = Field(
        default=None,
        description="Label-schema version the row's labels are in: the round's when pulled, "
        "the new one once a migration mapped them (null: stored before versions were "
        "recorded).",
    )


class GoldSpan(BaseModel):
    """An adjudicated issue span."""

    model_config = _ROW

    doc_id: str
    round: str
    start: int
    end: int
    text: str = Field(description="document.text[start:end].")
    issue: str
    stance: str | None
    decided_by: str = Field(description="unanimous, majority or review.")
    support: str = Field(description="Annotators who marked it over annotators of the document.")
    annotators: list[str]
    annotation_ids: list[int]
    schema_version: int | None = Field(
        default=None,
        description="Label-schema version the row's labels are in: the round's when pulled, "
        "the new one once a migration mapped them (null: stored before versions were "
        "recorded).",
    )


class NormalizationInfo(BaseModel):
    model_config = _ROW

    unicode: Literal["NFC"] = "NFC"
    newlines: Literal["\n"] = "\n"
    bom: Literal["stripped"] = "stripped"
    other: str = Field(
        default="every other character is kept (curly quotes, emoji, tabs); trailing "
        "whitespace of the body is removed",
    )


class InputFile(BaseModel):
    """One file an ingest read: a row of the version's ``inputs`` table."""

    model_config = _ROW

    path: str
    sha256: str
    bytes: int
    documents: int = Field(description="Documents read from the file (before de-duplication).")


INPUTS_TABLE: Literal["inputs"] = "inputs"


class InputsSummary(BaseModel):
    """The files an ingest read, summed; the version's ``inputs`` table lists each one."""

    model_config = _ROW

    table: Literal["inputs"] = Field(
        default=INPUTS_TABLE, description="The table with one row per file (InputFile)."
    )
    files: int = Field(description="Files read (those that gave at least one document).")
    bytes: int = Field(description="Their sizes summed.")
    documents: int = Field(description="Documents read from them (before de-duplication).")


class TableInfo(BaseModel):
    model_config = _ROW

    rows: int
    content_sha256: str = Field(
        description="Order-independent hash of the rows: "
        "sum of sha256(canonical JSON row) mod 2**256."
    )
    files: list[str]


class FileRecord(BaseModel):
    """The size and sha256 of one stored file, checked before the file is read."""

    model_config = _ROW

    bytes: int
    sha256: str


class ProblemRecord(BaseModel):
    model_config = _ROW

    path: str
    record: int | None
    reason: str
    hint: str


class VersionManifest(BaseModel):
    """``manifest.json`` of a dataset version."""

    model_config = _ROW

    version: str
    parent: str | None
    kind: str = Field(description="What made the version: ingest, pull, adjudicate.")
    created: str = Field(description="UTC time, ISO 8601.")
    tool_version: str
    schema_hash: str
    message: str | None
    normalization: NormalizationInfo
    segmenter: dict[str, str]
    dedup: dict[str, str | int | float]
    inputs: list[InputFile] | InputsSummary = Field(
        description="The files an ingest read: a summary, each file being a row of the "
        "version's `inputs` table (ingests since issue 20); or the files themselves, listed "
        "here (older ingests; an empty list for versions other stages made). Read them with "
        "`corpus.store.input_files`."
    )
    tables: dict[str, TableInfo]
    report: list[ProblemRecord] = Field(description="Inputs skipped with --skip-bad, with reasons.")
    extra: dict[str, object] = Field(default_factory=dict, description="Stage-specific details.")
    files: dict[str, FileRecord] = Field(
        default_factory=dict,
        description="Size and sha256 of every file of the version but manifest.json, by path "
        "relative to the version folder. Empty in versions written before file hashes were "
        "recorded (`corpus check` reports them as unverified).",
    )


RECORD_MODELS: dict[str, type[BaseModel]] = {
    "document": Document,
    "paragraph": Paragraph,
    "sentence": Sentence,
    "annotation": AnnotationRow,
    "span_annotation": SpanAnnotation,
    "gold_annotation": GoldAnnotation,
    "gold_span": GoldSpan,
    "version_manifest": VersionManifest,
}

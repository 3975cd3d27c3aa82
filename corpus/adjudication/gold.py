"""Read a pulled round, adjudicate it and store the gold as a new dataset version."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.adjudication.core import decide, documents
from corpus.adjudication.votes import Adjudication, DocumentVotes
from corpus.errors import RoundError, translate_os_errors
from corpus.features import arrow_schema
from corpus.ids import hash_hex, row_hash
from corpus.models import GoldAnnotation, GoldSpan
from corpus.rounds import RoundState, pulled_round
from corpus.rounds.convert import Reject
from corpus.store import Store, as_store, derive_version

GOLD_TABLES = {
    "gold_annotations": arrow_schema(GoldAnnotation),
    "gold_spans": arrow_schema(GoldSpan),
}


@dataclass
class RoundInputs:
    """A round's rows in its latest pulled version, grouped by document."""

    state: RoundState
    version: str
    docs: list[DocumentVotes]
    skipped: list[str]
    rows: dict[str, dict[str, Any]] = field(repr=False)  # document rows by doc_id


def load_inputs(store: Store, name: str) -> RoundInputs:
    """The round's annotations and spans of its latest pulled version, with the texts."""
    pulled = pulled_round(store, name)
    version, annotations, spans = pulled.version, pulled.annotations, pulled.spans
    rows = store.documents(version, {a["doc_id"] for a in annotations})
    missing = sorted({a["doc_id"] for a in annotations} - rows.keys())
    if missing:
        raise RoundError(
            f"version {version} has no document {missing[0]} although round {name!r} annotated it",
            hint="The store was changed by hand; pull the round again.",
        )
    docs, skipped = documents(annotations, spans, {d: r["text"] for d, r in rows.items()})
    return RoundInputs(pulled.state, version, docs, skipped, rows)


@dataclass
class AdjudicationResult:
    """What an adjudication wrote (or found already written) and what is left open."""

    round: str
    strategy: str
    parent: str
    version: str | None
    written: bool
    gold: Adjudication
    reviewed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    archive: Path | None = None
    pull: str | None = None  # the pulled version adjudicated

    def decided(self) -> dict[str, int]:
        """Gold stances per ``decided_by``."""
        return dict(sorted(Counter(g.decided_by for g in self.gold.gold_annotations).items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "strategy": self.strategy,
            "parent": self.parent,
            "pull": self.pull,
            "version": self.version,
            "written": self.written,
            "gold_annotations": len(self.gold.gold_annotations),
            "gold_spans": len(self.gold.gold_spans),
            "decided_by": self.decided(),
            "unresolved": [u.to_dict() for u in self.gold.unresolved],
            "disagreements": self.gold.disagreements,
            "skipped": self.gold.skipped,
            "reviewed": self.reviewed,
            "pending": self.pending,
            "rejects": [r.to_dict() for r in self.rejects],
            "archive": str(self.archive) if self.archive else None,
        }


@translate_os_errors
def adjudicate(
    store: Store | str | os.PathLike[str], name: str, *, span_agreement: float = 1.0
) -> AdjudicationResult:
    """Majority gold for a round's latest pull, stored as a new version (parent: that pull).

    ``span_agreement`` (0..1) decides which documents count as disagreements (listed for a
    curator). Nothing is written when the latest adjudication of that pull already holds the
    same gold.
    """
    if not 0.0 <= span_agreement <= 1.0:
        raise ValueError(f"span_agreement must be between 0 and 1, not {span_agreement}")
    store = as_store(store)
    inputs = load_inputs(store, name)
    gold = decide(inputs.docs, inputs.skipped, span_agreement=span_agreement)
    version, written = write_gold(store, inputs.version, name, gold, strategy="majority", extra={})
    parent = store.manifest(version).parent or inputs.version
    return AdjudicationResult(name, "majority", parent, version, written, gold, pull=inputs.version)


def write_gold(
    store: Store,
    pull: str,
    name: str,
    gold: Adjudication,
    *,
    strategy: str,
    extra: dict[str, Any],
) -> tuple[str, bool]:
    """A new version with this round's gold (from its pulled version ``pull``), derived from
    the store's latest version: every table is carried forward, other rounds' gold included
    (which gold counts for a document is decided by :func:`effective_gold`). Returns
    (version, written); nothing is written when the round's newest gold is the same."""
    rows = {
        "gold_annotations": [g.model_dump() for g in gold.gold_annotations],
        "gold_spans": [g.model_dump() for g in gold.gold_spans],
    }
    hashes = {table: sum(row_hash(r) for r in rs) for table, rs in rows.items()}
    digest = hash_hex(sum(hashes.values()) + row_hash({"strategy": strategy}))
    with store.lock():
        if (same := _already_written(store, pull, name, digest)) is not None:
            return same, False
        version = derive_version(
            store,
            store.latest_name() or pull,
            round_name=name,
            tables={t: (schema, rows[t]) for t, schema in GOLD_TABLES.items()},
            kind="adjudicate",
            message=f"gold of round {name} ({strategy})",
            extra={
                "strategy": strategy,
                "gold_sha256": digest,
                "decided_by": dict(Counter(g.decided_by for g in gold.gold_annotations)),
                "unresolved": [u.to_dict() for u in gold.unresolved],
                "disagreements": sorted(gold.disagreements),
                "skipped": gold.skipped,
                "pull": pull,
                **extra,
            },
        )
    return version, True


def _already_written(store: Store, pull: str, name: str, digest: str) -> str | None:
    """The round's newest adjudication, if it holds the same gold of the same pull."""
    for version in reversed(store.version_names()):
        manifest = store.manifest(version)
        if manifest.kind == "adjudicate" and manifest.extra.get("round") == name:
            same = manifest.extra.get("gold_sha256") == digest
            # gold written before lineage became a line names its pull as its parent
            made_from = manifest.extra.get("pull", manifest.parent)
            return version if same and made_from == pull else None
    return None

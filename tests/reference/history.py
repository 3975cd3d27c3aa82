"""The reference model of a whole history: ingests, rounds, annotations, pulls, gold.

What the differential test (``tests/test_differential.py``) compares the real code with.
It keeps the history as plain lists and dicts -- which documents were ingested and which
planted near-duplicate links they have, which round sent which documents, every annotation
Label Studio holds (edits overwrite in place, as Community does) and the export each pull
read -- and answers, from the README's sentences, what the real code must have produced:

* :meth:`History.components`: a document's near-duplicate component is every document
  reachable through planted links (exact copies, near copies, a later document close to
  two earlier groups); which documents are linked is decided by how the texts were made,
  not by any MinHash.
* :meth:`History.expected_rows`: the annotation and span rows a pull stores from an export.
* :meth:`History.eligible`: the documents a new default round may sample.
* votes and gold: the per-rule references in this package (``votes``, ``spans``, ``gold``,
  ``neardup``, ``sampling``, ``mapping``) once they exist; :func:`latest_votes` until then.

Plain Python, quadratic where that is clearer; imports nothing from ``corpus``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Link = tuple[str, str]


@dataclass
class Planted:
    """How a document's text was made: ``family`` names the texts it may be close to."""

    doc_id: str
    family: str  # e.g. "base3" (near copies of one text) or "trio1" (a bridged trio)
    part: str  # "v0", "v1", ... for near copies; "A", "B", "C" for a trio
    batch: int


@dataclass
class Annotation:
    """One annotation as Label Studio holds it (an edit changes it in place)."""

    id: int
    task_id: int
    doc_id: str
    user: int
    result: list[dict[str, Any]]
    was_cancelled: bool
    created_at: int  # a tick of the history's clock
    updated_at: int
    lead_time: float | None
    ground_truth: bool = False


@dataclass
class Round:
    name: str
    version: str
    doc_ids: list[str]
    tasks: dict[str, int]  # doc_id -> task id
    strategy: str = "random"
    annotations: list[Annotation] = field(default_factory=list)
    pulled: list[list[dict[str, Any]]] = field(default_factory=list)  # exports pulled, in order


def linked(a: Planted, b: Planted) -> bool:
    """Whether two documents' texts are near duplicates by construction.

    Near copies of one text differ in their last word only (Jaccard of word 5-shingles
    above 0.95); a trio's C shares 80 % of its shingles with A and with B, while A and B
    share 60 % (too few to be near duplicates).
    """
    if a.family != b.family:
        return False
    if a.family.startswith("trio"):
        return a.part == b.part or "C" in (a.part, b.part)
    return True


@dataclass
class History:
    """Everything that happened, in order."""

    docs: dict[str, Planted] = field(default_factory=dict)
    rounds: list[Round] = field(default_factory=list)
    gold_rounds: list[str] = field(default_factory=list)  # rounds adjudicated, in order

    def add_doc(self, planted: Planted) -> None:
        self.docs.setdefault(planted.doc_id, planted)

    def components(self) -> dict[str, frozenset[str]]:
        """doc_id -> every document linked to it, directly or through others."""
        ids = sorted(self.docs)
        comp: dict[str, frozenset[str]] = {}
        for d in ids:
            if d in comp:
                continue
            seen, todo = {d}, [d]
            while todo:
                x = todo.pop()
                for y in ids:
                    if y not in seen and linked(self.docs[x], self.docs[y]):
                        seen.add(y)
                        todo.append(y)
            members = frozenset(seen)
            for x in members:
                comp[x] = members
        return comp

    def round(self, name: str) -> Round:
        return next(r for r in self.rounds if r.name == name)

    def sent(self) -> set[str]:
        return {d for r in self.rounds for d in r.doc_ids}

    def eligible(self) -> set[str]:
        """README: a round samples only documents that no earlier round sent, nor a
        near-duplicate of one, and that have no gold (gold documents were all sent)."""
        comp = self.components()
        sent = self.sent()
        return {d for d in self.docs if not comp[d] & sent}


def _region_key(item: dict[str, Any]) -> str:
    if item.get("id"):
        return f"id:{item['id']}"
    value = item.get("value") or {}
    return f"at:{value.get('start')}:{value.get('end')}"


def expected_rows(
    export: list[dict[str, Any]], texts: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The annotation rows and span rows a pull stores from ``export`` (user ids, not
    pseudonyms): one annotation row per annotation, skips included (stance empty); one span
    per issue region, its stance the per-region choice with the same result id (the same
    offsets for results without an id)."""
    annotations: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    for task in export:
        doc_id = task["data"]["doc_id"]
        text = texts[doc_id]
        for ann in task["annotations"]:
            stance = None
            regions: dict[str, dict[str, Any]] = {}
            region_stance: dict[str, str] = {}
            for item in ann["result"]:
                value = item["value"]
                if item["from_name"] == "stance":
                    stance = value["choices"][0]
                elif item["from_name"] == "issue":
                    regions[_region_key(item)] = {
                        "start": value["start"],
                        "end": value["end"],
                        "text": text[value["start"] : value["end"]],
                        "issue": value["labels"][0],
                        "region_id": item.get("id"),
                    }
                elif item["from_name"] == "span_stance":
                    region_stance[_region_key(item)] = value["choices"][0]
            for key, region in regions.items():
                spans.append(
                    {
                        "doc_id": doc_id,
                        "user": ann["completed_by"],
                        "annotation_id": ann["id"],
                        **region,
                        "stance": region_stance.get(key),
                    }
                )
            annotations.append(
                {
                    "doc_id": doc_id,
                    "user": ann["completed_by"],
                    "annotation_id": ann["id"],
                    "task_id": task["id"],
                    "stance": None if ann["was_cancelled"] else stance,
                    "cancelled": ann["was_cancelled"],
                    "ground_truth": ann["ground_truth"],
                    "lead_time": ann["lead_time"],
                    "created_at": ann["created_at"],
                    "updated_at": ann["updated_at"],
                    "n_spans": len(regions),
                }
            )
    return annotations, spans


def latest_votes(annotations: list[dict[str, Any]]) -> dict[tuple[str, Any], int]:
    """README (Agreement, Adjudication): an annotator's vote on a document is their latest
    annotation that is not a skip (latest by ``updated_at``, then annotation id).
    (doc_id, annotator) -> annotation id."""
    best: dict[tuple[str, Any], dict[str, Any]] = {}
    for a in annotations:
        if a["cancelled"]:
            continue
        key = (a["doc_id"], a["user"])
        old = best.get(key)
        if old is None or (a["updated_at"], a["annotation_id"]) > (
            old["updated_at"],
            old["annotation_id"],
        ):
            best[key] = a
    return {k: a["annotation_id"] for k, a in best.items()}

"""The reference model of a whole history: ingests, rounds, annotations, pulls, gold.

What the differential test (``tests/test_differential.py``) compares the real code with.
It keeps the history as plain lists and dicts -- which documents were ingested and which
planted near-duplicate links they have, which round sent which documents, every annotation
Label Studio holds (edits overwrite in place, as Community does) and the export each pull
read -- and answers, from docs/concepts/rounds.md's sentences, what the real code must have
produced:

* :meth:`History.components`: a document's near-duplicate component is every document
  reachable through planted links (exact copies, near copies, a later document close to
  two earlier groups); which documents are linked is decided by how the texts were made,
  not by any MinHash.
* :func:`expected_rows`: the annotation and span rows a pull stores from an export.
* :meth:`History.candidates`: the documents a new default round may sample
  (``reference.sampling`` over the planted components).
* votes and gold come from the per-rule references of this package: ``votes`` (which
  annotation votes), ``spans`` (a document's gold stance and spans).

Plain Python, quadratic where that is clearer; imports nothing from ``corpus``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reference.sampling import candidates


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
    pulled_under: list[int] = field(default_factory=list)  # the store's schema at each pull
    schema_version: int = 1  # the label schema the round was made under


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
    gold_docs: set[str] = field(default_factory=set)  # documents with gold
    gold: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # round -> gold rows

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

    def candidates(self, gold: set[str]) -> set[str]:
        """The documents a new default round may sample (docs/concepts/rounds.md, Annotation
        rounds)."""
        return candidates(self.components(), self.sent(), gold)


def expected_rows(
    export: list[dict[str, Any]], texts: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
    """(annotation rows, span rows, annotation id of each rejected item) a pull stores from
    ``export``, with user ids for pseudonyms.

    docs/concepts/rounds.md (Annotation rounds, pull): one annotation row per annotation, skips
    included (stance empty); "per-span stance grouped with its span by result id; results without an
    id (API clients, ML backends) are grouped by offsets: each issue label is a span of its
    own, even at the same offsets as another, and a span stance belongs to the one span at
    exactly its offsets (none or several there: rejected)". The same span given twice is one
    span; a second, different stance for one span is rejected.
    """
    annotations: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    rejected: list[int] = []
    for task in export:
        doc_id = task["data"]["doc_id"]
        text = texts[doc_id]
        for ann in task["annotations"]:
            stance = None
            regions: list[dict[str, Any]] = []
            stance_items: list[dict[str, Any]] = []
            for item in ann["result"]:
                value = item["value"]
                if item["from_name"] == "stance":
                    stance = value["choices"][0]
                elif item["from_name"] == "issue":
                    region = {
                        "start": value["start"],
                        "end": value["end"],
                        "text": text[value["start"] : value["end"]],
                        "issue": value["labels"][0],
                        "region_id": item.get("id"),
                        "stance": None,
                    }
                    if region not in regions:
                        regions.append(region)
                elif item["from_name"] == "span_stance":
                    stance_items.append(item)
            decided: dict[int, str] = {}
            for item in stance_items:
                value, choice = item["value"], item["value"]["choices"][0]
                if item.get("id"):
                    there = [i for i, r in enumerate(regions) if r["region_id"] == item["id"]]
                else:
                    there = [
                        i
                        for i, r in enumerate(regions)
                        if (r["start"], r["end"]) == (value["start"], value["end"])
                    ]
                if len(there) != 1 or decided.get(there[0], choice) != choice:
                    rejected.append(ann["id"])
                    continue
                decided[there[0]] = choice
                regions[there[0]]["stance"] = choice
            for region in regions:
                spans.append(
                    {
                        "doc_id": doc_id,
                        "user": ann["completed_by"],
                        "annotation_id": ann["id"],
                        **region,
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
    return annotations, spans, rejected

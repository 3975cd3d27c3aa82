"""The pure core of adjudication: gold labels from several annotators' answers.

Nothing here touches disk or network; inputs are rows of the ``annotations`` and ``spans``
tables (:class:`~corpus.models.AnnotationRow`, :class:`~corpus.models.SpanAnnotation`, as
mappings) and the documents' texts. The rules of ``majority``:

* **Who votes.** The rule of :mod:`corpus.labels.votes` (one vote per annotator and
  document; skips never vote), the same votes agreement counts. An annotator who only
  skipped a document is not one of its annotators; a document every annotator skipped gets
  no gold row (it is listed in ``skipped``).
* **Document stance.** The label with the most votes (:func:`corpus.labels.spans.plurality`,
  the rule a span's stance uses too). A tie for the most votes leaves the
  stance unresolved (``stance`` null, ``decided_by`` "unresolved", listed in ``unresolved``
  with the tied counts). ``decided_by`` is "unanimous" when every annotator of the document
  gave that label, else "majority". ``votes`` is votes for the gold label over valid votes
  ("2/3"); ``annotators``/``annotation_ids`` are those who voted for it (everyone who voted,
  when unresolved).
* **Spans, boundaries, span stance.** The rule of :mod:`corpus.labels.spans` (one run of
  characters marked by at least half of the document's annotators gives one gold span).
  ``support`` is "annotators with a span overlapping the run / annotators". A span is
  "unanimous" when every annotator of the document marked exactly the gold boundary with the
  same span stance, else "majority"; a span-stance tie is listed in ``unresolved``.
* **Disagreements** (what ``review`` sends to a curator): a stance that is not unanimous,
  a pair of annotators whose span sets agree less than ``span_agreement`` (character-level
  Jaccard over (issue, character) pairs; default 1.0 = any difference), or a kept span
  whose annotators gave different span stances.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from corpus.adjudication.spans import decide_spans, span_agreement_of
from corpus.adjudication.votes import Adjudication, DocumentVotes, Row, Unresolved
from corpus.labels.spans import Mark, plurality
from corpus.labels.votes import voting_annotations
from corpus.labelstudio.config import ISSUE, SPAN_STANCE, STANCE, TEXT
from corpus.models import GoldAnnotation, GoldSpan


def documents(
    annotations: Iterable[Row], spans: Iterable[Row], texts: Mapping[str, str]
) -> tuple[list[DocumentVotes], list[str]]:
    """Group rows of one round by document: (documents with votes, documents all skipped)."""
    rows = list(annotations)
    rounds = {r["round"] for r in rows}
    if len(rounds) > 1:
        raise ValueError(f"rows of several rounds given: {sorted(rounds)}")
    round_name = rounds.pop() if rounds else ""
    voting = voting_annotations(rows)
    used = {int(r["annotation_id"]) for chosen in voting.values() for r in chosen.values()}
    marks: dict[int, dict[tuple[int, int, str], Mark]] = defaultdict(dict)
    for s in spans:
        ann_id = int(s["annotation_id"])
        if ann_id not in used:
            continue
        key = (int(s["start"]), int(s["end"]), str(s["issue"]))
        old = marks[ann_id].get(key)
        if old is None or (old.stance is None and s["stance"] is not None):
            marks[ann_id][key] = Mark(s["annotator"], ann_id, *key, s["stance"])
    docs, skipped = [], []
    for doc_id in sorted(voting):
        chosen = voting[doc_id]
        if not chosen:
            skipped.append(doc_id)
            continue
        if doc_id not in texts:
            raise ValueError(f"no text given for document {doc_id}")
        per = {
            who: sorted(marks[int(row["annotation_id"])].values(), key=lambda m: m[2:5])
            for who, row in sorted(chosen.items())
        }
        docs.append(
            DocumentVotes(doc_id, round_name, texts[doc_id], dict(sorted(chosen.items())), per)
        )
    return docs, skipped


def majority(
    annotations: Iterable[Row],
    spans: Iterable[Row],
    texts: Mapping[str, str],
    *,
    span_agreement: float = 1.0,
) -> Adjudication:
    """Gold stance and spans of one round by majority vote (rules in the module docstring)."""
    docs, skipped = documents(annotations, spans, texts)
    return decide(docs, skipped, span_agreement=span_agreement)


def decide(
    docs: Iterable[DocumentVotes], skipped: Sequence[str] = (), *, span_agreement: float = 1.0
) -> Adjudication:
    """:func:`majority` on documents already grouped by :func:`documents`."""
    if not 0.0 <= span_agreement <= 1.0:
        raise ValueError(f"span_agreement must be within 0..1, not {span_agreement}")
    out = Adjudication(skipped=list(skipped))
    for doc in docs:
        gold, unresolved = decide_stance(doc)
        out.gold_annotations.append(gold)
        out.unresolved.extend(unresolved)
        gold_spans, span_unresolved, span_reasons = decide_spans(doc)
        out.gold_spans.extend(gold_spans)
        out.unresolved.extend(span_unresolved)
        reasons = []
        if gold.decided_by != "unanimous":
            reasons.append(f"stance not unanimous ({_tally(doc)})")
        agreement = span_agreement_of(doc)
        if agreement < span_agreement:
            reasons.append(f"span agreement {agreement:.2f} < {span_agreement:g}")
        reasons.extend(span_reasons)
        if reasons:
            out.disagreements[doc.doc_id] = reasons
    return out


def _tally(doc: DocumentVotes) -> str:
    counts = Counter(r["stance"] or "no stance" for r in doc.annotations.values())
    return ", ".join(
        f"{label} {n}" for label, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    )


def decide_stance(doc: DocumentVotes) -> tuple[GoldAnnotation, list[Unresolved]]:
    votes = {who: r["stance"] for who, r in doc.annotations.items() if r["stance"] is not None}
    vote = plurality(votes.values())
    top = max(vote.counts.values(), default=0)
    stance = vote.label
    if stance is not None:
        decided = "unanimous" if top == doc.n else "majority"
        voters = sorted(who for who, label in votes.items() if label == stance)
        unresolved = []
    else:
        decided, voters = "unresolved", sorted(votes)
        why = f"stance tie: {_tally(doc)}" if vote.counts else "no annotator gave a stance"
        unresolved = [Unresolved(doc.doc_id, why)]
    gold = GoldAnnotation(
        doc_id=doc.doc_id,
        round=doc.round,
        stance=stance,
        decided_by=decided,
        votes=f"{top}/{len(votes)}",
        annotators=voters,
        annotation_ids=[int(doc.annotations[w]["annotation_id"]) for w in voters],
        schema_version=doc.schema_version,
    )
    return gold, unresolved


def reviewed(
    doc: DocumentVotes, curator: Row, curator_spans: Iterable[Row]
) -> tuple[GoldAnnotation, list[GoldSpan]]:
    """Gold from a curator's annotation; votes and support still count the annotators."""
    stance = curator["stance"]
    who, ann_id = str(curator["annotator"]), int(curator["annotation_id"])
    votes = [r["stance"] for r in doc.annotations.values() if r["stance"] is not None]
    gold = GoldAnnotation(
        doc_id=doc.doc_id,
        round=doc.round,
        stance=stance,
        decided_by="review",
        votes=f"{votes.count(stance)}/{len(votes)}",
        annotators=[who],
        annotation_ids=[ann_id],
        schema_version=curator.get("schema_version"),
    )
    every = [m for ms in doc.marks.values() for m in ms]
    seen: dict[tuple[int, int, str], str | None] = {}
    for s in curator_spans:
        key = (int(s["start"]), int(s["end"]), str(s["issue"]))
        if seen.get(key) is None:
            seen[key] = s["stance"]
    spans = []
    for (start, end, issue), span_stance in sorted(seen.items()):
        marked = {
            m.annotator for m in every if m.issue == issue and m.start < end and start < m.end
        }
        spans.append(
            GoldSpan(
                doc_id=doc.doc_id,
                round=doc.round,
                start=start,
                end=end,
                text=doc.text[start:end],
                issue=issue,
                stance=span_stance,
                decided_by="review",
                support=f"{len(marked)}/{doc.n}",
                annotators=[who],
                annotation_ids=[ann_id],
                schema_version=curator.get("schema_version"),
            )
        )
    return gold, spans


def predictions(doc: DocumentVotes) -> list[dict[str, Any]]:
    """One Label Studio prediction per annotator (``model_version`` = the pseudonym).

    Each holds the annotator's document stance, issue spans and per-span stances; a span
    and its stance share a region id so the UI shows them as one region.
    """
    out = []
    for who, row in doc.annotations.items():
        result: list[dict[str, Any]] = []
        if row["stance"] is not None:
            result.append(
                {
                    "from_name": STANCE,
                    "to_name": TEXT,
                    "type": "choices",
                    "value": {"choices": [row["stance"]]},
                }
            )
        for i, m in enumerate(doc.marks[who]):
            where = {"start": m.start, "end": m.end, "text": doc.text[m.start : m.end]}
            region = f"{who}-{i}"
            result.append(
                {
                    "id": region,
                    "from_name": ISSUE,
                    "to_name": TEXT,
                    "type": "labels",
                    "value": {**where, "labels": [m.issue]},
                }
            )
            if m.stance is not None:
                result.append(
                    {
                        "id": region,
                        "from_name": SPAN_STANCE,
                        "to_name": TEXT,
                        "type": "choices",
                        "value": {**where, "choices": [m.stance]},
                    }
                )
        out.append({"model_version": who, "result": result})
    return out

"""The pull converter (corpus.rounds.convert.validate_task) on plain export JSON: how results
with and without a region id are grouped into spans (docs/concepts/rounds.md, annotation rounds,
**pull**: "results without an id (API clients, ML backends) are grouped by offsets: each issue label
is a span of its own, even at the same offsets as another, and a span stance belongs to the one
span at exactly its offsets (none or several there: rejected)")."""

from __future__ import annotations

import hashlib
from typing import Any

from corpus.label_schema import AnnotationSchema
from corpus.labelstudio.config import ISSUE, SPAN_STANCE, STANCE, TEXT
from corpus.rounds.convert import StoredDoc, Validated, validate_task

DOC = "Tariffs on steel and tariffs on soybeans hurt farmers."
SHA = hashlib.sha256(DOC.encode()).hexdigest()


def region(
    name: str, kind: str, start: int, end: int, labels: dict[str, list[str]], region_id: str | None
) -> dict[str, Any]:
    where = {"start": start, "end": end, "text": DOC[start:end]}
    item = {"from_name": name, "to_name": TEXT, "type": kind, "value": {**where, **labels}}
    return item if region_id is None else {"id": region_id, **item}


def labels(start: int, end: int, issue: str, region_id: str | None = None) -> dict[str, Any]:
    return region(ISSUE, "labels", start, end, {"labels": [issue]}, region_id)


def span_stance(start: int, end: int, choice: str, region_id: str | None = None) -> dict[str, Any]:
    return region(SPAN_STANCE, "choices", start, end, {"choices": [choice]}, region_id)


def convert(schema: AnnotationSchema, *result: dict[str, Any]) -> Validated:
    stance = {"from_name": STANCE, "to_name": TEXT, "type": "choices"}
    task = {
        "id": 7,
        "data": {TEXT: DOC, "doc_id": "d1", "text_sha256": SHA},
        "annotations": [
            {
                "id": 70,
                "completed_by": 1,
                "was_cancelled": False,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "result": [{**stance, "value": {"choices": [schema.stance_names[0]]}}, *result],
            }
        ],
    }
    return validate_task(
        task,
        docs={"d1": StoredDoc(DOC, SHA)},
        schema=schema,
        round_name="r",
        who=lambda user: f"ann-{user}",
        predicted={},
    )


def spans_of(out: Validated) -> list[tuple[int, int, str, str | None]]:
    return sorted((s["start"], s["end"], s["issue"], s["stance"]) for s in out.spans)


def test_case_4_idless_regions_at_the_same_offsets_with_different_labels(
    schema: AnnotationSchema,
) -> None:
    """issue 18 case 4: two id-less regions at the same offsets with different labels are
    two spans, not collapsed into one."""
    a, b = schema.issue_names[:2]
    out = convert(schema, labels(0, 16, a), labels(0, 16, b))
    assert spans_of(out) == sorted([(0, 16, a, None), (0, 16, b, None)])
    assert out.annotations[0]["n_spans"] == 2 and out.rejects == []


def test_case_4_idless_span_stance_that_fits_two_spans_is_rejected(
    schema: AnnotationSchema,
) -> None:
    """issue 18 case 4: an id-less span stance at offsets where two spans lie cannot be
    attributed to one: it is rejected with its reason, the spans are kept without it."""
    a, b = schema.issue_names[:2]
    choice = schema.span_stance_names[0]
    out = convert(schema, labels(0, 16, a), labels(0, 16, b), span_stance(0, 16, choice))
    assert spans_of(out) == sorted([(0, 16, a, None), (0, 16, b, None)])
    (reject,) = out.rejects
    assert "cannot be attributed to one span" in reject.reason and "2 issue spans" in reject.reason
    assert (reject.task_id, reject.doc_id, reject.annotation_id) == (7, "d1", 70)
    assert reject.item is not None and choice in reject.item


def test_idless_span_stance_belongs_to_the_one_span_at_its_offsets(
    schema: AnnotationSchema,
) -> None:
    a, b = schema.issue_names[:2]
    yes, no = schema.span_stance_names[:2]
    out = convert(
        schema,
        labels(0, 16, a),
        span_stance(0, 16, yes),
        labels(21, 40, b),
        span_stance(21, 40, no),
        labels(0, 40, a, region_id="r1"),  # an id-less stance may belong to a span with an id
        span_stance(0, 40, yes),
    )
    assert spans_of(out) == sorted([(0, 16, a, yes), (0, 40, a, yes), (21, 40, b, no)])
    assert out.rejects == []


def test_idless_span_stance_without_a_span_is_rejected(schema: AnnotationSchema) -> None:
    a = schema.issue_names[0]
    out = convert(schema, labels(0, 16, a), span_stance(0, 17, schema.span_stance_names[0]))
    assert spans_of(out) == [(0, 16, a, None)]
    assert [r.reason for r in out.rejects] == ["span stance without its span"]


def test_results_with_an_id_are_grouped_by_id(schema: AnnotationSchema) -> None:
    a, b = schema.issue_names[:2]
    yes, no = schema.span_stance_names[:2]
    out = convert(
        schema,
        labels(0, 16, a, region_id="x"),
        labels(0, 16, b, region_id="y"),
        span_stance(0, 16, no, region_id="y"),
        span_stance(0, 16, yes, region_id="x"),
        span_stance(0, 16, yes, region_id="gone"),
    )
    assert spans_of(out) == sorted([(0, 16, a, yes), (0, 16, b, no)])
    assert [r.reason for r in out.rejects] == ["span stance without its span"]


def test_repeats_and_conflicts(schema: AnnotationSchema) -> None:
    a, b = schema.issue_names[:2]
    yes, no = schema.span_stance_names[:2]
    out = convert(
        schema,
        labels(0, 16, a),
        labels(0, 16, a),  # the same id-less span twice: one span
        span_stance(0, 16, yes),
        span_stance(0, 16, yes),  # the same stance again: fine
        span_stance(0, 16, no),  # a different one: rejected, the first kept
        labels(21, 40, a, region_id="z"),
        labels(22, 40, b, region_id="z"),  # another span under a used id: rejected
    )
    assert spans_of(out) == [(0, 16, a, yes), (21, 40, a, None)]
    reasons = [r.reason for r in out.rejects]
    assert len(reasons) == 2
    assert "a second issue span with region id 'z'" in reasons[0]
    assert "a second, different span stance for one span ('supportive' kept)" in reasons[1]

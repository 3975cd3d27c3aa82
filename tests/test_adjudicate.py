"""Adjudication: the pure majority rules on hand-made rows, the store edge, and the review
project against the real Label Studio server (tests marked ``studio``)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import write_article
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from corpus.adjudication import (
    DocumentVotes,
    Mark,
    adjudicate,
    boundary,
    documents,
    load_review,
    majority,
    predictions,
    pull_review,
    review_title,
    reviewed,
    start_review,
)
from corpus.cli import app
from corpus.errors import RoundError
from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient, StudioInfo
from corpus.models import AnnotationRow, SpanAnnotation
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds import pull_round, start_round
from corpus.rounds.pull import write_pull_version
from corpus.rounds.state import RoundSettings, RoundState, load_round, save_round
from corpus.store import Store

runner = CliRunner()
TEXT = "The trade talks went well. Export controls on chips remain a worry for both sides."


def ann(
    who: str,
    stance: str | None,
    ann_id: int,
    *,
    doc: str = "d1",
    cancelled: bool = False,
    updated: str = "2025-01-01T00:00:00Z",
    rnd: str = "r",
) -> dict[str, Any]:
    return AnnotationRow(
        doc_id=doc,
        round=rnd,
        annotator=who,
        annotation_id=ann_id,
        task_id=1,
        stance=None if cancelled else stance,
        cancelled=cancelled,
        ground_truth=False,
        lead_time=None,
        created_at=updated,
        updated_at=updated,
        n_spans=0,
    ).model_dump()


def span(
    who: str,
    ann_id: int,
    start: int,
    end: int,
    issue: str = "trade",
    stance: str | None = None,
    *,
    doc: str = "d1",
    text: str = TEXT,
) -> dict[str, Any]:
    return SpanAnnotation(
        doc_id=doc,
        round="r",
        annotator=who,
        annotation_id=ann_id,
        region_id=None,
        start=start,
        end=end,
        text=text[start:end],
        issue=issue,
        stance=stance,
        from_prediction=False,
    ).model_dump()


def at(phrase: str) -> tuple[int, int]:
    start = TEXT.index(phrase)
    return start, start + len(phrase)


TRADE = at("trade talks")
CHIPS = at("Export controls on chips")


# --- the pure rules -------------------------------------------------------------------------


def test_stance_by_majority_and_unanimous() -> None:
    rows = [
        ann("a", "opposed", 1),
        ann("b", "opposed", 2),
        ann("c", "neutral", 3),
        *(ann(w, "supportive", i, doc="d2") for w, i in (("a", 4), ("b", 5), ("c", 6))),
    ]
    out = majority(rows, [], {"d1": TEXT, "d2": TEXT})
    d1, d2 = out.gold_annotations
    assert (d1.stance, d1.decided_by, d1.votes) == ("opposed", "majority", "2/3")
    assert d1.annotators == ["a", "b"] and d1.annotation_ids == [1, 2]
    assert (d2.stance, d2.decided_by, d2.votes) == ("supportive", "unanimous", "3/3")
    assert d2.annotators == ["a", "b", "c"]
    assert (
        list(out.disagreements) == ["d1"] and "stance not unanimous" in out.disagreements["d1"][0]
    )
    assert out.unresolved == []


def test_tie_is_unresolved_and_skips_do_not_vote() -> None:
    rows = [
        ann("a", "opposed", 1),
        ann("b", "neutral", 2),
        ann("c", None, 3, cancelled=True),
        ann("a", "opposed", 4, doc="d2"),
        ann("b", "opposed", 5, doc="d2"),
        ann("c", None, 6, doc="d2", cancelled=True),
        ann("a", None, 7, doc="d3", cancelled=True),
    ]
    out = majority(rows, [], {"d1": TEXT, "d2": TEXT, "d3": TEXT})
    tie, two = out.gold_annotations
    assert (tie.stance, tie.decided_by, tie.votes) == (None, "unresolved", "1/2")
    assert tie.annotators == ["a", "b"]
    assert [(u.doc_id, u.span) for u in out.unresolved] == [("d1", None)]
    assert "tie" in out.unresolved[0].reason and "neutral 1" in out.unresolved[0].reason
    # c skipped d2: the two who answered agree, so it is unanimous
    assert (two.stance, two.decided_by, two.votes) == ("opposed", "unanimous", "2/2")
    assert out.skipped == ["d3"] and "d3" not in {g.doc_id for g in out.gold_annotations}
    assert set(out.disagreements) == {"d1"}


def test_latest_answer_of_an_annotator_votes() -> None:
    rows = [
        ann("a", "opposed", 1, updated="2025-01-01"),
        ann("a", "neutral", 2, updated="2025-02-01"),
        ann("b", "neutral", 3),
        ann("b", None, 4, cancelled=True, updated="2025-03-01"),
    ]
    spans = [span("a", 1, *TRADE), span("a", 2, *CHIPS, "export_controls_technology")]
    out = majority(rows, spans, {"d1": TEXT})
    (gold,) = out.gold_annotations
    assert (gold.stance, gold.decided_by, gold.annotation_ids) == ("neutral", "unanimous", [2, 3])
    assert [s.issue for s in out.gold_spans] == ["export_controls_technology"]  # 1 of 2 = half


def test_span_kept_with_two_of_three_dropped_with_one() -> None:
    rows = [ann(w, "neutral", i) for w, i in (("a", 1), ("b", 2), ("c", 3))]
    spans = [
        span("a", 1, *TRADE),
        span("b", 2, *TRADE),
        span("c", 3, *CHIPS, "export_controls_technology"),
    ]
    out = majority(rows, spans, {"d1": TEXT})
    (kept,) = out.gold_spans
    assert (kept.start, kept.end, kept.text, kept.issue) == (*TRADE, "trade talks", "trade")
    assert (kept.support, kept.decided_by, kept.annotators) == ("2/3", "majority", ["a", "b"])
    assert kept.annotation_ids == [1, 2]
    assert "span agreement 0.00 < 1" in out.disagreements["d1"]


def test_same_text_with_another_label_is_another_span() -> None:
    rows = [ann(w, "neutral", i) for w, i in (("a", 1), ("b", 2), ("c", 3))]
    spans = [span("a", 1, *TRADE), span("b", 2, *TRADE, "human_rights")]
    assert majority(rows, spans, {"d1": TEXT}).gold_spans == []


def test_boundary_most_marked_wins() -> None:
    rows = [ann(w, "neutral", i) for w, i in (("a", 1), ("b", 2), ("c", 3))]
    wide = (TRADE[0], TRADE[1] + 5)
    spans = [span("a", 1, *TRADE), span("b", 2, *TRADE), span("c", 3, *wide)]
    (gold,) = majority(rows, spans, {"d1": TEXT}).gold_spans
    assert (gold.start, gold.end, gold.support, gold.annotators) == (*TRADE, "3/3", ["a", "b", "c"])
    assert gold.decided_by == "majority"  # c's boundary differs


def marks(*bounds: tuple[int, int]) -> list[Mark]:
    return [Mark(f"w{i}", i, s, e, "trade", None) for i, (s, e) in enumerate(bounds)]


def test_boundary_ties_go_to_the_most_marked_characters_then_earliest_start() -> None:
    # [3,5) and [10,12) are marked by two annotators; (3,12) contains both
    assert boundary(marks((0, 5), (3, 12), (10, 20))) == (3, 12)
    # [12,14) is marked by three; (4,15), (10,20) and (12,14) contain it all: earliest start
    assert boundary(marks((0, 6), (4, 15), (10, 20), (12, 14))) == (4, 15)
    # the same start: the shortest
    assert boundary(marks((2, 9), (2, 6))) == (2, 6)


def test_overlapping_spans_chain_and_each_majority_run_is_a_span() -> None:
    """docs/concepts/gold.md "Adjudication", Spans: every run a majority marked in a chain is a gold
    span."""
    rows = [ann(w, "neutral", i) for w, i in (("a", 1), ("b", 2), ("c", 3))]
    spans = [span("a", 1, 0, 10), span("b", 2, 8, 20), span("c", 3, 18, 30)]
    gold = majority(rows, spans, {"d1": TEXT}).gold_spans
    # [8,10) and [18,20) are marked by two of three; b's span reaches both runs, so each
    # run's boundary is the span overlapping only it
    assert [(g.start, g.end, g.support, g.annotators) for g in gold] == [
        (0, 10, "2/3", ["a", "b"]),
        (18, 30, "2/3", ["b", "c"]),
    ]
    # with two annotators every marked character is a majority: one run, one span
    (one,) = majority(rows[:2], spans[:2], {"d1": TEXT}).gold_spans
    assert (one.start, one.end, one.support) == (0, 10, "2/2")


TARIFFS = "Tariffs on steel and tariffs on soybeans hurt farmers."


def test_case_2_majority_gold_keeps_every_span_a_majority_marked() -> None:
    """issue 18 case 2: majority gold drops spans a majority marked. X marks one long span
    over both phrases, Y and Z mark each phrase: gold keeps both phrases (docs/concepts/gold.md
    "Adjudication", Spans), each with the stance its annotators gave it."""
    steel, soy = (0, 16), (21, 40)
    assert TARIFFS[0:16] == "Tariffs on steel" and TARIFFS[21:40] == "tariffs on soybeans"
    rows = [ann(w, "opposed", i) for w, i in (("x", 1), ("y", 2), ("z", 3))]
    spans = [span("x", 1, 0, 40, stance="opposed", text=TARIFFS)]
    for who, i in (("y", 2), ("z", 3)):
        spans += [
            span(who, i, *steel, stance="opposed", text=TARIFFS),
            span(who, i, *soy, stance="supportive", text=TARIFFS),
        ]
    out = majority(rows, spans, {"d1": TARIFFS})
    assert [(g.text, g.stance, g.support, g.decided_by) for g in out.gold_spans] == [
        ("Tariffs on steel", "opposed", "3/3", "majority"),
        ("tariffs on soybeans", "supportive", "3/3", "majority"),
    ]
    reasons = out.disagreements["d1"]
    assert any("span stance differs on 'tariffs on soybeans'" in r for r in reasons)
    assert not any("'Tariffs on steel'" in r for r in reasons)  # all three said opposed
    # a fourth annotator who marked nothing: x's long span still wins no run
    rows.append(ann("w", "opposed", 4))
    spans = [s for s in spans if not (s["annotator"] == "z" and s["start"] == 0)]
    spans = [s for s in spans if not (s["annotator"] == "y" and s["start"] == 21)]
    out = majority(rows, spans, {"d1": TARIFFS})
    assert [(g.text, g.support) for g in out.gold_spans] == [
        ("Tariffs on steel", "2/4"),
        ("tariffs on soybeans", "2/4"),
    ]


def test_span_stance_by_majority_and_tie() -> None:
    rows = [ann(w, "neutral", i) for w, i in (("a", 1), ("b", 2), ("c", 3))]
    spans = [
        span("a", 1, *TRADE, stance="opposed"),
        span("b", 2, *TRADE, stance="opposed"),
        span("c", 3, *TRADE, stance="neutral"),
        span("a", 1, *CHIPS, "export_controls_technology", "opposed"),
        span("b", 2, *CHIPS, "export_controls_technology", "neutral"),
        span("c", 3, *CHIPS, "export_controls_technology"),
    ]
    out = majority(rows, spans, {"d1": TEXT})
    trade, chips = out.gold_spans
    assert (trade.stance, trade.decided_by, trade.support) == ("opposed", "majority", "3/3")
    assert chips.stance is None
    (tie,) = out.unresolved
    assert tie.span == (*CHIPS, "export_controls_technology") and "tie" in tie.reason
    reasons = out.disagreements["d1"]
    assert any("span stance differs on 'trade talks'" in r for r in reasons)
    assert not any("agreement" in r for r in reasons)  # same spans everywhere


def test_unanimous_document_needs_no_review() -> None:
    rows = [ann(w, "mixed", i) for w, i in (("a", 1), ("b", 2), ("c", 3))]
    spans = [span(w, i, *TRADE, stance="supportive") for w, i in (("a", 1), ("b", 2), ("c", 3))]
    out = majority(rows, spans, {"d1": TEXT})
    (gold,) = out.gold_spans
    assert gold.decided_by == "unanimous" and gold.stance == "supportive"
    assert out.disagreements == {} and out.gold_annotations[0].decided_by == "unanimous"


def test_span_agreement_threshold() -> None:
    rows = [ann(w, "mixed", i) for w, i in (("a", 1), ("b", 2))]
    short = (TRADE[0], TRADE[1] - 1)  # 10 of 11 characters
    spans = [span("a", 1, *TRADE), span("b", 2, *short)]
    assert "span agreement 0.91 < 1" in majority(rows, spans, {"d1": TEXT}).disagreements["d1"]
    assert majority(rows, spans, {"d1": TEXT}, span_agreement=0.9).disagreements == {}


def test_misuse_raises_value_error() -> None:
    with pytest.raises(ValueError, match="several rounds"):
        majority([ann("a", "mixed", 1), ann("b", "mixed", 2, rnd="other")], [], {"d1": TEXT})
    with pytest.raises(ValueError, match="no text"):
        majority([ann("a", "mixed", 1)], [], {})
    with pytest.raises(ValueError, match="span_agreement"):
        majority([], [], {}, span_agreement=1.5)


answers = st.lists(
    st.tuples(
        st.sampled_from(["opposed", "neutral", None, "skip"]),
        st.lists(
            st.tuples(
                st.integers(0, 60),
                st.integers(1, 20),
                st.sampled_from(["trade", "human_rights"]),
                st.sampled_from(["opposed", "neutral", None]),
            ),
            max_size=4,
        ),
    ),
    min_size=1,
    max_size=5,
)


@given(answers)
def test_majority_invariants(given_answers: list[Any]) -> None:
    rows, spans = [], []
    for i, (stance, marked) in enumerate(given_answers):
        who = f"w{i}"
        rows.append(ann(who, None if stance == "skip" else stance, i, cancelled=stance == "skip"))
        spans += [span(who, i, s, s + n, issue, st) for s, n, issue, st in marked]
    out = majority(rows, spans, {"d1": TEXT})
    voters = [r for r in rows if not r["cancelled"]]
    assert len(out.gold_annotations) == (1 if voters else 0) and out.skipped == (
        [] if voters else ["d1"]
    )
    for g in out.gold_annotations:
        votes = [r["stance"] for r in voters if r["stance"] is not None]
        if g.stance is None:
            assert g.decided_by == "unresolved" and out.unresolved[0].span is None
        else:
            assert votes.count(g.stance) == max(votes.count(v) for v in votes)
            assert g.votes == f"{votes.count(g.stance)}/{len(votes)}"
    marked_by: dict[tuple[int, int, str], set[str]] = defaultdict(set)
    for s in spans:
        if not next(r for r in rows if r["annotation_id"] == s["annotation_id"])["cancelled"]:
            marked_by[(s["start"], s["end"], s["issue"])].add(s["annotator"])
    for g in out.gold_spans:
        assert marked_by[(g.start, g.end, g.issue)]  # a boundary someone marked
        k, n = map(int, g.support.split("/"))
        assert n == len(voters) and 2 * k >= n and g.text == TEXT[g.start : g.end]
    if len(voters) == 1 or out.disagreements == {}:
        assert all(g.decided_by != "majority" for g in out.gold_annotations)


def three_way() -> DocumentVotes:
    rows = [ann("a", "opposed", 1), ann("b", "neutral", 2), ann("c", "opposed", 3)]
    spans = [
        span("a", 1, *TRADE, stance="opposed"),
        span("b", 2, *CHIPS, "export_controls_technology"),
    ]
    (doc,), _ = documents(rows, spans, {"d1": TEXT})
    return doc


def test_predictions_one_per_annotator() -> None:
    preds = predictions(three_way())
    assert [p["model_version"] for p in preds] == ["a", "b", "c"]
    a = preds[0]["result"]
    assert a[0]["value"] == {"choices": ["opposed"]}
    issue, stance = a[1:]
    assert issue["id"] == stance["id"] and issue["value"]["text"] == "trade talks"
    assert (issue["from_name"], stance["from_name"]) == ("issue", "span_stance")
    assert stance["value"]["choices"] == ["opposed"]
    assert len(preds[1]["result"]) == 2 and len(preds[2]["result"]) == 1


def test_reviewed_gold_keeps_provenance() -> None:
    curator = ann("cur", "neutral", 99)
    gold, spans = reviewed(three_way(), curator, [span("cur", 99, *TRADE, stance="neutral")])
    assert (gold.stance, gold.decided_by, gold.votes) == ("neutral", "review", "1/3")
    assert (gold.annotators, gold.annotation_ids) == (["cur"], [99])
    (s,) = spans
    assert (s.decided_by, s.support, s.stance, s.text) == (
        "review",
        "1/3",
        "neutral",
        "trade talks",
    )


def test_review_title_fits_label_studio() -> None:
    assert review_title("r1", "0123456789ab") == "corpus r1 review · 012345"
    long = review_title("x" * 64, "0123456789ab")
    assert 3 <= len(long) <= 50 and long != review_title("x" * 63, "0123456789ab")
    assert long.endswith(" review · 012345")


# --- the store edge (no server) -------------------------------------------------------------


@pytest.fixture
def articles(tmp_path: Path, store: Store, schema: AnnotationSchema) -> dict[str, str]:
    """Ingested documents: title -> doc_id."""
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Talks", TEXT)
    write_article(folder, "b.txt", "Chips", "Chips and tariffs 😀 were discussed on Monday.")
    write_article(folder, "c.txt", "Quiet", "Nothing happened in the talks at all today.")
    ingest([folder], store=store, schema=schema)
    docs = store.read_table("0.1.0", "documents").to_pylist()
    return {d["title"]: d["doc_id"] for d in docs}


def fake_pull(
    store: Store, name: str, version: str, rows: list[dict[str, Any]], spans: list[dict[str, Any]]
) -> str:
    """A round and its pull, as `corpus round pull` stores them, without Label Studio."""
    doc_ids = sorted({r["doc_id"] for r in rows})
    state = RoundState(
        name=name,
        version=version,
        project_title=f"corpus {name}",
        settings=RoundSettings(sample=None, overlap=3, seed=0),
        doc_ids=doc_ids,
        schema_hash="-",
        label_config_sha256="-",
        model_version="-",
        created="2025-01-01T00:00:00+00:00",
    )
    rows = [{**r, "round": name} for r in rows]
    spans = [{**s, "round": name} for s in spans]
    pulled = write_pull_version(store, version, name, rows, spans, [], None)
    state.pulled_versions.append(pulled)
    save_round(store.root, state)
    return pulled


def test_adjudicate_writes_gold_beside_unchanged_tables(
    store: Store, articles: dict[str, str]
) -> None:
    talks, chips = articles["Talks"], articles["Chips"]
    rows = [
        *(ann(w, "opposed", i, doc=talks) for w, i in (("a", 1), ("b", 2))),
        ann("c", "neutral", 3, doc=talks),
        ann("a", "mixed", 4, doc=chips),
        ann("b", "supportive", 5, doc=chips),
    ]
    spans = [span(w, i, *TRADE, doc=talks) for w, i in (("a", 1), ("b", 2))]
    pulled = fake_pull(store, "r1", "0.1.0", rows, spans)
    result = adjudicate(store, "r1")
    assert result.written and (result.parent, result.version) == (pulled, "0.3.0")
    manifest, parent = store.manifest("0.3.0"), store.manifest(pulled)
    assert manifest.parent == pulled and manifest.kind == "adjudicate"
    for table, info in parent.tables.items():  # raw tables unchanged, shards hard-linked
        assert manifest.tables[table].content_sha256 == info.content_sha256
        for a, b in zip(
            store.table_shards(pulled, table), store.table_shards("0.3.0", table), strict=True
        ):
            assert a.read_bytes() == b.read_bytes() and a.samefile(b)
    gold = store.read_table("0.3.0", "gold_annotations").to_pylist()
    assert {g["doc_id"]: (g["stance"], g["decided_by"]) for g in gold} == {
        talks: ("opposed", "majority"),
        chips: (None, "unresolved"),
    }
    (gold_span,) = store.read_table("0.3.0", "gold_spans").to_pylist()
    assert gold_span["text"] == "trade talks" and gold_span["support"] == "2/3"
    assert store.load("0.3.0", "gold_spans")[0]["annotators"] == ["a", "b"]  # datasets loads it
    extra = manifest.extra
    assert extra["strategy"] == "majority" and extra["round"] == "r1"
    assert [u["doc_id"] for u in extra["unresolved"]] == [chips]  # type: ignore[index]
    # the same gold again: nothing written
    again = adjudicate(store, "r1")
    assert not again.written and again.version == "0.3.0" and store.latest_name() == "0.3.0"


def test_other_rounds_gold_is_kept(store: Store, articles: dict[str, str]) -> None:
    quiet = articles["Quiet"]
    fake_pull(store, "r1", "0.1.0", [ann("a", "neutral", 1, doc=quiet)], [])
    first = adjudicate(store, "r1").version
    assert first == "0.3.0"
    fake_pull(store, "r2", first, [ann("b", "opposed", 2, doc=quiet)], [])
    second = adjudicate(store, "r2").version
    gold = store.read_table(second or "", "gold_annotations").to_pylist()
    assert sorted((g["round"], g["stance"]) for g in gold) == [("r1", "neutral"), ("r2", "opposed")]


def test_errors_are_clear(store: Store, articles: dict[str, str]) -> None:
    with pytest.raises(RoundError, match="no round 'nope'"):
        adjudicate(store, "nope")
    state = RoundState(
        name="fresh",
        version="0.1.0",
        project_title="corpus fresh",
        settings=RoundSettings(sample=None, overlap=1, seed=0),
        doc_ids=[],
        schema_hash="-",
        label_config_sha256="-",
        model_version="-",
        created="2025-01-01T00:00:00+00:00",
    )
    save_round(store.root, state)
    with pytest.raises(RoundError, match="no pulled annotations") as info:
        adjudicate(store, "fresh")
    assert info.value.hint == "Run `corpus round pull fresh` first."
    fake_pull(store, "empty", "0.1.0", [], [])
    with pytest.raises(RoundError, match="no annotations of round 'empty'"):
        adjudicate(store, "empty")
    versions = store.version_names()
    with pytest.raises(RoundError, match="no review project") as info:
        pull_review(None, store, "empty")  # type: ignore[arg-type]
    assert "--strategy review" in info.value.hint and store.version_names() == versions


def test_nothing_to_review_makes_no_project(
    store: Store, schema: AnnotationSchema, articles: dict[str, str]
) -> None:
    quiet = articles["Quiet"]
    fake_pull(store, "calm", "0.1.0", [ann("a", "neutral", 1, doc=quiet)], [])
    result = start_review(None, store, "calm", schema=schema)  # type: ignore[arg-type]
    assert result.project_id is None and result.documents == [] and result.accepted == 1
    assert load_review(store.root, "calm") is None


def test_cli_majority_json_and_errors(store: Store, articles: dict[str, str]) -> None:
    talks = articles["Talks"]
    rows = [ann(w, "opposed", i, doc=talks) for w, i in (("a", 1), ("b", 2))]
    fake_pull(store, "r1", "0.1.0", [*rows, ann("c", "neutral", 3, doc=talks)], [])
    result = runner.invoke(app, ["adjudicate", "r1", "--store", str(store.root), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["version"] == "0.3.0" and out["decided_by"] == {"majority": 1}
    assert list(out["disagreements"]) == [talks]
    again = runner.invoke(app, ["adjudicate", "r1", "--store", str(store.root)])
    assert again.exit_code == 0 and "No change" in again.stdout
    helped = runner.invoke(app, ["adjudicate", "--help"])
    assert helped.exit_code == 0 and "--strategy" in helped.stdout and "--pull" in helped.stdout
    bad = runner.invoke(app, ["adjudicate", "nope", "--store", str(store.root)])
    assert bad.exit_code == 1 and "RoundError" in bad.stderr and "hint" in bad.stderr


# --- against the real Label Studio server ----------------------------------------------------


def stance_item(label: str) -> dict[str, Any]:
    return {
        "from_name": "stance",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [label]},
    }


def span_items(
    text: str, phrase: str, issue: str, region: str, stance: str | None = None
) -> list[dict[str, Any]]:
    start = text.index(phrase)
    value = {"start": start, "end": start + len(phrase), "text": phrase}
    items = [
        {
            "id": region,
            "from_name": "issue",
            "to_name": "text",
            "type": "labels",
            "value": {**value, "labels": [issue]},
        }
    ]
    if stance:
        items.append(
            {
                "id": region,
                "from_name": "span_stance",
                "to_name": "text",
                "type": "choices",
                "value": {**value, "choices": [stance]},
            }
        )
    return items


@pytest.mark.studio
def test_majority_and_review_on_the_server(
    studio_client: StudioClient,
    ls_client: Any,
    studio: StudioInfo,
    store: Store,
    schema: AnnotationSchema,
    tmp_path: Path,
    make_annotator: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "news"
    texts = {
        "Agreed": "The trade talks went well and both sides praised them.",
        "Split": "Export controls on chips remain a worry. Officials met on Monday.",
        "Tied": "Talks on national security ended without 😀 a statement.",
        "Untouched": "Nobody has read this one about tourism yet.",
    }
    for i, (title, body) in enumerate(texts.items()):
        write_article(folder, f"{i}.txt", title, body)
    ingest([folder], store=store, schema=schema)
    docs = {d["title"]: d for d in store.read_table("0.1.0", "documents").to_pylist()}
    pre = KeywordPreAnnotator(schema)
    start_round(
        studio_client, store, "adj", version="0.1.0", schema=schema, preannotator=pre, overlap=3
    )
    state = load_round(store.root, "adj")
    tasks = {t.data["doc_id"]: t.id for t in ls_client.tasks.list(project=state.project_id)}
    a, b, c, curator = (make_annotator(n) for n in ("adj-a", "adj-b", "adj-c", "adj-cur"))

    def annotate(title: str, user: Any, result: list[dict[str, Any]], **kw: Any) -> int:
        made = ls_client.annotations.create(
            id=tasks[docs[title]["doc_id"]], completed_by=user.id, result=result, **kw
        )
        return int(made.id)

    agreed = docs["Agreed"]["text"]
    for user in (a, b, c):
        annotate(
            "Agreed",
            user,
            [
                stance_item("supportive"),
                *span_items(agreed, "trade talks", "trade", "r1", "supportive"),
            ],
        )
    split = docs["Split"]["text"]
    chips = span_items(split, "Export controls", "export_controls_technology", "r1", "opposed")
    annotate("Split", a, [stance_item("opposed"), *chips])
    annotate("Split", b, [stance_item("opposed"), *chips])
    annotate("Split", c, [stance_item("neutral"), *span_items(split, "Monday", "trade", "r2")])
    annotate("Tied", a, [stance_item("opposed")])
    annotate("Tied", b, [stance_item("neutral")])
    annotate("Tied", c, [], was_cancelled=True)
    pulled = pull_round(studio_client, store, "adj", schema=schema, preannotator=pre)
    assert pulled.written and pulled.rejects == []

    # majority: gold beside the raw tables, which stay byte-identical
    result = adjudicate(store, "adj")
    assert result.written and result.parent == pulled.version
    ids = {t: docs[t]["doc_id"] for t in texts}
    gold = {
        g["doc_id"]: g
        for g in store.read_table(result.version or "", "gold_annotations").to_pylist()
    }
    assert (gold[ids["Agreed"]]["decided_by"], gold[ids["Agreed"]]["votes"]) == ("unanimous", "3/3")
    assert (gold[ids["Split"]]["stance"], gold[ids["Split"]]["decided_by"]) == (
        "opposed",
        "majority",
    )
    assert (gold[ids["Tied"]]["stance"], gold[ids["Tied"]]["decided_by"]) == (None, "unresolved")
    assert ids["Untouched"] not in gold
    spans = store.read_table(result.version or "", "gold_spans").to_pylist()
    assert sorted((s["text"], s["support"], s["decided_by"], s["stance"]) for s in spans) == [
        ("Export controls", "2/3", "majority", "opposed"),
        ("trade talks", "3/3", "unanimous", "supportive"),
    ]
    raw = store.manifest(pulled.version).tables
    new = store.manifest(result.version or "").tables
    assert {t: raw[t].content_sha256 for t in raw} == {t: new[t].content_sha256 for t in raw}
    raw_rows = store.read_table(pulled.version, "annotations").to_pylist()
    assert store.read_table(result.version or "", "annotations").to_pylist() == raw_rows
    pseudonyms = {r["annotation_id"]: r["annotator"] for r in raw_rows}
    assert set(gold[ids["Split"]]["annotators"]) == {
        pseudonyms[i] for i in gold[ids["Split"]]["annotation_ids"]
    }

    # review: only the documents in disagreement, one prediction per annotator who answered
    review = start_review(studio_client, store, "adj", schema=schema)
    assert review.documents == sorted([ids["Split"], ids["Tied"]]) and review.imported == 2
    assert review.accepted == 1 and review.created_project
    project = ls_client.projects.get(id=review.project_id)
    assert project.title == f"corpus adj review · {store.store_id()[:6]}"
    listed = {
        t.data["doc_id"]: t for t in ls_client.tasks.list(project=review.project_id, fields="all")
    }
    assert set(listed) == {ids["Split"], ids["Tied"]}
    split_task, tied_task = listed[ids["Split"]], listed[ids["Tied"]]
    assert (
        split_task.data["text"] == split
        and split_task.data["text_sha256"] == docs["Split"]["text_sha256"]
    )
    by_doc = lambda d: {r["annotator"] for r in raw_rows if r["doc_id"] == d and not r["cancelled"]}  # noqa: E731
    assert sorted(p.model_version for p in split_task.predictions) == sorted(by_doc(ids["Split"]))
    assert sorted(p.model_version for p in tied_task.predictions) == sorted(by_doc(ids["Tied"]))
    assert len(tied_task.predictions) == 2  # the skip is not shown
    again = start_review(studio_client, store, "adj", schema=schema)
    assert (again.imported, again.already_there, again.created_project) == (0, 2, False)
    saved = load_review(store.root, "adj")
    assert saved is not None and set(saved.docs) == {ids["Split"], ids["Tied"]}

    # a curator settles the tie; the split document is still pending
    tied = docs["Tied"]["text"]
    decision = ls_client.annotations.create(
        id=tied_task.id,
        completed_by=curator.id,
        result=[
            stance_item("mixed"),
            *span_items(tied, "national security", "national_security", "c1", "neutral"),
        ],
    )
    done = pull_review(studio_client, store, "adj", schema=schema)
    assert done.written and done.reviewed == [ids["Tied"]] and done.pending == [ids["Split"]]
    assert done.rejects == [] and done.archive is not None and done.archive.is_file()
    # lineage is a line: the review's gold derives from the latest version (the majority gold)
    assert done.pull == pulled.version and store.manifest(done.version).parent == result.version
    final = {g["doc_id"]: g for g in store.read_table(done.version, "gold_annotations").to_pylist()}
    settled = final[ids["Tied"]]
    assert (settled["stance"], settled["decided_by"], settled["votes"]) == (
        "mixed",
        "review",
        "0/2",
    )
    assert settled["annotation_ids"] == [decision.id] and settled["annotators"][0].startswith(
        "ann-"
    )
    assert settled["annotators"][0] not in pseudonyms.values()
    assert final[ids["Split"]]["decided_by"] == "majority"
    assert final[ids["Agreed"]]["decided_by"] == "unanimous"
    tied_spans = [
        s
        for s in store.read_table(done.version, "gold_spans").to_pylist()
        if s["doc_id"] == ids["Tied"]
    ]
    assert [(s["text"], s["decided_by"], s["stance"], s["support"]) for s in tied_spans] == [
        ("national security", "review", "neutral", "0/2")
    ]
    assert store.manifest(done.version).extra["pending"] == [ids["Split"]]

    # an annotator changes their answer: the pending task is rebuilt, the reviewed one kept
    annotate("Split", c, [stance_item("supportive")])
    repulled = pull_round(studio_client, store, "adj", schema=schema, preannotator=pre)
    rebuilt = start_review(studio_client, store, "adj", schema=schema)
    assert (rebuilt.replaced, rebuilt.imported, rebuilt.already_there) == (1, 1, 1)
    listed = {
        t.data["doc_id"]: t for t in ls_client.tasks.list(project=review.project_id, fields="all")
    }
    assert listed[ids["Tied"]].id == tied_task.id  # (SQLite may reuse the deleted id)
    who_c = next(
        r["annotator"] for r in raw_rows if r["doc_id"] == ids["Split"] and r["stance"] == "neutral"
    )
    (changed,) = [p for p in listed[ids["Split"]].predictions if p.model_version == who_c]
    assert changed.result == [stance_item("supportive")]
    later = pull_review(studio_client, store, "adj", schema=schema)
    assert later.written and later.pull == repulled.version and later.reviewed == [ids["Tied"]]
    assert later.parent == repulled.version  # nothing was written between the pull and this

    # the CLI: the same decisions again write nothing; the review command prints its URL
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    cli = runner.invoke(app, ["adjudicate", "adj", "--pull", "--store", str(store.root), "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["written"] is False
    cli = runner.invoke(
        app, ["adjudicate", "adj", "--strategy", "review", "--store", str(store.root)]
    )
    assert cli.exit_code == 0, cli.output
    assert (
        f"projects/{review.project_id}/data" in cli.stdout
        and "corpus adjudicate adj --pull" in cli.stdout
    )

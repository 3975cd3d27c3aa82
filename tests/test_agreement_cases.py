"""Agreement counts the votes gold is made of, pairs each span once, resamples documents, and
reports each annotator's agreement with gold (issue 18 cases 3 and 8; docs/concepts/agreement.md,
Agreement)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from corpus.iaa.compute import compute_agreement
from corpus.iaa.span_stance import span_stance_kappa, stance_pairs

STANCES = ["supportive", "opposed", "neutral"]
ISSUES = ["trade", "taiwan"]


def ann(
    doc: str, who: str, stance: str | None, aid: int, when: str = "2026-01-01T10:00:00Z",
    *, cancelled: bool = False,
) -> dict[str, Any]:  # fmt: skip
    return {"doc_id": doc, "annotator": who, "stance": stance, "annotation_id": aid,
            "cancelled": cancelled, "lead_time": 5.0, "created_at": when,
            "updated_at": when}  # fmt: skip


def span(
    doc: str, who: str, aid: int, start: int, end: int, issue: str = "trade",
    stance: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {"doc_id": doc, "annotator": who, "annotation_id": aid, "start": start, "end": end,
            "issue": issue, "stance": stance, "from_prediction": False}  # fmt: skip


def report(rows: list[dict[str, Any]], spans: Sequence[dict[str, Any]] = (), **kw: Any) -> Any:
    docs = {r["doc_id"] for r in rows}
    return compute_agreement(rows, list(spans), lengths=dict.fromkeys(docs, 60),
                             stance_labels=STANCES, issue_labels=ISSUES, **kw)  # fmt: skip


# --- case 3: the votes -------------------------------------------------------------------------


def test_a_later_skip_does_not_erase_the_vote() -> None:
    """Issue 18 case 3: agreement and gold count different votes. a answers, then later skips
    the same task; the answer still votes (as in adjudication), so the document has two
    annotators and a is not counted as having skipped it (docs/concepts/agreement.md, Agreement: "a
    skip is not a vote")."""
    rows = [
        ann("d", "a", "opposed", 1, "2026-01-01T10:00:00Z"),
        ann("d", "a", None, 2, "2026-01-02T10:00:00Z", cancelled=True),
        ann("d", "b", "opposed", 3),
    ]
    r = report(rows, bootstrap=0)
    assert r.multi_annotated == 1
    a = next(x for x in r.per_annotator if x.annotator == "a")
    assert (a.documents, a.skipped) == (1, 0)
    assert r.confusion[1][1] == 2  # the opposed/opposed pair, both directions


def test_equal_times_the_higher_annotation_id_votes_in_agreement() -> None:
    """Issue 18 case 3: two annotations of a with equal updated_at; the higher annotation id
    votes whatever the row order (adjudication's tie-break)."""
    rows = [
        ann("d", "a", "opposed", 7),
        ann("d", "a", "supportive", 3),
        ann("d", "b", "opposed", 9),
    ]
    for order in (rows, rows[::-1]):
        r = report(order, bootstrap=0)
        assert r.confusion[1][1] == 2 and r.confusion[0][1] == 0


def test_skips_still_counted_per_annotator() -> None:
    """A document an annotator only skipped is counted in their "skipped"."""
    rows = [
        ann("d", "a", None, 1, cancelled=True),
        ann("d", "a", None, 2, "2026-01-03T00:00:00Z", cancelled=True),
        ann("e", "a", "neutral", 3),
        ann("d", "b", "neutral", 4),
    ]
    a = next(x for x in report(rows, bootstrap=0).per_annotator if x.annotator == "a")
    assert (a.documents, a.skipped) == (1, 1)


# --- case 8: span stance ---------------------------------------------------------------------


def test_one_long_span_overlapping_three_short_ones_pairs_once() -> None:
    """Issue 18 case 8: span-stance kappa counts one span many times. a marks three short
    trade spans, b one long one over all three: one pair (the tie in overlap goes to the
    earliest), not three. With two more documents the kappa is hand-computed: pairs
    (S,S), (O,S), (O,O) give p_o = 2/3, p_e = 4/9, kappa = 0.4 (docs/concepts/agreement.md,
    Agreement)."""
    spans = [
        span("d1", "a", 1, 0, 10, stance="supportive"),
        span("d1", "a", 1, 15, 25, stance="opposed"),
        span("d1", "a", 1, 30, 40, stance="opposed"),
        span("d1", "b", 2, 0, 40, stance="supportive"),
        span("d2", "a", 3, 0, 10, stance="opposed"),
        span("d2", "b", 4, 0, 10, stance="supportive"),
        span("d3", "a", 5, 0, 10, stance="opposed"),
        span("d3", "b", 6, 5, 10, stance="opposed"),
    ]
    assert stance_pairs(["a", "b"], spans[:4]) == [("supportive", "supportive")]
    assert stance_pairs(["b", "a"], spans[:4]) == [("supportive", "supportive")]
    who = [(d, w) for d in ("d1", "d2", "d3") for w in "ab"]
    rows = [ann(d, w, "neutral", i) for i, (d, w) in enumerate(who, 1)]
    kappa = report(rows, spans, bootstrap=0).span_stance_kappa
    assert kappa.value == pytest.approx(0.4)
    first, second = ["supportive", "opposed", "opposed"], ["supportive", "supportive", "opposed"]
    assert kappa.value == pytest.approx(cohen_kappa_score(first, second))
    assert kappa.n == 3 and "3 span pairs" in (kappa.note or "")


def test_crossing_spans_matched_by_largest_overlap() -> None:
    """Each span at most once, the largest overlap first: a's [10,20] takes b's [5,20] (10
    characters), leaving a's [0,10] to b's [0,6]."""
    spans = [
        span("d", "a", 1, 0, 10, stance="supportive"),
        span("d", "a", 1, 10, 20, stance="opposed"),
        span("d", "b", 2, 5, 20, stance="opposed"),
        span("d", "b", 2, 0, 6, stance="supportive"),
        span("d", "b", 2, 0, 20, issue="taiwan", stance="neutral"),  # another issue: unmatched
    ]
    assert sorted(stance_pairs(["a", "b"], spans)) == [
        ("opposed", "opposed"), ("supportive", "supportive")
    ]  # fmt: skip


def test_span_stance_bootstrap_resamples_documents() -> None:
    """Issue 18 case 8: the bootstrap resamples documents, each with all its pairs
    (docs/concepts/agreement.md, Agreement: "bootstrap 95% interval over documents"). With every
    pair in one document, every resample is that document: the interval is the estimate itself."""
    pairs = [("supportive", "supportive"), ("opposed", "supportive"), ("opposed", "opposed"),
             ("neutral", "neutral")]  # fmt: skip
    one = span_stance_kappa([pairs], np.random.default_rng(0), bootstrap=300, interval="percentile")
    assert one.n == 1 and one.value is not None
    assert one.low == one.value == one.high
    spread = span_stance_kappa([[p] for p in pairs] * 10, np.random.default_rng(0),
                               bootstrap=300, interval="percentile")  # fmt: skip
    assert spread.n == 40 and spread.value == pytest.approx(one.value)
    assert spread.low is not None and spread.high is not None and spread.low < spread.high


def test_span_stance_interval_over_documents_through_the_report() -> None:
    """Issue 18 case 8, through compute_agreement: four matched pairs in a single document
    give an interval equal to the estimate (resampling documents), not a spread (resampling
    pairs)."""
    stances = ["supportive", "opposed", "opposed", "neutral"]
    other = ["supportive", "supportive", "opposed", "neutral"]
    spans = [span("d", "a", 1, 10 * i, 10 * i + 5, stance=s) for i, s in enumerate(stances)]
    spans += [span("d", "b", 2, 10 * i, 10 * i + 5, stance=s) for i, s in enumerate(other)]
    rows = [ann("d", "a", "neutral", 1), ann("d", "b", "neutral", 2)]
    kappa = report(rows, spans, bootstrap=300, interval="percentile").span_stance_kappa
    assert kappa.value == pytest.approx(cohen_kappa_score(stances, other), abs=1e-4)
    assert kappa.n == 1 and kappa.low == kappa.value == kappa.high


# --- agreement with gold -----------------------------------------------------------------------


def gold_row(doc: str, stance: str | None, decided_by: str = "majority") -> dict[str, Any]:
    return {"doc_id": doc, "round": "r", "stance": stance, "decided_by": decided_by}


def gold_span(doc: str, start: int, end: int, issue: str = "trade") -> dict[str, Any]:
    return {"doc_id": doc, "round": "r", "start": start, "end": end, "issue": issue,
            "stance": None}  # fmt: skip


def test_each_annotator_against_gold_hand_computed() -> None:
    """docs/concepts/agreement.md, Agreement ("Agreement with gold"): each annotator's stance
    accuracy and Cohen's kappa against the decided gold stances, and per-label exact and overlap F1
    of their spans against the gold spans, over the documents they voted on that have gold.

    a vs gold on d1..d3 (d4 unresolved): (O,O), (S,S), (S,N): accuracy 2/3; p_o = 2/3,
    p_e = 2/3*1/3 + 1/3*1/3 = 1/3, kappa = 0.5. trade: a's [0,10] equals gold's, [22,30]
    overlaps gold's [20,30]: exact F1 = 2*1/(2+2) = 0.5, overlap F1 = 1. Any issue adds a's
    taiwan span: exact 2*1/(3+2) = 0.4, overlap P = 2/3, R = 1, F1 = 0.8."""
    rows = [
        ann("d1", "a", "opposed", 1), ann("d2", "a", "supportive", 2),
        ann("d3", "a", "supportive", 3), ann("d4", "a", "opposed", 4),
        ann("d1", "b", "opposed", 5), ann("d2", "b", "opposed", 6), ann("d3", "b", "neutral", 7),
    ]  # fmt: skip
    spans = [span("d1", "a", 1, 0, 10), span("d2", "a", 2, 22, 30),
             span("d3", "a", 3, 0, 5, issue="taiwan")]  # fmt: skip
    gold = [gold_row("d1", "opposed", "unanimous"), gold_row("d2", "supportive", "review"),
            gold_row("d3", "neutral"), gold_row("d4", None, "unresolved")]  # fmt: skip
    r = report(rows, spans, bootstrap=200, gold=gold, gold_version="0.3.0", gold_note="gold",
               gold_spans=[gold_span("d1", 0, 10), gold_span("d2", 20, 30)])  # fmt: skip
    assert r.with_gold.available and r.with_gold.gold_version == "0.3.0"
    assert r.with_gold.decided_by == {"majority": 1, "review": 1, "unanimous": 1, "unresolved": 1}
    a, b = r.with_gold.annotators
    assert (a.annotator, a.documents, b.documents) == ("a", 4, 3)
    assert a.stance_accuracy.value == pytest.approx(2 / 3, abs=1e-4)
    assert a.stance_kappa.value == pytest.approx(0.5)
    assert a.stance_kappa.value == pytest.approx(
        cohen_kappa_score(
            ["opposed", "supportive", "supportive"], ["opposed", "supportive", "neutral"]
        )
    )
    assert a.stance_accuracy.n == 3 and a.stance_accuracy.replicates == 200
    by_label = {x.label: x for x in a.span_labels}
    assert (by_label["trade"].spans, by_label["trade"].gold_spans) == (2, 2)
    assert by_label["trade"].exact_f1.value == pytest.approx(0.5)
    assert by_label["trade"].overlap_f1.value == pytest.approx(1.0)
    assert by_label["(any issue)"].exact_f1.value == pytest.approx(0.4)
    assert by_label["(any issue)"].overlap_f1.value == pytest.approx(0.8)
    assert b.stance_accuracy.value == pytest.approx(2 / 3, abs=1e-4)


def test_without_gold_the_report_says_so() -> None:
    """docs/concepts/agreement.md, Agreement: agreement with gold only when the round has gold;
    otherwise the report says why."""
    r = report([ann("d", "a", "opposed", 1), ann("d", "b", "opposed", 2)], bootstrap=0,
               gold_note="round 'r' has no adjudicated gold yet")  # fmt: skip
    assert not r.with_gold.available and "no adjudicated gold" in r.with_gold.note
    from corpus.iaa.report import summary_markdown

    assert "Agreement with gold (after curation)" in summary_markdown(r)
    assert "Not available: round 'r' has no adjudicated gold yet." in summary_markdown(r)


def test_agreement_of_an_adjudicated_round_compares_with_its_gold(
    store: Any, schema: Any, tmp_path: Any
) -> None:
    """docs/concepts/agreement.md, Agreement: `corpus agreement` of an adjudicated round reports
    each annotator against the round's gold (library, JSON and the report's README); gold made from
    an older pull or no gold at all is said, not compared."""
    from conftest import build_gold_version

    from corpus.iaa import agreement, write_report
    from corpus.iaa.report import round_gold
    from corpus.rounds import pulled_round

    gold_version = build_gold_version(store, schema, tmp_path / "articles", n=16)
    report = agreement(store, "sim", schema=schema, bootstrap=120)
    gold = report.with_gold
    assert gold.available and gold.gold_version == gold_version
    assert [a.annotator for a in gold.annotators] == report.annotators
    assert all(a.documents == 16 and a.stance_accuracy.value is not None for a in gold.annotators)
    assert sum(gold.decided_by.values()) == 16
    files = write_report(report, tmp_path / "report")
    text = (tmp_path / "report" / "README.md").read_text(encoding="utf-8")
    assert "## Agreement with gold (after curation)" in text and "stance accuracy" in text
    saved = (tmp_path / "report" / "agreement.json").read_text(encoding="utf-8")
    assert '"with_gold"' in saved
    assert tmp_path / "report" / "agreement_with_gold.png" in files
    pull = pulled_round(store, "sim").version
    assert round_gold(store, "sim", pull).version == gold_version
    assert "run `corpus adjudicate sim` again" in round_gold(store, "sim", "9.9.9").note
    assert "no adjudicated gold yet" in round_gold(store, "other", pull).note
    _cli_shows_agreement_with_gold(store)
    _card_says_agreement_with_gold(store, schema, tmp_path)


def _cli_shows_agreement_with_gold(store: Any) -> None:
    """`corpus agreement` prints the table of each annotator against gold, and --json holds it."""
    import json

    from typer.testing import CliRunner

    from corpus.cli import app

    runner = CliRunner()
    args = ["agreement", "sim", "--store", str(store.root), "--bootstrap", "0"]
    shown = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "Agreement with gold (after curation)" in shown.output
    assert "Compared with the gold of version" in shown.output
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert data["with_gold"]["available"] and len(data["with_gold"]["annotators"]) == 3


def _agreement_section(agreement: list[dict[str, Any]]) -> str:
    """The card template's Agreement section rendered with these facts."""
    import jinja2

    from corpus.release.card import template_path

    text = template_path().read_text(encoding="utf-8")
    section = text[text.index("## Agreement") : text.index("## Label distribution")]
    return jinja2.Template(section, undefined=jinja2.StrictUndefined).render(agreement=agreement)


def _card_says_agreement_with_gold(store: Any, schema: Any, tmp_path: Any) -> None:
    """docs/concepts/releases.md, Releases (the card's agreement figures): the card gives each
    annotator's agreement with gold beside inter-annotator agreement, says what each means, and says
    when a round has no gold."""
    from corpus.release.facts import describe, store_facts

    facts = store_facts(store, schema, ["sim"], tmp_path / "release")
    (round_facts,) = facts["agreement"]
    assert round_facts["gold"]["available"]
    card = _agreement_section(facts["agreement"])
    words = " ".join(card.split())
    assert "Span tasks in news commonly show alpha of 0.3–0.6 before curation" in words
    assert "**Agreement with gold** compares each annotator's votes" in words
    assert "Agreement with gold (after curation;" in card
    for g in round_facts["gold"]["annotators"]:
        assert f"| {g['annotator']} | 16 | {g['accuracy']} | {g['kappa']} |" in card
    assert "| issue | annotator | exact F1 vs gold | overlap F1 vs gold |" in card
    none = {**round_facts, "gold": {"available": False, "note": "no gold yet", "annotators": [],
                                    "labels": []}}  # fmt: skip
    assert "Agreement with gold: not available (no gold yet)." in _agreement_section([none])
    meta = {"text": {"mode": "full"}, "release": "1.0.0", "version": "0.3.0", "simulated": True,
            "created": "2026-01-01T00:00:00Z", "schema_hash": "h", "tool_version": "0",
            "rounds": ["sim"], "split": {}}  # fmt: skip
    _, rai = describe(meta, schema, facts, pretty_name="x", license="cc-by-4.0", url=None,
                      creators=[], citation=None)  # fmt: skip
    said = [line for line in rai["annotation_analysis"] if "against the adjudicated gold" in line]
    assert len(said) == 3 and all("stance accuracy" in line for line in said)
    _, rai = describe(meta, schema, {**facts, "agreement": [none]}, pretty_name="x",
                      license="cc-by-4.0", url=None, creators=[], citation=None)  # fmt: skip
    lines = rai["annotation_analysis"]
    assert "Round sim: agreement with gold not available (no gold yet)." in lines

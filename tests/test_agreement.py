"""Agreement figures against hand-computed cases and the libraries' published examples."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from krippendorff import alpha as kripp_alpha
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from corpus.iaa.compute import compute_agreement
from corpus.iaa.report import write_report
from corpus.iaa.stats import (
    ANY,
    binary_coincidence,
    fleiss_replicates,
    kappa_replicates,
    match_counts,
    weighted_nominal_alpha,
)

STANCES = ["supportive", "opposed", "neutral", "mixed"]
ISSUES = ["trade", "taiwan", "climate"]

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 3-coder example;
# published nominal alpha: 0.691.
NAN = math.nan
KRIPPENDORFF = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]
# Fleiss (1971) as reproduced on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters;
# published kappa: 0.210.
FLEISS = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
], dtype=float)  # fmt: skip


def ann(
    doc: str, who: str, stance: str | None, aid: int, cancelled: bool = False
) -> dict[str, Any]:
    return {"doc_id": doc, "annotator": who, "stance": stance, "annotation_id": aid,
            "cancelled": cancelled, "lead_time": 12.0, "updated_at": "2026-01-01"}  # fmt: skip


def span(
    doc: str, who: str, aid: int, start: int, end: int, issue: str, stance: str | None = None
) -> dict[str, Any]:
    return {"doc_id": doc, "annotator": who, "annotation_id": aid, "start": start, "end": end,
            "issue": issue, "stance": stance, "from_prediction": False}  # fmt: skip


def test_krippendorff_published_example_through_compute_agreement() -> None:
    rows = []
    aid = 0
    for coder, values in zip("abc", KRIPPENDORFF, strict=True):
        for unit, value in enumerate(values):
            if not math.isnan(value):
                aid += 1
                rows.append(ann(f"u{unit}", coder, STANCES[int(value) - 1], aid))
    report = compute_agreement(rows, [], lengths={}, stance_labels=STANCES, issue_labels=ISSUES)
    assert report.stance_alpha.value == pytest.approx(0.691, abs=5e-4)
    assert report.stance_alpha.n == 12  # units with two or more values
    assert (
        report.stance_alpha.low is not None
        and report.stance_alpha.low <= 0.691 <= report.stance_alpha.high
    )


def test_fleiss_published_example() -> None:
    assert fleiss_kappa(FLEISS) == pytest.approx(0.210, abs=5e-4)
    assert fleiss_replicates(FLEISS, np.ones((1, len(FLEISS))))[0] == pytest.approx(0.210, abs=5e-4)


def test_cohen_hand_computed_and_vectorised_replicates_match_sklearn() -> None:
    rows = [ann("d1", "a", "supportive", 1), ann("d1", "b", "supportive", 2),
            ann("d2", "a", "supportive", 3), ann("d2", "b", "opposed", 4),
            ann("d3", "a", "opposed", 5), ann("d3", "b", "opposed", 6),
            ann("d4", "a", "neutral", 7), ann("d4", "b", "neutral", 8)]  # fmt: skip
    report = compute_agreement(rows, [], lengths={}, stance_labels=STANCES, issue_labels=ISSUES)
    # po = 3/4, pe = (2*1 + 1*2 + 1*1)/16 = 5/16, kappa = (3/4 - 5/16) / (1 - 5/16)
    assert report.stance_pairs[0].kappa.value == pytest.approx(
        (0.75 - 5 / 16) / (11 / 16), abs=1e-4
    )
    rng = np.random.default_rng(1)
    y1, y2 = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    w = rng.integers(0, 3, (5, 200)).astype(float)
    ours = kappa_replicates(y1, y2, 4, w)
    for row, value in zip(w, ours, strict=True):
        assert value == pytest.approx(cohen_kappa_score(y1, y2, labels=range(4), sample_weight=row))


def test_character_alpha_equals_the_library_on_expanded_characters() -> None:
    rnd = random.Random(5)
    for _ in range(20):
        length = rnd.randrange(20, 60)
        coders = [[(s, s + rnd.randrange(1, 12)) for s in sorted(rnd.sample(range(length - 12), 2))]
                  for _ in range(rnd.randrange(2, 5))]  # fmt: skip
        ours = weighted_nominal_alpha(binary_coincidence(length, coders))
        data = [
            [float(any(a <= i < b for a, b in spans)) for i in range(length)] for spans in coders
        ]
        if len({v for row in data for v in row}) < 2:
            continue
        assert ours == pytest.approx(
            kripp_alpha(reliability_data=data, level_of_measurement="nominal")
        )


def test_span_f1_hand_computed() -> None:
    assert match_counts([(0, 5), (10, 20)], [(0, 5), (12, 18), (30, 35)]) == (1, 2, 2)
    rows = [ann("d", "a", "neutral", 1), ann("d", "b", "neutral", 2)]
    spans = [span("d", "a", 1, 0, 5, "trade"), span("d", "a", 1, 10, 20, "taiwan"),
             span("d", "b", 2, 0, 5, "trade"), span("d", "b", 2, 12, 18, "taiwan", "opposed"),
             span("d", "b", 2, 30, 35, "trade")]  # fmt: skip
    report = compute_agreement(
        rows, spans, lengths={"d": 50}, stance_labels=STANCES, issue_labels=ISSUES, bootstrap=50
    )
    by = {x.label: x for x in report.span_labels}
    assert by[ANY].exact_f1.value == pytest.approx(2 * 1 / 5, abs=1e-4)
    assert by[ANY].overlap_f1.value == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3), abs=1e-4)
    assert by["trade"].exact_f1.value == pytest.approx(2 / 3, abs=1e-4)
    assert by["trade"].overlap_f1.value == pytest.approx(2 * 0.5 / 1.5, abs=1e-4)
    assert by["taiwan"].exact_f1.value == 0.0 and by["taiwan"].overlap_f1.value == 1.0
    assert (
        by["climate"].alpha.value is None and by["climate"].alpha.note == "nobody used this label"
    )
    # characters: trade marked 0-5 by both, 30-35 by b only; 50 characters, 2 coders
    data = [[float(i < 5) for i in range(50)], [float(i < 5 or 30 <= i < 35) for i in range(50)]]
    assert by["trade"].alpha.value == pytest.approx(
        kripp_alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-4
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([ann("d1", "a", "neutral", 1), ann("d2", "a", "opposed", 2)], "Only one annotator"),
        (
            [ann("d1", "a", "neutral", 1), ann("d2", "b", "opposed", 2)],
            "No document was annotated by two",
        ),
    ],
)
def test_degenerate_inputs_get_messages_not_nan(rows: list[dict[str, Any]], message: str) -> None:
    report = compute_agreement(rows, [], lengths={}, stance_labels=STANCES, issue_labels=ISSUES)
    assert any(message in m for m in report.messages)
    assert report.stance_alpha.value is None and report.stance_alpha.note
    json.dumps(report.to_dict(), allow_nan=False)


def test_everyone_agreeing_on_one_class_is_explained() -> None:
    rows = [ann(f"d{i}", w, "neutral", i * 2 + j) for i in range(5) for j, w in enumerate("ab")]
    report = compute_agreement(rows, [], lengths={}, stance_labels=STANCES, issue_labels=ISSUES)
    for metric in (report.stance_alpha, report.stance_fleiss, report.stance_pairs[0].kappa):
        assert metric.value is None and "same stance" in (metric.note or "")
    assert report.per_annotator[0].agreement_with_others == 1.0
    json.dumps(report.to_dict(), allow_nan=False)


def test_skips_do_not_vote_and_per_annotator_figures(tmp_path: Path) -> None:
    rows = [
        ann("d1", "a", "supportive", 1),
        ann("d1", "b", "opposed", 2),
        ann("d1", "c", None, 3, True),
        ann("d2", "a", "opposed", 4),
        ann("d2", "b", "opposed", 5),
        ann("d2", "c", "opposed", 6),
    ]
    spans = [
        span("d1", "a", 1, 0, 4, "trade", "supportive"),
        span("d1", "b", 2, 1, 4, "trade", "opposed"),
    ]
    spans[0]["from_prediction"] = True
    report = compute_agreement(
        rows,
        spans,
        lengths={"d1": 10, "d2": 10},
        stance_labels=STANCES,
        issue_labels=ISSUES,
        bootstrap=20,
    )
    c = next(a for a in report.per_annotator if a.annotator == "c")
    assert (c.documents, c.skipped) == (1, 1)
    a = next(a for a in report.per_annotator if a.annotator == "a")
    assert (
        a.accepted_suggestions == 1.0
        and a.median_lead_time == 12.0
        and a.agreement_with_others == pytest.approx(2 / 3, abs=1e-3)  # d1: 0/1, d2: 2/2
    )
    assert report.span_stance_kappa.n == 1 and report.span_stance_kappa.value is None
    files = write_report(report, tmp_path / "rep")
    assert {f.name for f in files} == {"agreement.json", "README.md", "labels_per_annotator.png",
                                      "stance_confusion.png", "label_agreement.png"}  # fmt: skip
    for f in files:
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 2000
    summary = (tmp_path / "rep" / "README.md").read_text()
    assert "![stance confusion](stance_confusion.png)" in summary and "Krippendorff" in summary


def test_no_resamples_gives_the_figures_without_intervals(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = [ann(f"d{d}", who, rng.choice(STANCES), 3 * d + k)
            for d in range(20) for k, who in enumerate("abc")]  # fmt: skip
    spans = [span(r["doc_id"], r["annotator"], r["annotation_id"], 0, rng.choice([4, 5]),
                  rng.choice(ISSUES)) for r in rows]  # fmt: skip
    lengths = {f"d{d}": 40 for d in range(20)}
    kwargs: dict[str, Any] = {"lengths": lengths, "stance_labels": STANCES, "issue_labels": ISSUES}
    full = compute_agreement(rows, spans, bootstrap=200, **kwargs)
    none = compute_agreement(rows, spans, bootstrap=0, **kwargs)
    assert none.bootstrap == 0 and none.stance_alpha.value == full.stance_alpha.value
    assert full.stance_alpha.low is not None
    for metric in (none.stance_alpha, none.stance_fleiss, *(p.kappa for p in none.stance_pairs)):
        assert metric.low is None and metric.interval_note == "no interval: 0 resamples"
    write_report(none, tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert "No intervals" in readme and "Intervals are bootstrap" not in readme
    assert json.loads((tmp_path / "agreement.json").read_text())["bootstrap"] == 0

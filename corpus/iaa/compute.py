"""Agreement over a round's latest pull: the report that :func:`compute_agreement` fills.

The statistics themselves are in :mod:`corpus.iaa.stats`.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corpus.iaa.intervals import Items, bootstrap_metric
from corpus.iaa.span_stance import span_stance_kappa, stance_pairs
from corpus.iaa.stats import (
    ANY,
    AgreementReport,
    AnnotatorSummary,
    Float,
    GoldAgreement,
    LabelAgreement,
    Metric,
    PairMetric,
    binary_coincidence,
    bootstrap_pattern_weights,
    bootstrap_weights,
    f1_exact,
    f1_overlap,
    fleiss_replicates,
    kappa_replicates,
    match_counts,
    merge_ranges,
    nominal_alpha,
    nominal_coincidence,
    weighted_nominal_alpha,
)
from corpus.iaa.suggestions import per_model_version
from corpus.iaa.with_gold import agreement_with_gold
from corpus.labels.votes import RoundVotes, round_votes

Row = Mapping[str, Any]

ONE_STANCE = "a resample in which every annotation has the same stance"


def agreement_votes(annotations: Iterable[Row]) -> RoundVotes[Row]:
    """The votes agreement is measured on: the votes adjudication counts
    (:func:`corpus.labels.votes.round_votes`; a skip is not a vote)."""
    return round_votes(annotations)


# --- the report ------------------------------------------------------------------------------


def compute_agreement(
    annotations: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
    *,
    lengths: Mapping[str, int],
    stance_labels: Sequence[str],
    issue_labels: Sequence[str],
    round_name: str = "",
    version: str = "",
    bootstrap: int = 1000,
    seed: int = 0,
    interval: str = "bca",
    model_version: str | None = None,
    gold: Sequence[Mapping[str, Any]] | None = None,
    gold_spans: Sequence[Mapping[str, Any]] | None = None,
    gold_version: str | None = None,
    gold_note: str = "",
) -> AgreementReport:
    """All agreement figures of one round, from its annotations and spans rows; intervals
    from ``bootstrap`` resamples over documents, BCa where defined (``interval="bca"``) or
    percentile (see :mod:`corpus.iaa.intervals`); ``model_version``: the round's
    pre-annotator, for rows that do not record theirs. Votes: each annotator's latest
    annotation not skipped (:mod:`corpus.labels.votes`). ``gold``/``gold_spans``: the round's
    adjudicated gold rows, for each annotator's agreement with gold (None: not adjudicated,
    ``gold_note`` says why)."""
    from krippendorff import alpha as kripp_alpha
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa

    rng = np.random.default_rng(seed)
    votes = agreement_votes(annotations)
    by_doc = {d: by for d, by in votes.by_doc.items() if by}
    valid = votes.rows
    annotators = sorted({a["annotator"] for a in annotations})
    kept_ids = {a["annotation_id"] for a in valid}
    spans = [s for s in spans if s["annotation_id"] in kept_ids]
    multi = sorted(d for d, who in by_doc.items() if len(who) >= 2)
    messages: list[str] = []
    if len(annotators) < 2:
        messages.append(
            "Only one annotator: agreement needs two or more people on the same documents."
        )
    elif not multi:
        messages.append("No document was annotated by two or more people: no overlap to compare.")

    # document stance ---------------------------------------------------------------------
    k = len(stance_labels)
    index = {label: i for i, label in enumerate(stance_labels)}
    stance_docs = [d for d in multi if sum(by_doc[d][w]["stance"] in index for w in by_doc[d]) >= 2]
    counts = np.zeros((len(stance_docs), k))
    for row, d in enumerate(stance_docs):
        for a in by_doc[d].values():
            if a["stance"] in index:
                counts[row, index[a["stance"]]] += 1
    used = int((counts.sum(axis=0) > 0).sum())
    one_class = "every annotation has the same stance: chance-corrected agreement is undefined"
    if used >= 2:
        value = kripp_alpha(value_counts=counts, level_of_measurement="nominal")
        patterns, ids, weights = bootstrap_pattern_weights(rng, counts, bootstrap)
        coincidence = nominal_coincidence(patterns)

        def alpha_of(w: Float) -> Float:
            return nominal_alpha(np.einsum("bd,dij->bij", w, coincidence))

        stance_alpha = bootstrap_metric(
            value, alpha_of(weights), len(stance_docs), method=interval, undefined=ONE_STANCE,
            items=Items(ids, len(patterns), alpha_of),
        )  # fmt: skip
    else:
        stance_alpha = Metric(
            None, n=len(stance_docs), note=one_class if stance_docs else "no overlap"
        )
    raters = counts.sum(axis=1).astype(int)
    modal = Counter(raters.tolist()).most_common(1)[0][0] if len(raters) else 0
    same = counts[raters == modal] if modal >= 2 else np.zeros((0, k))
    if len(same) and (same.sum(axis=0) > 0).sum() >= 2:
        value = fleiss_kappa(same)
        table, ids, weights = bootstrap_pattern_weights(rng, same, bootstrap)

        def fleiss_of(w: Float) -> Float:
            return fleiss_replicates(table, w)

        stance_fleiss = bootstrap_metric(
            value, fleiss_of(weights), len(same), method=interval, undefined=ONE_STANCE,
            items=Items(ids, len(table), fleiss_of),
            note=f"documents with exactly {modal} annotators",
        )  # fmt: skip
    else:
        stance_fleiss = Metric(None, n=len(same), note=one_class if len(same) else "no overlap")

    pairs: list[PairMetric] = []
    confusion = np.zeros((k, k), dtype=int)
    agree_with: dict[str, list[int]] = defaultdict(list)
    kappas_of: dict[str, list[float]] = defaultdict(list)
    for a, b in itertools.combinations(annotators, 2):
        common = [
            d
            for d in stance_docs
            if by_doc[d].get(a, {}).get("stance") in index
            and by_doc[d].get(b, {}).get("stance") in index
        ]
        if not common:
            continue
        y1 = np.array([index[by_doc[d][a]["stance"]] for d in common])
        y2 = np.array([index[by_doc[d][b]["stance"]] for d in common])
        np.add.at(confusion, (y1, y2), 1)
        np.add.at(confusion, (y2, y1), 1)
        agree_with[a].extend((y1 == y2).astype(int).tolist())
        agree_with[b].extend((y1 == y2).astype(int).tolist())
        if len(set(y1.tolist()) | set(y2.tolist())) < 2:
            pairs.append(PairMetric(a, b, Metric(None, n=len(common), note=one_class)))
            continue
        value = cohen_kappa_score(y1, y2, labels=list(range(k)))
        metric = _kappa_metric(rng, value, y1, y2, k, bootstrap, interval, None)
        pairs.append(PairMetric(a, b, metric))
        if metric.value is not None:
            kappas_of[a].append(metric.value)
            kappas_of[b].append(metric.value)

    # issue spans ---------------------------------------------------------------------------
    labels = [*issue_labels, ANY]
    span_sets: dict[tuple[str, str], dict[str, list[tuple[int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for s in spans:
        span_sets[(s["doc_id"], s["annotator"])][s["issue"]].append((s["start"], s["end"]))
        span_sets[(s["doc_id"], s["annotator"])][ANY].append((s["start"], s["end"]))
    stats = np.zeros((len(multi), len(labels), 5))
    coinc = np.zeros((len(multi), len(labels), 2, 2))
    pairs_by_doc: list[list[tuple[str, str]]] = []
    spans_of_doc: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for s in spans:
        spans_of_doc[s["doc_id"]].append(s)
    for row, d in enumerate(multi):
        who = sorted(by_doc[d])
        for li, label in enumerate(labels):
            per = [span_sets[(d, w)].get(label, []) for w in who]
            if label == ANY:
                per = [merge_ranges(p) for p in per]
            coinc[row, li] = binary_coincidence(lengths.get(d, 0), per)
            for x, y in itertools.combinations(range(len(who)), 2):
                exact, ov_a, ov_b = match_counts(per[x], per[y])
                stats[row, li] += (exact, len(per[x]), len(per[y]), ov_a, ov_b)
        pairs_by_doc.append(stance_pairs(who, spans_of_doc[d]))
    totals = stats.sum(axis=0)
    w_docs = bootstrap_weights(rng, len(multi), bootstrap)
    doc_ids = np.arange(len(multi), dtype=np.int64)
    n_spans = Counter(s["issue"] for s in spans)
    span_labels = []
    for li, label in enumerate(labels):
        count = sum(n_spans.values()) if label == ANY else n_spans.get(label, 0)
        note = None if count else "nobody used this label"
        fns = _span_statistics(stats[:, li], coinc[:, li].reshape(len(multi), 4))
        values = {
            "exact": float(f1_exact(totals[li])),
            "overlap": float(f1_overlap(totals[li])),
            "alpha": weighted_nominal_alpha(coinc[:, li].sum(axis=0)) if count else None,
        }
        notes = {
            "exact": note,
            "overlap": note,
            "alpha": note
            or ("character-level" if values["alpha"] is not None
                else "character-level; undefined when no character is marked"),
        }  # fmt: skip
        why = {
            "exact": "a resample without spans of this label",
            "overlap": "a resample without spans of this label",
            "alpha": "a resample in which no character of this label is marked",
        }
        metrics = {
            kind: bootstrap_metric(
                values[kind], fn(w_docs), len(multi), method=interval, undefined=why[kind],
                items=Items(doc_ids, len(multi), fn), note=notes[kind],
            )
            for kind, fn in fns.items()
        }  # fmt: skip
        span_labels.append(
            LabelAgreement(
                label=label,
                spans=int(count),
                exact_f1=metrics["exact"],
                overlap_f1=metrics["overlap"],
                alpha=metrics["alpha"],
            )
        )

    # span stance on spans matched one-to-one (corpus.iaa.span_stance) ----------------------
    span_stance = span_stance_kappa(pairs_by_doc, rng, bootstrap=bootstrap, interval=interval)
    if gold is None:
        with_gold = GoldAgreement(False, gold_note or "no adjudicated gold given")
    else:
        with_gold = agreement_with_gold(
            by_doc, spans, gold, gold_spans or [], stance_labels=stance_labels,
            issue_labels=issue_labels, rng=rng, bootstrap=bootstrap, interval=interval,
            gold_version=gold_version, note=gold_note,
        )  # fmt: skip

    per_annotator = _per_annotator(
        valid, votes.skipped_only, spans, annotators, agree_with, kappas_of, stance_labels
    )
    return AgreementReport(
        round=round_name,
        version=version,
        documents=len(by_doc),
        multi_annotated=len(multi),
        annotators=annotators,
        stance_alpha=stance_alpha,
        stance_fleiss=stance_fleiss,
        stance_pairs=pairs,
        span_labels=span_labels,
        span_stance_kappa=span_stance,
        per_annotator=per_annotator,
        confusion=confusion.tolist(),
        stance_labels=list(stance_labels),
        messages=messages,
        per_model_version=per_model_version(valid, spans, fallback=model_version),
        bootstrap=bootstrap,
        with_gold=with_gold,
    )


def _span_statistics(label_stats: Float, label_chars: Float) -> dict[str, Callable[[Float], Float]]:
    """Exact F1, overlap F1 and character alpha of one label for weights over documents."""

    def exact(w: Float) -> Float:
        return f1_exact(w @ label_stats)

    def overlap(w: Float) -> Float:
        return f1_overlap(w @ label_stats)

    def alpha(w: Float) -> Float:
        return nominal_alpha((w @ label_chars).reshape(-1, 2, 2))

    return {"exact": exact, "overlap": overlap, "alpha": alpha}


def _kappa_metric(
    rng: np.random.Generator,
    value: float,
    y1: NDArray[np.int64],
    y2: NDArray[np.int64],
    k: int,
    b: int,
    interval: str,
    note: str | None,
) -> Metric:
    pairs, ids, weights = bootstrap_pattern_weights(rng, np.stack([y1, y2], axis=1), b)

    def kappa_of(w: Float) -> Float:
        return kappa_replicates(pairs[:, 0], pairs[:, 1], k, w)

    return bootstrap_metric(
        value, kappa_of(weights), len(y1), method=interval, note=note,
        undefined="a resample in which both sides use one and the same label",
        items=Items(ids, len(pairs), kappa_of),
    )  # fmt: skip


def _per_annotator(
    rows: Sequence[Mapping[str, Any]],
    skipped: Mapping[str, set[str]],
    spans: Sequence[Mapping[str, Any]],
    annotators: list[str],
    agree_with: Mapping[str, list[int]],
    kappas_of: Mapping[str, list[float]],
    stance_labels: Sequence[str],
) -> list[AnnotatorSummary]:
    out = []
    for who in annotators:
        done = [a for a in rows if a["annotator"] == who]
        leads = [float(a["lead_time"]) for a in done if a.get("lead_time") is not None]
        my_spans = [s for s in spans if s["annotator"] == who]
        agree = agree_with.get(who, [])
        kappas = kappas_of.get(who, [])
        out.append(
            AnnotatorSummary(
                annotator=who,
                documents=len(done),
                skipped=len(skipped.get(who, ())),
                median_lead_time=round(statistics.median(leads), 2) if leads else None,
                agreement_with_others=round(sum(agree) / len(agree), 4) if agree else None,
                kappa_with_others=round(sum(kappas) / len(kappas), 4) if kappas else None,
                spans=len(my_spans),
                accepted_suggestions=(
                    round(sum(bool(s["from_prediction"]) for s in my_spans) / len(my_spans), 4)
                    if my_spans
                    else None
                ),
                stance_counts={
                    label: sum(a["stance"] == label for a in done) for label in stance_labels
                },
                issue_counts=dict(Counter(s["issue"] for s in my_spans)),
            )
        )
    return out

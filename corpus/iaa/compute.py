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
from corpus.iaa.stats import (
    ANY,
    AgreementReport,
    AnnotatorSummary,
    Float,
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
    nominal_alpha,
    nominal_coincidence,
    overlaps,
    weighted_nominal_alpha,
)
from corpus.iaa.suggestions import per_model_version

ONE_STANCE = "a resample in which every annotation has the same stance"


def _latest(annotations: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One annotation per (document, annotator): the latest one."""
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    for a in annotations:
        key = (a["doc_id"], a["annotator"])
        if key not in best or (a.get("updated_at") or "") >= (best[key].get("updated_at") or ""):
            best[key] = a
    return list(best.values())


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
) -> AgreementReport:
    """All agreement figures of one round, from its annotations and spans rows; intervals
    from ``bootstrap`` resamples over documents, BCa where defined (``interval="bca"``) or
    percentile (see :mod:`corpus.iaa.intervals`); ``model_version``: the round's
    pre-annotator, for rows that do not record theirs."""
    from krippendorff import alpha as kripp_alpha
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa

    rng = np.random.default_rng(seed)
    rows = _latest(annotations)
    valid = [a for a in rows if not a["cancelled"]]
    annotators = sorted({a["annotator"] for a in rows})
    kept_ids = {a["annotation_id"] for a in valid}
    spans = [s for s in spans if s["annotation_id"] in kept_ids]
    by_doc: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for a in valid:
        by_doc[a["doc_id"]][a["annotator"]] = a
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
    stance_pairs: list[tuple[str, str]] = []
    spans_of_doc: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for s in spans:
        spans_of_doc[s["doc_id"]].append(s)
    for row, d in enumerate(multi):
        who = sorted(by_doc[d])
        for li, label in enumerate(labels):
            per = [span_sets[(d, w)].get(label, []) for w in who]
            if label == ANY:
                per = [_merge(p) for p in per]
            coinc[row, li] = binary_coincidence(lengths.get(d, 0), per)
            for x, y in itertools.combinations(range(len(who)), 2):
                exact, ov_a, ov_b = match_counts(per[x], per[y])
                stats[row, li] += (exact, len(per[x]), len(per[y]), ov_a, ov_b)
        stance_pairs.extend(_stance_pairs(who, spans_of_doc[d]))
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

    # span stance on matched spans ------------------------------------------------------------
    span_labels_stance = sorted({x for pair in stance_pairs for x in pair})
    if len(stance_pairs) >= 2 and len(span_labels_stance) >= 2:
        pos = {label: i for i, label in enumerate(span_labels_stance)}
        s1 = np.array([pos[p[0]] for p in stance_pairs])
        s2 = np.array([pos[p[1]] for p in stance_pairs])
        ks = len(span_labels_stance)
        value = cohen_kappa_score(s1, s2, labels=list(range(ks)))
        span_stance = _kappa_metric(
            rng, value, s1, s2, ks, bootstrap, interval, "Cohen's kappa over matched span pairs"
        )
    else:
        note = "fewer than two matched spans with a stance" if len(stance_pairs) < 2 else one_class
        span_stance = Metric(None, n=len(stance_pairs), note=note)

    per_annotator = _per_annotator(rows, spans, annotators, agree_with, kappas_of, stance_labels)
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
        per_model_version=per_model_version(rows, spans, fallback=model_version),
        bootstrap=bootstrap,
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


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of ranges (for the any-issue view, where labels may overlap)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _stance_pairs(who: list[str], spans: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Stance pairs of one document's spans matched across annotators (label, overlap)."""
    mine = [s for s in spans if s.get("stance")]
    out = []
    for a, b in itertools.combinations(who, 2):
        for x in (s for s in mine if s["annotator"] == a):
            for y in (s for s in mine if s["annotator"] == b):
                if x["issue"] == y["issue"] and overlaps(
                    (x["start"], x["end"]), (y["start"], y["end"])
                ):
                    out.append((x["stance"], y["stance"]))
                    break
    return out


def _per_annotator(
    rows: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
    annotators: list[str],
    agree_with: Mapping[str, list[int]],
    kappas_of: Mapping[str, list[float]],
    stance_labels: Sequence[str],
) -> list[AnnotatorSummary]:
    out = []
    for who in annotators:
        mine = [a for a in rows if a["annotator"] == who]
        done = [a for a in mine if not a["cancelled"]]
        leads = [float(a["lead_time"]) for a in done if a.get("lead_time") is not None]
        my_spans = [s for s in spans if s["annotator"] == who]
        agree = agree_with.get(who, [])
        kappas = kappas_of.get(who, [])
        out.append(
            AnnotatorSummary(
                annotator=who,
                documents=len(done),
                skipped=len(mine) - len(done),
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

"""Benchmark: the full agreement report (no plots) at 1,000 and 10,000 documents.

Simulates 3 annotators per document (stance with 70% agreement, about three issue spans
each with jittered boundaries) and times `compute_agreement` with 1,000 bootstrap
replicates. The target is under 10 s at 10,000 documents and time growing linearly with the
number of documents: the script prints the time per 1,000 documents at both sizes and their
ratio (1.0 = perfectly linear). Intervals are BCa up to ``BCA_MAX_ITEMS`` documents (scipy's
jackknife costs O(n^2)) and percentile above, so the ratio compares BCa at 1,000 documents
with percentile at 10,000; the script prints which intervals each size got. Library imports
are done before timing.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from typing import Any

from corpus.iaa import compute_agreement
from corpus.label_schema import load_schema


def simulate(
    n: int, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    schema = load_schema()
    rnd = random.Random(seed)
    anns: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    lengths: dict[str, int] = {}
    aid = 0
    for d in range(n):
        doc = f"d{d}"
        lengths[doc] = 3000
        truth = rnd.choice(schema.stance_names)
        marks = [(rnd.randrange(0, 2900), rnd.choice(schema.issue_names)) for _ in range(3)]
        for who in ("ann-a", "ann-b", "ann-c"):
            aid += 1
            stance = truth if rnd.random() < 0.7 else rnd.choice(schema.stance_names)
            anns.append({"doc_id": doc, "annotator": who, "annotation_id": aid, "stance": stance,
                         "cancelled": False, "lead_time": 30.0, "updated_at": ""})  # fmt: skip
            for start, label in marks:
                if rnd.random() < 0.8:
                    shift = rnd.choice([0, 0, 0, 4])
                    spans.append({"doc_id": doc, "annotator": who, "annotation_id": aid,
                                  "start": start + shift, "end": start + 40, "issue": label,
                                  "stance": rnd.choice(schema.span_stance_names),
                                  "from_prediction": rnd.random() < 0.5})  # fmt: skip
    return anns, spans, lengths


def methods(report: Any) -> str:
    """How many figures got a BCa and a percentile interval."""
    spans = [m for x in report.span_labels for m in (x.exact_f1, x.overlap_f1, x.alpha)]
    pairs = [p.kappa for p in report.stance_pairs]
    figures = [report.stance_alpha, report.stance_fleiss, report.span_stance_kappa, *pairs, *spans]
    counts = Counter(m.method or "none" for m in figures)
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    schema = load_schema()
    warm = simulate(20)
    compute_agreement(*warm[:2], lengths=warm[2], stance_labels=schema.stance_names,
                      issue_labels=schema.issue_names, bootstrap=10)  # fmt: skip
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        anns, spans, lengths = simulate(n)
        t0 = time.perf_counter()
        report = compute_agreement(
            anns, spans, lengths=lengths, stance_labels=schema.stance_names,
            issue_labels=schema.issue_names, bootstrap=args.bootstrap,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        results.append((n, seconds))
        print(f"{n:>6} documents x 3 annotators, {len(spans):>6} spans: {seconds:6.2f} s "
              f"({seconds / n * 1000:.3f} s per 1,000 documents; "
              f"intervals: {methods(report)})")  # fmt: skip
    if len(results) >= 2:
        (n1, t1), (n2, t2) = results[0], results[-1]
        print(f"per-document cost ratio {n2} vs {n1}: {(t2 / n2) / (t1 / n1):.2f} (1.0 = linear)")
        print(f"target: under 10 s at {n2}: {'met' if t2 < 10 else 'MISSED'} ({t2:.2f} s)")


if __name__ == "__main__":
    main()

"""Inter-annotator agreement for a round: document stance, issue spans, span stance.

* :mod:`corpus.iaa.stats`: the figures and the pieces no library does (run-length
  character alpha, span matching, vectorised bootstrap replicates);
* :mod:`corpus.iaa.compute`: :func:`compute_agreement` over plain rows (pure), on the votes
  of :mod:`corpus.labels.votes` (the votes adjudication counts);
* :mod:`corpus.iaa.span_stance`: per-span stance kappa over spans matched one-to-one;
* :mod:`corpus.iaa.with_gold`: each annotator's agreement with the adjudicated gold;
* :mod:`corpus.iaa.report`: :func:`agreement` over a store, and the report folder.
"""

from __future__ import annotations

from corpus.iaa.compute import compute_agreement
from corpus.iaa.report import agreement, fmt, summary_markdown, write_report
from corpus.iaa.stats import AgreementReport, GoldAgreement, Metric

__all__ = [
    "AgreementReport",
    "GoldAgreement",
    "Metric",
    "agreement",
    "compute_agreement",
    "fmt",
    "summary_markdown",
    "write_report",
]

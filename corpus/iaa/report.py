"""The I/O edge of agreement: load a round's annotations, write the report folder.

The report folder holds ``agreement.json`` (every figure), three or four PNG plots drawn
with matplotlib's non-interactive Agg canvas (the ``plots`` extra; see
:func:`corpus.extras.skip_plots`), and ``README.md``, a short Markdown summary that embeds
them, or says why they were not drawn.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.errors import os_error, translate_os_errors
from corpus.extras import figure_class, skip_plots
from corpus.iaa.compute import compute_agreement
from corpus.iaa.stats import ANY, AgreementReport, GoldAgreement, Metric
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.rounds import load_round, pulled_round
from corpus.store import Store, as_store


def round_rows(
    store: Store, name: str
) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """(version, annotations, spans, text lengths) of a round's latest pull."""
    pulled = pulled_round(store, name)
    version, annotations, spans = pulled.version, pulled.annotations, pulled.spans
    wanted = {a["doc_id"] for a in annotations}
    lengths: dict[str, int] = {}
    for batch in store.iter_batches(version, "documents", ["doc_id", "text"]):
        for doc_id, text in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            if doc_id in wanted:
                lengths[doc_id] = len(text)
    return version, annotations, spans, lengths


@dataclass
class RoundGold:
    """A round's adjudicated gold, if its latest pull was adjudicated (else ``note`` says why)."""

    version: str | None
    annotations: list[dict[str, Any]] | None
    spans: list[dict[str, Any]] | None
    note: str


def round_gold(store: Store, name: str, pull: str) -> RoundGold:
    """The round's gold rows from its newest adjudication, when that adjudicated ``pull``."""
    for version in reversed(store.version_names()):
        manifest = store.manifest(version)
        if manifest.kind != "adjudicate" or manifest.extra.get("round") != name:
            continue
        made_from = manifest.extra.get("pull", manifest.parent)
        if made_from != pull:
            return RoundGold(
                None, None, None,
                f"the round's gold ({version}) was made from pull {made_from}, not from its "
                f"latest pull {pull}: run `corpus adjudicate {name}` again to compare with gold",
            )  # fmt: skip

        def rows(table: str, at: str = version) -> list[dict[str, Any]]:
            return [r for r in store.iter_rows(at, table) if r["round"] == name]

        how = str(manifest.extra.get("strategy") or "adjudication")
        return RoundGold(
            version, rows("gold_annotations"), rows("gold_spans"),
            f"gold of version {version} ({how}, from pull {pull})",
        )  # fmt: skip
    return RoundGold(
        None, None, None,
        f"round {name!r} has no adjudicated gold yet: agreement with gold needs "
        f"`corpus adjudicate {name}`",
    )  # fmt: skip


@translate_os_errors
def agreement(
    store: Store | str | os.PathLike[str],
    name: str,
    *,
    schema: AnnotationSchema | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    interval: str = "bca",
) -> AgreementReport:
    """Every agreement figure of a round's latest pull, with bootstrap 95% intervals.

    ``bootstrap`` replicates (0: no intervals) are drawn over documents with ``seed``;
    ``interval``: ``"bca"`` (BCa where defined, else percentile, each figure says which) or
    ``"percentile"`` (see :mod:`corpus.iaa.intervals`).
    Beside inter-annotator agreement, ``with_gold`` holds each annotator's agreement with the
    round's adjudicated gold when its latest pull was adjudicated (else a note says why).
    Write the report folder (JSON, Markdown, plots) with :func:`write_report`.
    """
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be 0 or more replicates, not {bootstrap}")
    schema = schema or load_schema()
    store = as_store(store)
    version, annotations, spans, lengths = round_rows(store, name)
    gold = round_gold(store, name, version)
    return compute_agreement(
        annotations,
        spans,
        lengths=lengths,
        stance_labels=schema.stance_names,
        issue_labels=schema.issue_names,
        round_name=name,
        version=version,
        bootstrap=bootstrap,
        seed=seed,
        interval=interval,
        model_version=load_round(store.root, name).model_version,
        gold=gold.annotations,
        gold_spans=gold.spans,
        gold_version=gold.version,
        gold_note=gold.note,
    )


def fmt(m: Metric) -> str:
    """A figure with its interval, support and method, or why there is none; notes about
    the interval (undefined resamples, a bound equal to the estimate) follow."""
    if m.value is None:
        return f"n/a ({m.note}; n={m.n})"
    ci = f" [{m.low:.2f}, {m.high:.2f}]" if m.low is not None and m.high is not None else ""
    details = [f"n={m.n}", *([m.method] if m.method and ci else []),
               *([m.interval_note] if m.interval_note else [])]  # fmt: skip
    return f"{m.value:.3f}{ci} ({'; '.join(details)})"


PLOTS_FOR = "drawing the agreement report's plots"


@translate_os_errors
def write_report(report: AgreementReport, out: Path, *, plots: bool | None = None) -> list[Path]:
    """agreement.json, the PNG plots and README.md (last); returns the files written.

    ``plots``: ``None`` draws them when matplotlib (the ``plots`` extra) is installed, and
    otherwise README.md says they were not drawn and how to get them; ``True`` draws them or
    raises :class:`~corpus.errors.MissingExtraError`; ``False`` leaves them out."""
    note = skip_plots(plots, PLOTS_FOR)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, "create the report folder") from None
    files = [out / "agreement.json"]
    files[0].write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    if note is None:
        files += _plots(report, out)
    files.append(out / "README.md")
    files[-1].write_text(summary_markdown(report, plots_note=note), encoding="utf-8")
    return files


def summary_markdown(report: AgreementReport, *, plots_note: str | None = None) -> str:
    """The report's README.md; with ``plots_note`` it says so instead of embedding plots."""

    def image(alt: str, name: str) -> list[str]:
        return [] if plots_note else [f"![{alt}]({name})", ""]

    lines = [
        f"# Agreement: round {report.round} (version {report.version})",
        "",
        f"{report.documents} documents annotated, {report.multi_annotated} by two or more of "
        f"{len(report.annotators)} annotators. "
        + (
            f"Intervals are bootstrap 95% over documents ({report.bootstrap} resamples; BCa "
            "where it is defined, else percentile; each figure says which)."
            if report.bootstrap
            else "No intervals: computed with no bootstrap resamples (`--bootstrap 0`)."
        ),
        "",
        *(f"> {m}" for m in report.messages),
        *([f"> {plots_note[0].upper()}{plots_note[1:]}."] if plots_note else []),
        "",
        "## Document stance",
        "",
        f"- Krippendorff's alpha (nominal): {fmt(report.stance_alpha)}",
        f"- Fleiss' kappa: {fmt(report.stance_fleiss)}",
        *(f"- Cohen's kappa {p.a} × {p.b}: {fmt(p.kappa)}" for p in report.stance_pairs),
        "",
        *image("stance confusion", "stance_confusion.png"),
        "## Issue spans",
        "",
        "| label | spans | exact F1 | overlap F1 | char alpha |",
        "|---|---|---|---|---|",
        *(
            f"| {x.label} | {x.spans} | {fmt(x.exact_f1)} | {fmt(x.overlap_f1)} | {fmt(x.alpha)} |"
            for x in report.span_labels
        ),
        "",
        f"Per-span stance on matched spans: {fmt(report.span_stance_kappa)}",
        "",
        *image("label agreement", "label_agreement.png"),
        "## Annotators",
        "",
        "| annotator | documents | skipped | median lead time (s) | agreement with others | "
        "kappa with others | spans | accepted suggestions |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {a.annotator} | {a.documents} | {a.skipped} | {_opt(a.median_lead_time)} | "
            f"{_opt(a.agreement_with_others)} | {_opt(a.kappa_with_others)} | {a.spans} | "
            f"{_opt(a.accepted_suggestions)} |"
            for a in report.per_annotator
        ),
        "",
        *image("labels per annotator", "labels_per_annotator.png"),
        *gold_markdown(report.with_gold, plots=plots_note is None),
        "## Suggestions kept, per model version",
        "",
        "| model version | annotations | spans | accepted span suggestions | "
        "stance suggested | stance = suggestion |",
        "|---|---|---|---|---|---|",
        *(
            f"| {m.model_version} | {m.annotations} | {m.spans} | "
            f"{_opt(m.accepted_suggestions)} | {m.stance_suggested} | {_opt(m.stance_accepted)} |"
            for m in report.per_model_version
        ),
        "",
    ]
    return "\n".join(lines)


GOLD_MEANING = (
    "Inter-annotator agreement above is measured before curation; this compares each "
    "annotator's vote with the adjudicated gold (after curation). Gold is made from the "
    "annotators' own votes, so an annotator in the majority agrees with it by construction; "
    "span tasks in news commonly show alpha of 0.3–0.6 before curation."
)


def gold_markdown(gold: GoldAgreement, *, plots: bool = True) -> list[str]:
    """The report's section on each annotator's agreement with gold (``plots``: embed its
    plot)."""
    head = ["## Agreement with gold (after curation)", ""]
    if not gold.available:
        return [*head, f"Not available: {gold.note}.", ""]
    decided = ", ".join(f"{k} {v}" for k, v in gold.decided_by.items())
    any_issue = {a.annotator: next(x for x in a.span_labels if x.label == ANY)
                 for a in gold.annotators}  # fmt: skip
    return [
        *head,
        f"{GOLD_MEANING} Compared with the {gold.note} (documents: {decided or 'none'}).",
        "",
        "| annotator | documents | stance accuracy | stance kappa | exact F1 (any issue) | "
        "overlap F1 (any issue) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {a.annotator} | {a.documents} | {fmt(a.stance_accuracy)} | "
            f"{fmt(a.stance_kappa)} | {fmt(any_issue[a.annotator].exact_f1)} | "
            f"{fmt(any_issue[a.annotator].overlap_f1)} |"
            for a in gold.annotators
        ),
        "",
        *(["![agreement with gold](agreement_with_gold.png)", ""] if plots else []),
        "| issue | annotator | spans | gold spans | exact F1 | overlap F1 |",
        "|---|---|---|---|---|---|",
        *(
            f"| {x.label} | {a.annotator} | {x.spans} | {x.gold_spans} | {fmt(x.exact_f1)} | "
            f"{fmt(x.overlap_f1)} |"
            for a in gold.annotators
            for x in a.span_labels
            if x.label != ANY
        ),
        "",
    ]


def _opt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _plots(report: AgreementReport, out: Path) -> list[Path]:
    Figure = figure_class(PLOTS_FOR)
    paths = []
    # label distribution per annotator
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_s, ax_i = fig.subplots(1, 2)
    names = [a.annotator for a in report.per_annotator]
    for ax, key, title in (
        (ax_s, "stance_counts", "document stance"),
        (ax_i, "issue_counts", "issue spans"),
    ):
        labels = sorted({lab for a in report.per_annotator for lab in getattr(a, key)})
        bottom = [0.0] * len(names)
        for lab in labels:
            values = [float(getattr(a, key).get(lab, 0)) for a in report.per_annotator]
            ax.bar(names, values, bottom=bottom, label=lab)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=30)
        if labels:
            ax.legend(fontsize=6)
    paths.append(out / "labels_per_annotator.png")
    fig.savefig(paths[-1], dpi=100)

    # stance confusion between annotators (all pairs, both directions)
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(report.confusion, cmap="Blues")
    k = len(report.stance_labels)
    ax.set_xticks(range(k), report.stance_labels, rotation=30)
    ax.set_yticks(range(k), report.stance_labels)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(report.confusion[i][j]), ha="center", va="center", fontsize=8)
    ax.set_title("stance: annotator vs annotator")
    fig.colorbar(image, ax=ax)
    paths.append(out / "stance_confusion.png")
    fig.savefig(paths[-1], dpi=100)

    # per-label agreement with intervals
    rows = report.span_labels
    paths.append(
        _interval_bars(
            [r.label for r in rows],
            [("overlap F1", [r.overlap_f1 for r in rows]), ("char alpha", [r.alpha for r in rows])],
            "issue span agreement per label (95% bootstrap intervals)",
            out / "label_agreement.png",
        )
    )
    if report.with_gold.available:
        paths.append(_gold_plot(report.with_gold, out / "agreement_with_gold.png"))
    return paths


def _gold_plot(gold: GoldAgreement, path: Path) -> Path:
    """Each annotator against gold: stance accuracy, stance kappa, overlap F1 (any issue)."""
    people = gold.annotators
    series = [
        ("stance accuracy", [a.stance_accuracy for a in people]),
        ("stance kappa", [a.stance_kappa for a in people]),
        ("overlap F1 (any issue)", [a.span_labels[-1].overlap_f1 for a in people]),
    ]
    title = "each annotator against the adjudicated gold (95% bootstrap intervals)"
    return _interval_bars([a.annotator for a in people], series, title, path)


def _interval_bars(
    names: list[str], series: list[tuple[str, list[Metric]]], title: str, path: Path
) -> Path:
    """Grouped bars (one group per name, one bar per series) with their intervals."""
    Figure = figure_class(PLOTS_FOR)
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(series)
    for k, (label, metrics) in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * width
        xs: list[float] = []
        ys: list[float] = []
        errs: list[list[float]] = [[], []]
        for i, m in enumerate(metrics):
            if m.value is None:
                continue
            xs.append(i + offset)
            ys.append(m.value)
            errs[0].append(m.value - (m.low if m.low is not None else m.value))
            errs[1].append((m.high if m.high is not None else m.value) - m.value)
        ax.bar(xs, ys, width=width, yerr=errs, capsize=3, label=label)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylim(-0.2, 1.05)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=100)
    return path

"""The model card (``README.md`` of a model folder): what it is, what it was trained on,
how it was chosen, and its scores with their intervals."""

from __future__ import annotations

from typing import Any

from corpus.iaa.stats import Metric
from corpus.inference.folder import CONFUSION, ModelManifest
from corpus.training.evaluate import Evaluation


def fmt_metric(metric: Metric | dict[str, Any]) -> str:
    """``0.712 [0.601, 0.803]`` (n/a with its reason when undefined)."""
    m = metric if isinstance(metric, dict) else metric.__dict__
    if m.get("value") is None:
        return f"n/a ({m.get('note') or 'undefined'})"
    if m.get("low") is None:
        return f"{m['value']:.3f}"
    return f"{m['value']:.3f} [{m['low']:.3f}, {m['high']:.3f}]"


def scores_markdown(evaluation: Evaluation) -> list[str]:
    lines = [
        f"Stance macro-F1: **{fmt_metric(evaluation.macro_f1)}** "
        f"({evaluation.stance_documents} documents with a gold stance)",
        "",
        "| stance | F1 [95% interval] | gold documents |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {fmt_metric(m)} | {m.n} |" for label, m in evaluation.per_class.items()]
    lines += [
        "",
        "| issue | exact F1 | overlap F1 | gold spans | predicted |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.label} | {fmt_metric(s.exact_f1)} | {fmt_metric(s.overlap_f1)} | {s.gold} | "
        f"{s.predicted} |"
        for s in evaluation.spans
    ]
    return lines


def render_card(
    manifest: ModelManifest,
    version: str,
    evaluations: dict[str, Evaluation],
    *,
    plots_note: str | None = None,
) -> str:
    """Markdown for a model folder (``version`` is its name + short hash); ``plots_note``:
    why the confusion matrix was not drawn (None: it was, and the card embeds it)."""
    r = manifest.release
    p = manifest.parameters
    lines = [
        f"# Model {manifest.name}",
        "",
        f"Predictions carry `model_version` **{version}** (the name and a short hash of the "
        "weights). Trained by `corpus model train` on "
        f"{manifest.created} in {manifest.training_seconds:.1f} s.",
        "",
        "## What it is",
        "",
        "* **Document stance**: TF-IDF (word 1-2 grams) and a logistic regression with "
        f"balanced class weights (C = {p['stance']['C']}), calibrated by scikit-learn's "
        f"`CalibratedClassifierCV` (sigmoid, {p['stance']['folds']} folds): its probability "
        "is the score of its stance suggestion.",
        f"* **Issue spans**: a linear-chain CRF (python-crfsuite; c1 = {p['tagger']['c1']}, "
        f"c2 = {p['tagger']['c2']}, {p['tagger']['max_iterations']} L-BFGS iterations) over "
        "BIO tags; a span's score is the smallest marginal probability of its tokens' tags.",
        "",
        "## Trained on",
        "",
        f"Release **{r.release}** (dataset version {r.version}, schema `{manifest.schema_hash}`) "
        f"at `{r.path}`; the sha256 of every file read is in `manifest.json`.",
        "",
        "| split | documents | with gold stance | sentences |",
        "|---|---|---|---|",
    ]
    for split, info in manifest.data.items():
        lines.append(
            f"| {split} | {info['documents']} | {info['labelled']} | {info['sentences']} |"
        )
    lines += [
        "",
        "## How it was chosen",
        "",
        "Hyper-parameters were chosen on the validation split (stance: macro-F1; spans: exact "
        "span F1), each candidate trained on the train split only.",
        "",
        "| stance C | validation macro-F1 |",
        "|---|---|",
        *(f"| {t['C']} | {t['validation_macro_f1']} |" for t in manifest.selection["stance"]),
        "",
        "| CRF c1 | c2 | validation span F1 |",
        "|---|---|---|",
        *(
            f"| {t['c1']} | {t['c2']} | {t['validation_span_f1']} |"
            for t in manifest.selection["tagger"]
        ),
    ]
    for split, evaluation in evaluations.items():
        lines += ["", f"## Scores on the {split} split", "", *scores_markdown(evaluation)]
    if "test" in evaluations:
        lines += [
            "",
            f"![stance confusion matrix on the test split]({CONFUSION})"
            if plots_note is None
            else f"The confusion matrix on the test split was not drawn ({plots_note}).",
        ]
    if manifest.notes:
        lines += ["", "## Notes", "", *(f"* {n}" for n in manifest.notes)]
    lines += [
        "",
        "## Use",
        "",
        "```",
        f"corpus round start ROUND --preannotate {manifest.name}",
        f"corpus round start ROUND --preannotate {manifest.name} --strategy uncertainty",
        f"corpus model evaluate {manifest.name} RELEASE --split test",
        "```",
        "",
        "The stance model is stored as a scikit-learn pickle (`stance.joblib`): loading a "
        "pickle runs code, so load only models of your own store. Every file is checked "
        "against `manifest.json` before it is read, and a model pickled by another "
        "scikit-learn version is refused.",
        "",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.libraries.items())),
        "",
    ]
    return "\n".join(lines)


__all__ = ["fmt_metric", "render_card", "scores_markdown"]

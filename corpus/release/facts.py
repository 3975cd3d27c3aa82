"""What a release says about itself: the annotation facts from the store, and the dataset
metadata and Responsible-AI fields that the card and ``croissant.json`` print.

:func:`store_facts` is the I/O part (rounds and their agreement reports, with plots written
into the release's ``images/``); :func:`describe` is pure and fills the manifest's
``metadata`` and ``rai`` entries, from which :mod:`corpus.release.croissant` writes
``croissant.json`` (also when a rehydrated release is written, without the store).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from corpus.errors import CorpusError, ReleaseError
from corpus.iaa.stats import GoldAgreement
from corpus.label_schema import AnnotationSchema
from corpus.store import Store

CONFIG_DESCRIPTIONS = {
    "documents": "An article: text, document stance, gold issue spans (offsets index text).",
    "sentences": "A sentence with the gold spans inside it (offsets relative to the sentence).",
    "tokens": "The word tokens of a sentence with BIO issue tags.",
    "raw_annotations": "One annotator's labels for one document, under a pseudonym.",
}
OFFSETS_DESCRIPTIONS = {
    "documents": "An article without its text: text_sha256, where it came from, document "
    "stance and gold issue spans (offsets index the text `corpus release rehydrate` restores).",
    "sentences": "A sentence's start and end in its document, with the gold spans inside it.",
    "tokens": "Token offsets in their sentence with BIO issue tags.",
    "raw_annotations": CONFIG_DESCRIPTIONS["raw_annotations"],
}


_MARKUP = re.compile(r"[<>]")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _control(text: str) -> str | None:
    """The first control, line/paragraph separator or bidi override character, if any."""
    return next(
        (c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI), None
    )


def check_url(url: str) -> str:
    """The dataset's home page as given, refused (:class:`ReleaseError`) unless it is an
    absolute ``http(s)`` URL on one line without spaces, quotes or angle brackets (it is
    printed in the card and ``croissant.json``)."""
    parts = urlsplit(url)
    bad = _control(url) or next((c for c in url if c in ' "<>\\`'), None)
    if parts.scheme not in ("http", "https") or not parts.netloc or bad is not None:
        why = f"the character {bad!r}" if bad is not None else "not an http(s) address"
        raise ReleaseError(
            f"--url {url!r} is not a web address ({why})",
            hint="Give the dataset's home page as https://HOST/PATH.",
        )
    return url


def check_creator(name: str) -> str:
    """A creator's name as given, refused (:class:`ReleaseError`) when it is blank, spans
    lines, holds a control character or HTML markup (``<``, ``>``): it is one line of the card
    and one ``Person`` of ``croissant.json``. Markdown in it is escaped in the card."""
    bad = _control(name) or (m.group() if (m := _MARKUP.search(name)) else None)
    if not name.strip() or bad is not None:
        why = "it is blank" if bad is None else f"it holds {bad!r}"
        raise ReleaseError(
            f"--creator {name!r} is not a name on one line without markup ({why})",
            hint="Give each creator as plain text, e.g. --creator 'Ada Lovelace'.",
        )
    return name


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown: HTML's ``&<>`` as entities, Markdown punctuation
    backslash-escaped (for values the user gave, such as creators)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", escaped)


def store_facts(
    store: Store,
    schema: AnnotationSchema,
    rounds: Sequence[str],
    out: Path,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Each round's size and overlap, and its agreement summary (plots into ``out/images``
    when matplotlib, the ``plots`` extra, is installed; else a note goes to ``warnings``)."""
    from corpus.extras import skip_plots
    from corpus.iaa import agreement, fmt, write_report
    from corpus.iaa.report import PLOTS_FOR
    from corpus.rounds import load_round

    found: dict[str, Any] = {"rounds": [], "agreement": []}
    for name in rounds:
        try:
            state = load_round(store.root, name)
            size: dict[str, Any] = {
                "documents": len(state.doc_ids),
                "overlap": state.settings.overlap,
                "version": state.version,
                "strategy": state.settings.strategy,
                "shown": state.shown(),  # the pre-annotator: keywords, a model, or none
                "sampled_by": state.sampled_by(),
            }
        except CorpusError:
            size = {"documents": None, "overlap": None, "version": None, "strategy": None,
                    "shown": None, "sampled_by": None}  # fmt: skip
        found["rounds"].append({"name": name, **size})
        try:
            report = agreement(store, name, schema=schema, bootstrap=500)
        except CorpusError:
            continue
        files = write_report(report, out / "images" / f"agreement-{name}")
        note = skip_plots(None, PLOTS_FOR)  # what write_report acted on
        if note and warnings is not None and f"card: {note}" not in warnings:
            warnings.append(f"card: {note}")
        found["agreement"].append({
            "round": name, "annotators": len(report.annotators), "documents": report.documents,
            "multi": report.multi_annotated, "alpha": fmt(report.stance_alpha),
            "fleiss": fmt(report.stance_fleiss),
            "spans": [(x.label, fmt(x.overlap_f1), fmt(x.alpha)) for x in report.span_labels],
            "span_stance": fmt(report.span_stance_kappa),
            "plots": [f.relative_to(out).as_posix() for f in files if f.suffix == ".png"],
            "gold": gold_facts(report.with_gold),
        })  # fmt: skip
    return found


def gold_facts(gold: GoldAgreement) -> dict[str, Any]:
    """Each annotator's agreement with the round's gold, as the card prints it."""
    from corpus.iaa import fmt

    if not gold.available:
        return {"available": False, "note": gold.note, "annotators": [], "labels": []}
    annotators, labels = [], []
    for a in gold.annotators:
        *issues, any_issue = a.span_labels
        annotators.append({
            "annotator": a.annotator, "documents": a.documents,
            "accuracy": fmt(a.stance_accuracy), "kappa": fmt(a.stance_kappa),
            "exact": fmt(any_issue.exact_f1), "overlap": fmt(any_issue.overlap_f1),
        })  # fmt: skip
        labels += [{"label": x.label, "annotator": a.annotator, "exact": fmt(x.exact_f1),
                    "overlap": fmt(x.overlap_f1)} for x in issues]  # fmt: skip
    return {"available": True, "note": gold.note, "annotators": annotators, "labels": labels}


def default_citation(pretty_name: str, release: str, created: str, creators: Sequence[str]) -> str:
    """A BibTeX entry for the release (used when no citation is given)."""
    key = re.sub(r"[^a-z0-9]+", "_", pretty_name.lower()).strip("_") or "corpus"
    author = f"author = {{{' and '.join(creators)}}}, " if creators else ""
    return (
        f"@misc{{{key}_{release.replace('.', '_')}, {author}title = {{{pretty_name}}}, "
        f"note = {{Release {release}}}, year = {{{created[:4]}}}}}"
    )


def describe(
    meta: dict[str, Any],
    schema: AnnotationSchema,
    facts: dict[str, Any],
    *,
    pretty_name: str,
    license: str,
    url: str | None,
    creators: Sequence[str],
    citation: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The manifest's ``metadata`` (name, description, license, ...) and ``rai`` entries."""
    from corpus.labelstudio import LABEL_STUDIO_VERSION

    offsets = meta["text"]["mode"] == "none"
    what = (
        f"News articles annotated for their stance towards {schema.stance.target} and for "
        f"the issues they discuss, as character spans with a stance of their own (release "
        f"{meta['release']}, built with corpus from dataset version {meta['version']})."
    )
    if offsets:
        what += (
            " This release carries no article text: every offset, label, the sha256 of each "
            "text and where it came from; `corpus release rehydrate` rebuilds the text from "
            "your own copies."
        )
    if meta["simulated"]:
        what += " The labels are simulated (a demo): never train or evaluate a model on them."
    metadata = {
        "name": pretty_name,
        "description": what,
        "license": license,
        "url": url,
        "creators": list(creators),
        "citation": citation
        or default_citation(pretty_name, meta["release"], meta["created"], creators),
        "keywords": ["stance detection", "span annotation", "news", "Label Studio"],
        "configs": OFFSETS_DESCRIPTIONS if offsets else CONFIG_DESCRIPTIONS,
    }
    overlap = sorted({r["overlap"] for r in facts["rounds"] if r["overlap"]})
    analysis = [
        "Gold labels were adjudicated from the annotators' labels (majority vote, or a "
        "curator's review of disagreements); each gold row records how it was decided."
    ]
    for a in facts["agreement"]:
        analysis.append(
            f"Round {a['round']}: {a['multi']} of {a['documents']} documents labelled by two "
            f"or more of {a['annotators']} annotators; document stance Krippendorff's alpha "
            f"{a['alpha']}, Fleiss' kappa {a['fleiss']}; span stance Cohen's kappa "
            f"{a['span_stance']} (bootstrap 95% intervals over documents)."
        )
        analysis += [f"Round {a['round']}, issue {x}: overlap F1 {f1}, character alpha {al}."
                     for x, f1, al in a["spans"]]  # fmt: skip
        gold = a.get("gold") or {"available": False, "note": "not measured"}
        if not gold["available"]:
            analysis.append(f"Round {a['round']}: agreement with gold not available "
                            f"({gold['note']}).")  # fmt: skip
        analysis += [
            f"Round {a['round']}, annotator {g['annotator']} against the adjudicated gold "
            f"(after curation) over {g['documents']} documents: stance accuracy "
            f"{g['accuracy']}, Cohen's kappa {g['kappa']}; spans (any issue) exact F1 "
            f"{g['exact']}, overlap F1 {g['overlap']}."
            for g in gold.get("annotators", [])
        ]
    if not facts["agreement"]:
        analysis.append("No round had two or more annotators on the same documents.")
    issues = ", ".join(schema.issue_names)
    span_stance = (
        "no stance (span stance is optional and was not annotated)"
        if "span_stance" in meta["split"].get("not_annotated", [])
        else f"a stance ({', '.join(schema.span_stance_names)}"
        f"{'' if schema.span_stance.required else ', optional'})"
    )
    rai = {
        "annotation_protocol": (
            f"Annotators answer '{schema.stance.question}' for each document "
            f"({', '.join(schema.stance_names)}) and mark character spans for the issues "
            f"{issues}, each with {span_stance}, {suggestions(facts['rounds'])}. Schema hash "
            f"{meta['schema_hash']}; the guidelines are in the dataset card."
        ),
        "annotation_platform": [
            f"Label Studio {LABEL_STUDIO_VERSION}",
            f"corpus {meta['tool_version']}",
        ],
        "annotations_per_item": (
            f"{', '.join(map(str, overlap))} annotator(s) per document (rounds "
            f"{', '.join(meta['rounds']) or 'none'}); the raw_annotations config holds each."
            if overlap
            else "Not recorded for these rounds; the raw_annotations config holds each."
        ),
        "annotation_analysis": analysis,
        "pseudonymisation": (
            "Annotators appear only under pseudonyms (a keyed hash of their Label Studio user); "
            "no name or e-mail address is released, and the build refuses a release in which "
            "an e-mail address appears."
        ),
        "personal_sensitive_information": [
            "News articles name public figures and may mention private persons."
        ],
        "limitations": [
            "The corpus covers the news sources that were ingested; it is not a sample of "
            "all news.",
            f"Stance is judged towards one target ({schema.stance.target}); other readings "
            "of the same text are possible.",
            *(["The labels are simulated by the corpus demo."] if meta["simulated"] else []),
        ],
        "biases": [
            "Keyword pre-annotations may lead annotators to accept suggested spans; the "
            "agreement report measures the share of spans accepted unchanged."
        ],
        "maintenance_plan": (
            "Releases are immutable and numbered MAJOR.MINOR.PATCH: documents keep the split an "
            "earlier release gave them within a major version (a new near-duplicate link that "
            "joins groups of two splits moves one, only in a new major release or with a "
            "recorded --force), additions make a new minor release, and each release's "
            "CHANGELOG.md lists what changed."
        ),
        "machine_annotation_tools": machine_tools(facts["rounds"]),
    }
    return metadata, rai


def suggestions(rounds: Sequence[dict[str, Any]]) -> str:
    """How annotators started, from what each round showed (keywords, a model, or none)."""
    shown = sorted({r["shown"] for r in rounds if r.get("shown")})
    if not shown:
        return "starting from the pre-annotations their round showed as suggestions"
    if shown == ["none"]:
        return "with no suggestions shown"
    said = "; ".join(f"{what}: rounds {', '.join(_rounds_of(rounds, 'shown', what))}"
                     for what in shown)  # fmt: skip
    return f"starting from each round's pre-annotations, shown as suggestions ({said})"


def machine_tools(rounds: Sequence[dict[str, Any]]) -> list[str]:
    """Every pre-annotator and sampling model of the release's rounds, with the rounds that
    used it (a keyword pre-annotator, a stored model, or none shown)."""
    tools = [
        f"{what}: suggestions shown to annotators in rounds "
        f"{', '.join(_rounds_of(rounds, 'shown', what))} (never gold)"
        for what in sorted({r["shown"] for r in rounds if r.get("shown") not in (None, "none")})
    ]
    tools += [
        f"{what}: chose the documents to label in rounds "
        f"{', '.join(_rounds_of(rounds, 'sampled_by', what))}"
        for what in sorted({r["sampled_by"] for r in rounds if r.get("sampled_by")})
    ]
    return tools


def _rounds_of(rounds: Sequence[dict[str, Any]], key: str, value: str) -> list[str]:
    return [r["name"] for r in rounds if r.get(key) == value]

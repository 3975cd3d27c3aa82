"""The Label Studio labelling config, generated from the annotation schema with lxml.

Names used in results: ``stance`` (document Choices, required), ``issue`` (Labels over the
``text`` field) and ``span_stance`` (Choices per region). Label values are the schema's
stable identifiers; titles and descriptions are shown as hints. Building the XML with lxml
escapes any label text.
"""

from __future__ import annotations

import hashlib

from lxml import etree

from corpus.label_schema import AnnotationSchema

TEXT = "text"
STANCE = "stance"
ISSUE = "issue"
SPAN_STANCE = "span_stance"

# Distinct, readable highlight colours; cycled if the schema has more labels.
_PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
]  # fmt: skip


def label_config(schema: AnnotationSchema) -> str:
    """The ``<View>`` XML for a round's project."""
    view = etree.Element("View")
    etree.SubElement(view, "Header", value="$title", size="4")
    labels = etree.SubElement(
        view, "Labels", name=ISSUE, toName=TEXT, showInline="true", choice="single"
    )
    for i, issue in enumerate(schema.issues):
        etree.SubElement(
            labels,
            "Label",
            value=issue.name,
            hint=f"{issue.title}: {issue.description}",
            background=_PALETTE[i % len(_PALETTE)],
        )
    etree.SubElement(view, "Text", name=TEXT, value="$" + TEXT)

    region = etree.SubElement(view, "View", visibleWhen="region-selected")
    etree.SubElement(region, "Header", value=schema.span_stance.question, size="6")
    span_choices = etree.SubElement(
        region,
        "Choices",
        name=SPAN_STANCE,
        toName=TEXT,
        perRegion="true",
        choice="single",
        showInline="true",
    )
    for label in schema.span_stance.labels:
        etree.SubElement(span_choices, "Choice", value=label.name, hint=label.description)

    etree.SubElement(view, "Header", value=schema.stance.question, size="5")
    doc_choices = etree.SubElement(
        view,
        "Choices",
        name=STANCE,
        toName=TEXT,
        choice="single",
        required="true",
        showInline="true",
    )
    for label in schema.stance.labels:
        etree.SubElement(doc_choices, "Choice", value=label.name, hint=label.description)
    return etree.tostring(view, pretty_print=True, encoding="unicode")


def config_sha256(xml: str) -> str:
    return hashlib.sha256(xml.encode()).hexdigest()

"""What annotators see, generated from the annotation schema: the labelling config, its
hotkeys and the project's instructions. Pure functions of the schema.

Names used in results: ``stance`` (document Choices, required), ``issue`` (Labels over the
``text`` field) and ``span_stance`` (Choices per region, required when the schema's
``span_stance.required`` says so). Label and choice ``value``\\ s are
the schema's stable identifiers (what results store); the buttons show the schema's titles
through Label Studio's ``html`` attribute, which replaces the displayed text only. The title
is HTML-escaped first (Label Studio renders that attribute as sanitised HTML), and lxml
escapes it again for XML, so any label text is safe.

Every Label and Choice gets an explicit hotkey (:func:`hotkeys`): Label Studio 1.23.2 gives
each one lacking a key the next free one from ``1234567890qwetasdfgzxcvbyiopjklnm`` in tree
order, so adding a label would shift every later key, and a key given twice fires both
controls. Keys follow the schema order within fixed, disjoint pools, so appending a label
never moves another one's key.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from typing import Any

from lxml import etree

from corpus.label_schema import (  # the key pools: a schema never has more labels
    ISSUE_KEYS,
    SPAN_STANCE_KEYS,
    STANCE_KEYS,
    AnnotationSchema,
    LabelDef,
)

TEXT = "text"
STANCE = "stance"
ISSUE = "issue"
SPAN_STANCE = "span_stance"

# Distinct, readable highlight colours; cycled if the schema has more labels.
_PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
]  # fmt: skip

_POOLS = {ISSUE: ISSUE_KEYS, SPAN_STANCE: SPAN_STANCE_KEYS, STANCE: STANCE_KEYS}


@dataclass(frozen=True)
class Hotkey:
    """The key of one button: ``control`` is the result name (``issue``, ``span_stance``,
    ``stance``), ``value`` the stored identifier, ``title`` what the button shows."""

    control: str
    value: str
    title: str
    key: str

    @property
    def display(self) -> str:
        """The key as people write it: ``Shift+1``, ``a``."""
        return "+".join(
            part.capitalize() if len(part) > 1 else part for part in self.key.split("+")
        )


def _labels(schema: AnnotationSchema) -> dict[str, tuple[LabelDef, ...]]:
    return {
        ISSUE: schema.issues,
        SPAN_STANCE: schema.span_stance.labels,
        STANCE: schema.stance.labels,
    }


def hotkeys(schema: AnnotationSchema) -> list[Hotkey]:
    """Every button's hotkey, in the config's order (issues, span stance, document stance).

    A schema never has more labels of a kind than its key pool (checked when it is loaded,
    :mod:`corpus.label_schema`).
    """
    out = []
    for control, labels in _labels(schema).items():
        pool = _POOLS[control]  # never shorter: the schema is checked when loaded
        out += [
            Hotkey(control, label.name, label.title, key)
            for label, key in zip(labels, pool, strict=False)
        ]
    return out


def label_config(schema: AnnotationSchema) -> str:
    """The ``<View>`` XML for a round's project."""
    keys = {(h.control, h.value): h.key for h in hotkeys(schema)}

    def button(parent: Any, tag: str, control: str, label: LabelDef, **extra: str) -> None:
        attrib = {
            "value": label.name,  # what results store
            "html": html.escape(label.title),  # what the button shows
            "hotkey": keys[control, label.name],
            "hint": label.description,
        }
        etree.SubElement(parent, tag, attrib | extra)

    view = etree.Element("View")
    etree.SubElement(view, "Header", value="$title", size="4")
    labels = etree.SubElement(
        view, "Labels", name=ISSUE, toName=TEXT, showInline="true", choice="single"
    )
    for i, issue in enumerate(schema.issues):
        button(labels, "Label", ISSUE, issue, background=_PALETTE[i % len(_PALETTE)])
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
    if schema.span_stance.required:
        span_choices.set("required", "true")
    for label in schema.span_stance.labels:
        button(span_choices, "Choice", SPAN_STANCE, label)

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
        button(doc_choices, "Choice", STANCE, label)
    return etree.tostring(view, pretty_print=True, encoding="unicode")


def config_sha256(xml: str) -> str:
    return hashlib.sha256(xml.encode()).hexdigest()


# --- instructions -----------------------------------------------------------------------------


def instructions_html(schema: AnnotationSchema) -> str:
    """The project's instructions (Label Studio's ``expert_instruction``): the steps, then
    each label's title, key, description and seed examples, as HTML.

    Only tags Label Studio keeps when it sanitises instructions (bleach) are used, written
    the way bleach writes them back, so the stored text equals this one.
    """
    keys = {(h.control, h.value): h.display for h in hotkeys(schema)}
    span_keys = [keys[SPAN_STANCE, label.name] for label in schema.span_stance.labels]
    doc_keys = [keys[STANCE, label.name] for label in schema.stance.labels]
    root = etree.Element("div")
    _add(root, "h2", f"How to label: stance towards {schema.stance.target}")
    _step(
        root,
        "Mark each passage about an issue: choose the issue (its button, or its key below), "
        "then select the passage with the mouse. Suggested passages are already marked: keep, "
        "change or delete them (select one, then ",
        ["Backspace"],
        ").",
    )
    need = "required" if schema.span_stance.required else "optional"
    _step(root, f"Select a marked passage to give its stance, {need} (", span_keys, "): ")
    _tail(root[-1], schema.span_stance.question)
    _step(root, "Answer for the whole article, required (", doc_keys, "): ")
    _tail(root[-1], schema.stance.question)
    _step(root, "Submit (", ["Ctrl+Enter"], "), or skip an article you cannot judge.")

    sections = (
        ("Issues", ISSUE, schema.issues, True),
        ("Passage stance", SPAN_STANCE, schema.span_stance.labels, False),
        ("Article stance", STANCE, schema.stance.labels, False),
    )
    for heading, control, labels, with_examples in sections:
        _add(root, "h3", heading)
        table = etree.SubElement(root, "table")
        head = etree.SubElement(etree.SubElement(table, "thead"), "tr")
        for name in ("Key", "Label", "Meaning", *(["Examples"] if with_examples else [])):
            _add(head, "th", name)
        body = etree.SubElement(table, "tbody")
        for label in labels:
            row = etree.SubElement(body, "tr")
            _add(_add(row, "td"), "kbd", keys[control, label.name])
            _add(_add(row, "td"), "b", label.title)
            _add(row, "td", label.description)
            if with_examples:
                _add(row, "td", "; ".join(label.examples))
    for element in root.iter("h2", "h3", "p", "table", "thead", "tbody", "tr"):
        element.tail = (element.tail or "") + "\n"  # one block per line: readable diffs
    out: str = etree.tostring(root, method="html", encoding="unicode")
    return out.removeprefix("<div>").removesuffix("</div>")


def _add(parent: Any, tag: str, text: str | None = None) -> Any:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def _tail(element: Any, text: str) -> None:
    """Append text after the last child of ``element`` (or to its text)."""
    children = list(element)
    if children:
        children[-1].tail = (children[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def _step(parent: Any, before: str, keys: list[str], after: str) -> None:
    """A numbered paragraph (Label Studio's styles hide list numbers): text, the keys
    (``<kbd>``, comma-separated), text."""
    step = etree.SubElement(parent, "p")
    _add(step, "b", f"{sum(1 for p in parent if p.tag == 'p')}.").tail = " " + before
    for i, key in enumerate(keys):
        _add(step, "kbd", key).tail = ", " if i < len(keys) - 1 else after


def project_instructions(schema: AnnotationSchema) -> dict[str, Any]:
    """The project fields that show :func:`instructions_html` before labelling."""
    return {"expert_instruction": instructions_html(schema), "show_instruction": True}

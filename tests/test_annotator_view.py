"""What annotators see: titles on the buttons, stable hotkeys, instructions before labelling.

Issue 11: "Annotators see schema identifiers (`export_controls_technology`) on the label
buttons; no instructions are shown before labelling." The browser test
(tests/test_browser.py) checks the same in Chromium; here the config and the instructions are
checked as values, and the project fields on the real server.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEEDS
from lxml import etree

from corpus.errors import SchemaError
from corpus.generated import hotkey_table
from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema, LabelDef, parse_schema
from corpus.labelstudio import StudioClient
from corpus.labelstudio.config import (
    ISSUE,
    SPAN_STANCE,
    STANCE,
    hotkeys,
    instructions_html,
    label_config,
    project_instructions,
)
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds import start_round
from corpus.rounds.state import load_round
from corpus.store import Store

# Label Studio 1.23.2's own single keys while labelling text (its keymap): a label or choice
# must not take one of them.
LABEL_STUDIO_KEYS = {"u", "h", "r", "backspace", "delete", "enter", "escape"}


def buttons(xml: str) -> dict[str, list[etree._Element]]:
    root = etree.fromstring(xml.encode())
    return {
        ISSUE: root.findall(".//Labels[@name='issue']/Label"),
        SPAN_STANCE: root.findall(".//Choices[@name='span_stance']/Choice"),
        STANCE: root.findall(".//Choices[@name='stance']/Choice"),
    }


def with_labels(schema: AnnotationSchema, **changes: Any) -> AnnotationSchema:
    return AnnotationSchema.model_validate(schema.model_dump() | changes)


def test_buttons_show_titles_and_store_identifiers(schema: AnnotationSchema) -> None:
    found = buttons(label_config(schema))
    expected = {
        ISSUE: schema.issues,
        SPAN_STANCE: schema.span_stance.labels,
        STANCE: schema.stance.labels,
    }
    for control, labels in expected.items():
        assert [b.get("value") for b in found[control]] == [x.name for x in labels], control
        # `html` is rendered as (sanitised) HTML: it holds the escaped title
        assert [html.unescape(b.get("html") or "") for b in found[control]] == [
            x.title for x in labels
        ]
        assert [b.get("hint") for b in found[control]] == [x.description for x in labels]
    assert "Export controls and technology" in [b.get("html") for b in found[ISSUE]]


def test_a_title_is_text_never_markup(schema: AnnotationSchema) -> None:
    title = '<img src=x onerror="alert(1)"> Trade & "tariffs"'
    first = schema.issues[0].model_copy(update={"title": title})
    changed = with_labels(schema, issues=[first.model_dump(), *schema.model_dump()["issues"][1:]])
    xml = label_config(changed)
    assert "<img" not in xml  # escaped twice: for HTML, then for XML
    label = buttons(xml)[ISSUE][0]
    assert label.get("value") == first.name
    assert (
        label.get("html")
        == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Trade &amp; &quot;tariffs&quot;"
    )
    assert "<img" not in instructions_html(changed)
    assert html.escape(title, quote=False) in instructions_html(changed)


def test_every_button_has_its_own_key(schema: AnnotationSchema) -> None:
    found = buttons(label_config(schema))
    keys = [b.get("hotkey") for control in found.values() for b in control]
    assert all(keys) and len(keys) == len(set(keys)), keys  # one key never fires two buttons
    assert not set(keys) & LABEL_STUDIO_KEYS
    assert [b.get("hotkey") for b in found[ISSUE]] == list("123456789")[: len(schema.issues)]
    assert [b.get("hotkey") for b in found[STANCE]] == ["a", "s", "d", "f"]
    assert [b.get("hotkey") for b in found[SPAN_STANCE]] == ["shift+1", "shift+2", "shift+3"]
    assert [(h.control, h.value, h.key) for h in hotkeys(schema)] == [
        (control, b.get("value"), b.get("hotkey")) for control in found for b in found[control]
    ]


def test_adding_a_label_moves_no_other_key(schema: AnnotationSchema) -> None:
    """Label Studio's automatic keys shift when a label is added; ours stay."""
    before = {(h.control, h.value): h.key for h in hotkeys(schema)}
    extra = LabelDef(name="energy", title="Energy", description="Oil, gas and power.")
    grown = with_labels(
        schema,
        issues=[*schema.model_dump()["issues"], extra.model_dump()],
        stance=schema.stance.model_dump()
        | {"labels": [*schema.stance.model_dump()["labels"], extra.model_dump()]},
    )
    after = {(h.control, h.value): h.key for h in hotkeys(grown)}
    assert {k: after[k] for k in before} == before
    assert after[ISSUE, "energy"] not in before.values()
    assert after[STANCE, "energy"] not in before.values()
    keys = list(after.values())
    assert len(keys) == len(set(keys))


def test_too_many_labels_for_the_keys_is_a_schema_error(schema: AnnotationSchema) -> None:
    many = [
        LabelDef(name=f"issue_{i}", title=f"Issue {i}", description="x").model_dump()
        for i in range(21)
    ]
    with pytest.raises(SchemaError, match="21 issue labels") as caught:  # checked on loading
        parse_schema(json.dumps(schema.model_dump() | {"issues": many}))
    assert caught.value.hint
    assert len(hotkeys(with_labels(schema, issues=many[:20]))) == 20 + 3 + 4


def test_instructions_show_every_label_description_example_and_key(
    schema: AnnotationSchema,
) -> None:
    text = instructions_html(schema)
    assert text == instructions_html(schema)  # pure
    assert schema.stance.question in text and schema.span_stance.question in text
    keys = {(h.control, h.value): h.display for h in hotkeys(schema)}
    for control, labels in (
        (ISSUE, schema.issues),
        (SPAN_STANCE, schema.span_stance.labels),
        (STANCE, schema.stance.labels),
    ):
        for label in labels:
            row = re.search(
                rf"<tr><td><kbd>{re.escape(keys[control, label.name])}</kbd></td>"
                rf"<td><b>{re.escape(html.escape(label.title, quote=False))}</b></td>"
                rf"<td>{re.escape(html.escape(label.description, quote=False))}</td>(.*?)</tr>",
                text,
            )
            assert row, (control, label.name)
            for example in label.examples:
                assert html.escape(example, quote=False) in row.group(1)
    # only tags Label Studio keeps (bleach); no attributes at all
    assert set(re.findall(r"<(\w+)", text)) <= {
        "h2", "h3", "p", "kbd", "table", "thead", "tbody", "tr", "th", "td", "b",
    }  # fmt: skip
    assert not re.search(r"<\w+ ", text)
    assert project_instructions(schema) == {"expert_instruction": text, "show_instruction": True}


def test_the_docs_document_the_hotkeys(schema: AnnotationSchema) -> None:
    page = (ROOT / "docs" / "concepts" / "rounds.md").read_text(encoding="utf-8")
    table = hotkey_table(schema)
    assert table in page, f"update the hotkey table of docs/concepts/rounds.md to:\n{table}"


def test_the_repository_schema_has_keys_for_its_labels() -> None:
    text = (ROOT / "schemas" / "annotation.yaml").read_text(encoding="utf-8")
    assert len(hotkeys(parse_schema(text))) == sum(
        1 for line in text.splitlines() if re.match(r"\s+- name: ", line)
    )


# --- on the real server -----------------------------------------------------------------------


@pytest.mark.studio
def test_round_projects_show_the_instructions(
    studio_client: StudioClient, store: Store, schema: AnnotationSchema, tmp_path: Path
) -> None:
    version = ingest([SEEDS], store=store, schema=schema).version
    assert version is not None
    pre = KeywordPreAnnotator(schema)
    start_round(studio_client, store, "r-help", version=version, schema=schema, preannotator=pre)
    pid = load_round(store.root, "r-help").project_id
    assert pid is not None
    project = studio_client.sdk.projects.get(id=pid)
    # stored exactly as generated: nothing was stripped by the server's sanitiser
    assert project.expert_instruction == instructions_html(schema)
    assert project.show_instruction is True
    assert project.label_config.strip() == label_config(schema).strip()

    # a project made before instructions existed gets them when the round is started again
    studio_client.update_project(pid, expert_instruction="", show_instruction=False)
    again = start_round(
        studio_client, store, "r-help", version=version, schema=schema, preannotator=pre
    )
    assert not again.created_project and again.imported == 0
    project = studio_client.sdk.projects.get(id=pid)
    assert project.expert_instruction == instructions_html(schema)
    assert project.show_instruction is True

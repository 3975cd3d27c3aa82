"""Issue 18's release cases: an optional label family nobody used, ``--out`` inside a release,
``--creator``/``--url`` checked before they reach the card and ``croissant.json``, and
``publish`` without a network."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import build_gold_version
from test_release import build, rewrite

from corpus.errors import ReleaseGateError
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio.config import label_config
from corpus.store import Store


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    root = tmp_path_factory.mktemp("edges")
    store = Store(root / "store")
    return store, build_gold_version(store, load_schema(), root / "articles", n=48)


def without_span_stance(
    store: Store, version: str, minor: int, keep: frozenset[str] = frozenset()
) -> str:
    """A copy of ``version`` whose spans (gold and annotators') carry no stance, except the
    gold spans of the documents in ``keep``."""

    def drop(row: dict[str, Any]) -> dict[str, Any]:
        return row if row["doc_id"] in keep else {**row, "stance": None}

    middle = rewrite(store, version, f"7.{minor}.1", "spans", drop)
    return rewrite(store, middle, f"7.{minor}.2", "gold_spans", drop)


def required(schema: AnnotationSchema) -> AnnotationSchema:
    spec = schema.span_stance.model_copy(update={"required": True})
    return schema.model_copy(update={"span_stance": spec})


def test_optional_span_stance_nobody_set_releases_and_the_card_says_so(
    gold: tuple[Store, str],
) -> None:
    """issue 18 case 13: a round where nobody set the optional span stance released only with
    --force ("no example of span stance supportive in any split"). README "Releases": an
    optional family nobody used is not gated, and the card says it was not annotated."""
    store, version = gold
    schema = load_schema()
    assert not schema.span_stance.required  # today's interface: optional
    bare = without_span_stance(store, version, 0)
    result = build(store, schema, bare, "1.0.0")  # unforced
    assert result.forced == []
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["split"]["not_annotated"] == ["span_stance"]
    card = (result.path / "README.md").read_text()
    assert "**Span stance was not annotated in this release**" in card
    croissant = (result.path / "croissant.json").read_text()
    assert "span stance is optional and was not annotated" in croissant


def test_required_span_stance_nobody_set_is_refused(gold: tuple[Store, str]) -> None:
    """issue 18 case 13: when the schema requires span stance, a release without one is still
    refused by its label gate."""
    store, version = gold
    bare = without_span_stance(store, version, 1)
    with pytest.raises(ReleaseGateError, match="no example of span stance supportive in any"):
        build(store, required(load_schema()), bare, "1.1.0")


def test_an_optional_label_that_occurs_but_misses_a_split_still_stops_the_release(
    gold: tuple[Store, str],
) -> None:
    """issue 18 case 13: optional skips only a family nobody used; a span stance on two
    documents (fewer than the splits) stops the release."""
    store, version = gold
    spans = store.read_table(version, "gold_spans").to_pylist()
    two = sorted({s["doc_id"] for s in spans if s["stance"] is not None})[:2]
    partial = without_span_stance(store, version, 2, keep=frozenset(two))
    with pytest.raises(ReleaseGateError, match="labels: no example of span stance"):
        build(store, load_schema(), partial, "1.2.0")


def test_the_interface_requires_span_stance_when_the_schema_does() -> None:
    """issue 18 case 13: `span_stance: required: true` puts required="true" on the per-region
    Choices; the default keeps today's optional interface (and the schema's hash)."""
    from lxml import etree

    schema = load_schema()

    def span_choices(xml: str) -> Any:
        return etree.fromstring(xml).find(".//Choices[@name='span_stance']")

    assert span_choices(label_config(schema)).get("required") is None
    assert span_choices(label_config(required(schema))).get("required") == "true"
    assert required(schema).hash() != schema.hash()
    assert "required" not in json.loads(schema.canonical_json())["span_stance"]

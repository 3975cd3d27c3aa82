"""The annotation schema and the files generated from the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

from corpus.errors import SchemaError
from corpus.features import arrow_schema
from corpus.generated import generated_files, stale_files
from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema, load_schema, parse_schema
from corpus.models import Document, Paragraph, Sentence
from corpus.store import Store


def test_repository_schema_is_valid_and_complete(schema: AnnotationSchema) -> None:
    assert schema.stance.target == "closer US–China economic cooperation"
    assert set(schema.stance_names) >= {"supportive", "opposed", "neutral", "mixed"}
    for required in (
        "trade",
        "export_controls_technology",
        "national_security",
        "human_rights",
        "taiwan",
        "investment_economy",
        "exchanges",
        "diplomacy_dialogue",
    ):
        assert required in schema.issue_names
    seed = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    for label in schema.issues:
        assert label.description and label.examples
        assert all(example in seed for example in label.examples), label.name


def test_schema_errors_name_the_field() -> None:
    text = (ROOT / "schemas" / "annotation.yaml").read_text(encoding="utf-8")
    broken = text.replace("  - name: taiwan", "  - name: trade", 1)
    with pytest.raises(SchemaError, match="label 'trade' appears twice in issues"):
        parse_schema(broken, source="x.yaml")
    with pytest.raises(SchemaError, match=r"\[issues -> 0 -> name\]"):
        parse_schema(text.replace("  - name: trade", "  - name: Trade Policy", 1))
    with pytest.raises(SchemaError, match="not valid YAML"):
        parse_schema("a: [", source="bad.yaml")
    with pytest.raises(SchemaError, match="cannot read"):
        load_schema(Path("/nonexistent/schema.yaml"))


def test_schema_hash_tracks_content(schema: AnnotationSchema) -> None:
    text = (ROOT / "schemas" / "annotation.yaml").read_text(encoding="utf-8")
    assert parse_schema(text).hash() == schema.hash()
    assert (
        parse_schema(text.replace("Human rights, civil", "Human rights and civil")).hash()
        != schema.hash()
    )


def test_generated_files_are_fresh() -> None:
    assert stale_files(ROOT / "schemas") == [], "run `corpus schema generate`"
    assert set(generated_files()) == {
        "document.schema.json",
        "paragraph.schema.json",
        "sentence.schema.json",
        "span_annotation.schema.json",
        "version_manifest.schema.json",
        "annotation.schema.json",
        "gold_annotation.schema.json",
        "gold_span.schema.json",
        "labelstudio.xml",
        "labelstudio-instructions.html",
    }


def test_stale_file_is_detected(tmp_path: Path) -> None:
    for name, content in generated_files().items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    assert stale_files(tmp_path) == []
    (tmp_path / "sentence.schema.json").write_text("{}", encoding="utf-8")
    assert stale_files(tmp_path) == ["sentence.schema.json"]


def test_stored_tables_have_the_model_schemas(store: Store, schema: AnnotationSchema) -> None:
    ingest([SEEDS], store=store, schema=schema)
    for table, model in (
        ("documents", Document),
        ("paragraphs", Paragraph),
        ("sentences", Sentence),
    ):
        assert store.read_table("0.1.0", table).schema.equals(arrow_schema(model)), table
        rows = store.read_table("0.1.0", table).to_pylist()
        model.model_validate(rows[0])  # rows validate against the public record type
    assert store.manifest("0.1.0").schema_hash == schema.hash()

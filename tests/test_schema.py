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


# --- issue 18, further cases (schema and rounds) -------------------------------------------


def _schema_file(tmp_path: Path, issues: int) -> Path:
    import yaml

    raw = yaml.safe_load((ROOT / "schemas" / "annotation.yaml").read_text(encoding="utf-8"))
    template = raw["issues"][0]
    raw["issues"] = [
        {**template, "name": f"issue_{i}", "title": f"Issue {i}", "examples": [], "keywords": []}
        for i in range(issues)
    ]
    path = tmp_path / f"schema-{issues}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_schema_check_refuses_what_round_start_refuses(tmp_path: Path) -> None:
    """issue 18 further case: `schema check` passed a 39-label schema that `round start` then
    refused (too many labels for the hotkeys). docs/concepts/schema.md "The annotation schema": one
    check, applied when a schema is loaded, by every command."""
    from typer.testing import CliRunner

    from corpus.cli import app

    big = _schema_file(tmp_path, 39)
    result = CliRunner().invoke(app, ["schema", "check", "--schema", str(big)])
    assert result.exit_code == 1, result.output
    assert "39 issue labels" in result.output and "at most 20" in result.output
    assert "hint" in result.output
    with pytest.raises(SchemaError, match="39 issue labels") as caught:
        load_schema(big)
    assert caught.value.hint
    load_schema(_schema_file(tmp_path, 20))  # the pool's size is allowed


def test_schema_generate_and_check_honour_corpus_schema(tmp_path: Path) -> None:
    """issue 18 further case: `schema generate` ignored CORPUS_SCHEMA (it always wrote the
    project's labels). docs/concepts/schema.md "The annotation schema": both read --schema or
    CORPUS_SCHEMA."""
    from typer.testing import CliRunner

    from corpus.cli import app

    custom = _schema_file(tmp_path, 3)
    out = tmp_path / "generated"
    env = {"CORPUS_SCHEMA": str(custom)}
    runner = CliRunner()
    result = runner.invoke(app, ["schema", "generate", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    xml = (out / "labelstudio.xml").read_text(encoding="utf-8")
    assert 'value="issue_2"' in xml and 'value="trade"' not in xml
    checked = runner.invoke(app, ["schema", "check", "--out", str(out)], env=env)
    assert checked.exit_code == 0, checked.output
    assert "3 issue labels" in checked.output
    # the project's schema differs from what was generated: stale
    stale = runner.invoke(app, ["schema", "check", "--out", str(out)])
    assert stale.exit_code == 1 and "labelstudio.xml" in stale.output


def test_load_schema_takes_a_str_path() -> None:
    """issue 18 further case (CLI and API): `load_schema` refused a `str` path."""
    path = ROOT / "schemas" / "annotation.yaml"
    assert load_schema(str(path)) == load_schema(path)

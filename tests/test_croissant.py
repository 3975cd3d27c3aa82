"""croissant.json against mlcroissant 1.1 (offline): first on a small folder written here with
every feature kind a release uses, then on releases the build writes (full and offsets-only).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import build_gold_version

import corpus.release.croissant as C
import corpus.release.croissant_fields as F
from corpus.label_schema import load_schema
from corpus.release import ReleaseResult, build_release, verify_release
from corpus.store import Store

STANCE = ["supportive", "opposed", "neutral", "mixed"]
SPAN_STANCE = ["supportive", "opposed", "neutral"]
ISSUES = ["trade", "taiwan", "climate"]
TAGS = ["O"] + [f"{p}-{n}" for n in ISSUES for p in ("B", "I")]
SPLITS = ("train", "validation", "test")
CONFIGS = ("documents", "sentences", "tokens", "raw_annotations")
N_DOCS = {"train": 3, "validation": 2, "test": 2}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def hf_features() -> dict[str, Any]:
    """The release builder's features (corpus/release/tables.py), with a small schema."""
    from datasets import ClassLabel, Features, List, Value

    stance = ClassLabel(names=STANCE)
    span = {
        "start": Value("int32"),
        "end": Value("int32"),
        "label": ClassLabel(names=ISSUES),
        "stance": ClassLabel(names=SPAN_STANCE),
    }
    return {
        "documents": Features({
            "doc_id": Value("string"), "title": Value("string"), "text": Value("string"),
            "stance": stance, "spans": List(span), "dup_group": Value("string"),
            "source": Value("string"), "url": Value("string"),
            "published_at": Value("timestamp[us, tz=UTC]"),
        }),
        "sentences": Features({
            "doc_id": Value("string"), "sentence_index": Value("int32"), "text": Value("string"),
            "doc_stance": stance, "spans": List(span),
        }),
        "tokens": Features({
            "doc_id": Value("string"), "sentence_index": Value("int32"),
            "tokens": List(Value("string")), "tags": List(ClassLabel(names=TAGS)),
        }),
        "raw_annotations": Features({
            "doc_id": Value("string"), "round": Value("string"), "annotator": Value("string"),
            "stance": stance, "cancelled": Value("bool"), "spans": List(span),
        }),
    }  # fmt: skip


def rows_of(split: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
    text = "Tariffs rose. Zölle – 关税 fell."
    for i in range(N_DOCS[split]):
        doc_id = f"{split}-{i}"
        stance = -1 if i == 2 else (i + len(split)) % len(STANCE)
        spans = (
            []
            if i == 1
            else [
                {"start": 0, "end": 7, "label": i % 3, "stance": 1},
                {"start": 14, "end": 19, "label": 2, "stance": -1 if i else 0},
            ]
        )
        out["documents"].append({
            "doc_id": doc_id, "title": f"Title {doc_id}", "text": text, "stance": stance,
            "spans": spans, "dup_group": f"g-{doc_id}", "source": None if i == 0 else "wire",
            "url": f"https://news.example/{doc_id}",
            "published_at": None if i == 1 else datetime(2026, 3, 1, 12, i, tzinfo=UTC),
        })  # fmt: skip
        for k, (start, sentence) in enumerate(((0, "Tariffs rose."), (14, "Zölle – 关税 fell."))):
            inside = [
                {**s, "start": s["start"] - start, "end": s["end"] - start}
                for s in spans
                if start <= s["start"] < start + len(sentence)
            ]
            out["sentences"].append({
                "doc_id": doc_id, "sentence_index": k, "text": sentence,
                "doc_stance": stance, "spans": inside,
            })  # fmt: skip
            words = sentence.replace(".", " .").split()
            if inside:
                tags = [1 + 2 * inside[0]["label"]] + [0] * (len(words) - 1)
            else:  # an empty list too, to see it come back as []
                tags = [0] * len(words) if k else []
            out["tokens"].append(
                {"doc_id": doc_id, "sentence_index": k, "tokens": words, "tags": tags}
            )
        for a in ("ann-01", "ann-02"):
            out["raw_annotations"].append({
                "doc_id": doc_id, "round": "r1", "annotator": a, "stance": max(stance, 0),
                "cancelled": a == "ann-02" and i == 0, "spans": spans if a == "ann-01" else [],
            })  # fmt: skip
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_release(folder: Path) -> tuple[C.Release, dict[str, dict[str, list[dict[str, Any]]]]]:
    """Writes Parquet as corpus.release.writer does; returns the description."""
    feats = hf_features()
    written: dict[str, dict[str, list[dict[str, Any]]]] = {c: {} for c in CONFIGS}
    for split in SPLITS:
        rows = rows_of(split)
        for config in CONFIGS:
            (folder / config).mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist(rows[config], schema=feats[config].arrow_schema)
            pq.write_table(table, str(folder / config / f"{split}-00000-of-00001.parquet"))
            written[config][split] = rows[config]
    (folder / "README.md").write_text("---\npretty_name: test\n---\n# Test\n", "utf-8")
    (folder / "CHANGELOG.md").write_text("# Changelog\n", "utf-8")
    listed = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    manifest = {"files": {p: {"sha256": sha256(folder / p)} for p in listed}}
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    listed.append("manifest.json")
    files = [
        C.ReleaseFile(p, sha256(folder / p), (folder / p).stat().st_size, C.media_type(p))
        for p in listed
    ]
    configs = {
        c: F.Config(
            features=F.features_from_hf(feats[c].to_dict()),
            splits={s: f"{c}/{s}-00000-of-00001.parquet" for s in SPLITS},
            description=f"The {c} config.",
            key=("doc_id",) if c == "documents" else (),
        )
        for c in CONFIGS
    }
    release = C.Release(
        name="newsstance-test",
        description="A tiny test release.",
        license="https://creativecommons.org/licenses/by/4.0/",
        version="1.2.0",
        date_published="2026-11-30",
        cite_as="@misc{newsstance, title={NewsStance}, year={2026}}",
        url="https://example.org/newsstance",
        creators=[C.Creator("Example Lab", "https://example.org")],
        files=files,
        configs=configs,
        keywords=["stance detection", "news"],
        rai=C.Rai(
            annotation_protocol="Annotators mark document stance and issue spans.",
            annotation_platform=["Label Studio 1.23.2"],
            annotations_per_item="2 annotators per document in round r1.",
            annotation_analysis=["Document stance, Krippendorff's alpha: 0.712",
                                 "Span F1: not measured"],
            pseudonymisation="Annotators appear under pseudonyms (ann-01, ...).",
            personal_sensitive_information=["News text may name public figures."],
            limitations=["Covers the ingested sources only."],
            biases=["Source selection over-represents wire services."],
            maintenance_plan="Releases are immutable; errata go into a new minor version.",
        ),
    )  # fmt: skip
    return release, written


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any, Any]]:
    folder = tmp_path_factory.mktemp("release")
    release, written = make_release(folder)
    doc = C.croissant(release)
    (folder / "croissant.json").write_text(json.dumps(doc, indent=2), "utf-8")
    yield folder, release, written


def load(path: Path | dict[str, Any]) -> Any:
    import mlcroissant as mlc

    return mlc.Dataset(jsonld=path if isinstance(path, dict) else str(path))


def plain(value: Any) -> Any:
    """An mlcroissant record as plain Python: str not bytes, keys without their id path."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dict):
        return {k.rsplit("/", 1)[-1]: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------


def test_features_from_hf_matches_the_simple_form() -> None:
    feats = F.features_from_hf(hf_features()["documents"].to_dict())
    span = F.Struct({
        "start": "int32", "end": "int32",
        "label": F.ClassLabel(tuple(ISSUES)), "stance": F.ClassLabel(tuple(SPAN_STANCE)),
    })  # fmt: skip
    assert feats["stance"] == F.ClassLabel(tuple(STANCE))
    assert feats["spans"] == F.ListOf(span)
    assert feats["doc_id"] == "string"
    tokens = F.features_from_hf(hf_features()["tokens"].to_dict())
    assert tokens["tokens"] == F.ListOf("string")
    assert tokens["tags"] == F.ListOf(F.ClassLabel(tuple(TAGS)))
    assert F.features_from_hf(hf_features()["raw_annotations"].to_dict())["cancelled"] == "bool"


def test_shape(release_dir: tuple[Path, C.Release, Any]) -> None:
    folder, release, _ = release_dir
    doc = json.loads((folder / "croissant.json").read_text("utf-8"))
    ctx = doc["@context"]
    assert ctx["rai"] == "http://mlcommons.org/croissant/RAI/"
    assert ctx["cr"] == "http://mlcommons.org/croissant/"
    assert ctx["dct"] == "http://purl.org/dc/terms/"
    assert doc["@type"] == "sc:Dataset"
    assert doc["conformsTo"] == [C.CROISSANT_1_1, C.RAI_1_0]
    assert doc["isLiveDataset"] is False
    for key in ("name", "description", "license", "url", "creator", "datePublished",
                "version", "citeAs"):  # fmt: skip
        assert doc[key], key
    objects = [d for d in doc["distribution"] if d["@type"] == "cr:FileObject"]
    sets = [d for d in doc["distribution"] if d["@type"] == "cr:FileSet"]
    assert len(objects) == len(release.files) == 4 * 3 + 3
    assert all(len(o["sha256"]) == 64 and o["contentSize"].endswith(" B") for o in objects)
    assert {o["encodingFormat"] for o in objects if o["@id"].endswith(".parquet")} == {F.PARQUET}
    assert [s["@id"] for s in sets] == [f"{c}-parquet" for c in CONFIGS]
    ids = [r["@id"] for r in doc["recordSet"]]
    assert ids[0] == "splits" and ids[-4:] == list(CONFIGS)
    splits = doc["recordSet"][0]
    assert splits["dataType"] == "cr:Split"
    assert [d["splits/url"] for d in splits["data"]] == [
        "cr:TrainingSplit", "cr:ValidationSplit", "cr:TestSplit"
    ]  # fmt: skip
    enums = [r for r in doc["recordSet"] if r.get("dataType") == "sc:Enumeration"]
    assert [[d[f"{e['@id']}/name"] for d in e["data"]] for e in enums] == [
        STANCE, ISSUES, SPAN_STANCE, TAGS
    ]  # fmt: skip
    documents = doc["recordSet"][-4]
    by_id = {f["@id"]: f for f in documents["field"]}
    assert documents["field"][0]["@id"] == "documents/split"
    assert by_id["documents/stance"]["references"] == {
        "field": {"@id": "documents-stance-labels/id"}
    }
    spans = by_id["documents/spans"]
    assert spans["isArray"] is True and spans["dataType"] == "cr:Label"
    assert [s["source"]["transform"] for s in spans["subField"]] == [
        {"jsonPath": k} for k in ("start", "end", "label", "stance")
    ]
    assert [s.get("references") for s in spans["subField"]] == [
        None,
        None,
        {"field": {"@id": "documents-spans-label-labels/id"}},
        {"field": {"@id": "documents-spans-stance-labels/id"}},
    ]
    # sentences/doc_stance shares the stance enumeration (same names)
    sentences = {f["@id"]: f for f in doc["recordSet"][-3]["field"]}
    assert (
        sentences["sentences/doc_stance"]["references"] == by_id["documents/stance"]["references"]
    )


def test_rai_properties(release_dir: tuple[Path, C.Release, Any]) -> None:
    folder, _, _ = release_dir
    doc = json.loads((folder / "croissant.json").read_text("utf-8"))
    expected = {
        "rai:dataAnnotationProtocol", "rai:dataAnnotationPlatform", "rai:dataAnnotationAnalysis",
        "rai:annotationsPerItem", "rai:annotatorDemographics", "rai:dataLimitations",
        "rai:dataBiases", "rai:personalSensitiveInformation", "rai:dataReleaseMaintenancePlan",
    }  # fmt: skip
    assert expected <= set(doc)
    for key in expected:
        value = doc[key]
        assert isinstance(value, str) or all(isinstance(v, str) for v in value), key
    assert doc["rai:dataAnnotationPlatform"] == "Label Studio 1.23.2"
    assert doc["rai:annotatorDemographics"] == "Not collected."
    assert doc["rai:dataAnnotationAnalysis"] == [
        "Document stance, Krippendorff's alpha: 0.712",
        "Span F1: not measured",
    ]
    assert doc["rai:personalSensitiveInformation"][0].startswith("Annotators appear under")
    # what mlcroissant parsed
    meta = load(folder / "croissant.json").metadata
    assert meta.data_annotation_platform == ["Label Studio 1.23.2"]
    assert meta.annotations_per_item == "2 annotators per document in round r1."
    assert meta.data_release_maintenance_plan.startswith("Releases are immutable")


def test_validates_without_errors_or_warnings(
    release_dir: tuple[Path, C.Release, Any], caplog: pytest.LogCaptureFixture
) -> None:
    folder, _, _ = release_dir
    with caplog.at_level(logging.WARNING):
        ds = load(folder / "croissant.json")
    issues = ds.metadata.ctx.issues
    assert not issues.errors, issues.report()
    assert not issues.warnings, issues.report()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_cli_validate(release_dir: tuple[Path, C.Release, Any]) -> None:
    folder, _, _ = release_dir
    cli = Path(sys.executable).with_name("mlcroissant")
    done = subprocess.run(
        [str(cli), "validate", "--jsonld", str(folder / "croissant.json")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "no_proxy": "*"},
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "warning" not in out.lower() and "error" not in out.lower(), out


def test_reads_every_record_set(
    release_dir: tuple[Path, C.Release, Any], caplog: pytest.LogCaptureFixture
) -> None:
    folder, _, written = release_dir
    ds = load(folder / "croissant.json")
    doc = json.loads((folder / "croissant.json").read_text("utf-8"))
    read = set()
    with caplog.at_level(logging.WARNING):
        for rs in doc["recordSet"]:
            records = [plain(r) for r in ds.records(record_set=rs["@id"])]
            read.add(rs["@id"])
            if "data" in rs:  # splits and enumerations: exactly their inline data
                assert records == [plain(d) for d in rs["data"]]
                continue
            config = rs["@id"]
            by_split: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
            for r in records:
                by_split[r.pop("split")].append(r)
            for split in SPLITS:
                assert by_split[split] == written[config][split], (config, split)
    assert read == {r.uuid for r in ds.metadata.record_sets}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_values_come_back_typed(release_dir: tuple[Path, C.Release, Any]) -> None:
    folder, _, _ = release_dir
    ds = load(folder / "croissant.json")
    docs = {r["documents/doc_id"]: r for r in ds.records(record_set="documents")}
    first = docs[b"train-0"]
    assert first["documents/split"] == b"train"
    assert first["documents/source"] is None
    assert type(first["documents/stance"]) is int
    assert docs[b"train-2"]["documents/stance"] == -1
    assert first["documents/spans"] == [
        {"documents/spans/start": 0, "documents/spans/end": 7,
         "documents/spans/label": 0, "documents/spans/stance": 1},
        {"documents/spans/start": 14, "documents/spans/end": 19,
         "documents/spans/label": 2, "documents/spans/stance": 0},
    ]  # fmt: skip
    assert docs[b"train-1"]["documents/spans"] == []
    text = first["documents/text"].decode("utf-8")
    assert text[14:19] == "Zölle"  # offsets index the decoded string
    raw = list(ds.records(record_set="raw_annotations"))
    assert {type(r["raw_annotations/cancelled"]) for r in raw} == {bool}
    assert sum(r["raw_annotations/cancelled"] for r in raw) == len(SPLITS)
    tokens = list(ds.records(record_set="tokens"))
    assert tokens[0]["tokens/tokens"][0] == b"Tariffs"


def test_split_filter_needs_label_references_off(tmp_path: Path) -> None:
    release, _ = make_release(tmp_path)
    path = tmp_path / "croissant.json"
    doc = C.croissant(dataclasses.replace(release, label_references=False))
    assert '"references"' not in json.dumps(doc["recordSet"][1:]).replace(
        '"references": {"field": {"@id": "splits/name"}}', ""
    )
    path.write_text(json.dumps(doc), "utf-8")
    ds = load(path)
    for split in SPLITS:
        records = list(ds.records("raw_annotations", filters={"raw_annotations/split": split}))
        assert len(records) == 2 * N_DOCS[split]
        assert {r["raw_annotations/split"] for r in records} == {split.encode()}
    # with the label references (the default) mlcroissant 1.1.1 cannot filter
    path.write_text(json.dumps(C.croissant(release)), "utf-8")
    with pytest.raises(Exception, match="Join"):
        list(load(path).records("raw_annotations", filters={"raw_annotations/split": "test"}))


def test_tampered_sha256(release_dir: tuple[Path, C.Release, Any], tmp_path: Path) -> None:
    folder, _, written = release_dir
    doc = json.loads((folder / "croissant.json").read_text("utf-8"))
    target = "documents/train-00000-of-00001.parquet"
    bad = copy.deepcopy(doc)
    for d in bad["distribution"]:
        if d["@id"] == target:
            d["sha256"] = "0" * 64
    # 1. Our layout: records come from the FileSet, which has no checksum, so mlcroissant
    #    neither validates nor reads the FileObject: the wrong sha256 goes unnoticed.
    path = folder / "croissant-tampered.json"
    path.write_text(json.dumps(bad), "utf-8")
    try:
        ds = load(path)
        assert not ds.metadata.ctx.issues.errors
        assert len(list(ds.records("documents"))) == sum(N_DOCS.values())
    finally:
        path.unlink()
    # 2. A record set read straight from that FileObject: mlcroissant checks the hash.
    direct = {
        **{k: v for k, v in doc.items() if k not in ("distribution", "recordSet")},
        "distribution": [d for d in doc["distribution"] if d["@id"] == target],
        "recordSet": [{
            "@type": "cr:RecordSet", "@id": "train_docs",
            "field": [{
                "@type": "cr:Field", "@id": "train_docs/doc_id", "dataType": "sc:Text",
                "source": {"fileObject": {"@id": target}, "extract": {"column": "doc_id"}},
            }],
        }],
    }  # fmt: skip
    path = folder / "croissant-direct.json"
    try:
        path.write_text(json.dumps(direct), "utf-8")
        ids = [plain(r)["doc_id"] for r in load(path).records("train_docs")]
        assert ids == [r["doc_id"] for r in written["documents"]["train"]]
        direct["distribution"][0]["sha256"] = "0" * 64
        path.write_text(json.dumps(direct), "utf-8")
        with pytest.raises(Exception) as caught:
            list(load(path).records("train_docs"))
        assert "Hash of downloaded file" in str(caught.value.__cause__ or caught.value)
    finally:
        path.unlink()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: {"splits": {"dev": "documents/train-00000-of-00001.parquet"}}, "dev"),
        (lambda r: {"splits": {"train": "documents/missing.parquet"}}, "not among the Parquet"),
        (lambda r: {"splits": {"test": "documents/train-00000-of-00001.parquet"}}, "split"),
        (lambda r: {"features": {"x": F.ListOf(F.ListOf("string"))}}, "lists of lists"),
        (lambda r: {"features": {"x": F.ListOf(F.Struct({"y": F.ListOf("int32")}))}}, "nested"),
        (lambda r: {"features": {"split": "string"}}, "clashes"),
        (lambda r: {"features": {"x": "date32"}}, "unsupported type"),
    ],
)
def test_rejects(tmp_path: Path, change: Any, message: str) -> None:
    release, _ = make_release(tmp_path)
    config = dataclasses.replace(release.configs["documents"], **change(release))
    bad = dataclasses.replace(release, configs={**release.configs, "documents": config})
    with pytest.raises(ValueError, match=message):
        C.croissant(bad)


def test_rejects_hf_sequence_of_dict() -> None:
    """`Sequence({...})` is a dict of lists in datasets: no honest Croissant nesting."""
    from datasets import Features, Sequence, Value

    feats = F.features_from_hf(Features({"a": Sequence({"b": Value("int32")})}).to_dict())
    assert feats == {"a": F.Struct({"b": F.ListOf("int32")})}
    config = F.Config(features=feats, splits={"train": "c/train-00000-of-00001.parquet"})
    with pytest.raises(ValueError, match="nested"):
        F.config_record_set("c", config, list(config.splits.values()), F.Enumerations(True))


def test_pure_and_deterministic(release_dir: tuple[Path, C.Release, Any]) -> None:
    _, release, _ = release_dir
    assert json.dumps(C.croissant(release)) == json.dumps(C.croissant(release))
    for module in (C, F):
        source = Path(module.__file__).read_text("utf-8")
        assert "import mlcroissant" not in source and "import datasets" not in source


# releases the build writes ------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReleaseResult]:
    root = tmp_path_factory.mktemp("built")
    store, schema = Store(root / "store"), load_schema()
    version = build_gold_version(store, schema, root / "articles", n=30)
    return {
        text: build_release(
            store,
            version,
            release=release,
            schema=schema,
            text=text,
            url="https://example.org/corpus",
            creators=["Example Lab"],
        )
        for text, release in (("full", "1.0.0"), ("none", "1.0.1"))
    }


@pytest.mark.parametrize("text", ["full", "none"])
def test_a_built_release_validates_and_every_config_reads_back(
    built: dict[str, ReleaseResult], text: str, caplog: pytest.LogCaptureFixture
) -> None:
    release = built[text]
    with caplog.at_level(logging.WARNING):
        ds = load(release.path / "croissant.json")
        issues = ds.metadata.ctx.issues
        assert not issues.errors and not issues.warnings, issues.report()
        for config, splits in release.rows.items():
            records = [plain(r) for r in ds.records(record_set=config)]
            for split in splits:
                parquet = pq.read_table(release.path / config / f"{split}-00000-of-00001.parquet")
                got = [{k: v for k, v in r.items() if k != "split"} for r in records
                       if r["split"] == split]  # fmt: skip
                assert got == parquet.to_pylist(), (config, split)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_built_release_lists_every_file_and_says_what_it_is(
    built: dict[str, ReleaseResult],
) -> None:
    for text, release in built.items():
        doc = json.loads((release.path / "croissant.json").read_text())
        manifest = json.loads((release.path / "manifest.json").read_text())
        objects = {d["@id"]: d for d in doc["distribution"] if d["@type"] == "cr:FileObject"}
        on_disk = {p.relative_to(release.path).as_posix() for p in release.path.rglob("*")
                   if p.is_file()} - {"croissant.json", "SHA256SUMS"}  # fmt: skip
        assert set(objects) == on_disk and "manifest.json" in objects
        assert objects["manifest.json"]["sha256"] == sha256(release.path / "manifest.json")
        assert doc["version"] == release.release and doc["url"] == "https://example.org/corpus"
        assert doc["creator"] == [{"@type": "sc:Organization", "name": "Example Lab"}]
        assert doc["citeAs"].startswith("@misc{") and "Example Lab" in doc["citeAs"]
        assert doc["license"] == "cc-by-4.0"
        assert ("carries no article text" in doc["description"]) == (text == "none")
        fields = {f["name"] for r in doc["recordSet"] if r["@id"] == "documents"
                  for f in r["field"]}  # fmt: skip
        assert ("text" in fields) == (text == "full")
        assert ("text_sha256" in fields) == (text == "none")
        # the RAI fields carry the round's figures, as the card prints them
        analysis = doc["rai:dataAnnotationAnalysis"]
        alpha = manifest["card"]["agreement"][0]["alpha"]
        assert any(f"Krippendorff's alpha {alpha}" in line for line in analysis)
        assert doc["rai:annotationsPerItem"].startswith("3 annotator(s) per document")
        assert "pseudonyms" in doc["rai:personalSensitiveInformation"][0]


def test_verify_checks_croissant_of_both_kinds(
    built: dict[str, ReleaseResult], tmp_path: Path
) -> None:
    for text, release in built.items():
        report = verify_release(release.path, cache_dir=tmp_path)
        assert report.text == text
        assert report.croissant["records"] == release.rows
        assert report.croissant["all_records"] is True and report.croissant["warnings"] == []

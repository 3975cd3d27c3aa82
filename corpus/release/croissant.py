"""``croissant.json``: Croissant 1.1 JSON-LD with the Responsible-AI extension (pure).

:func:`croissant` turns a :class:`Release` (plain data about the files, configs and the
annotation process) into the JSON-LD ``dict``; :func:`release_croissant` makes that
:class:`Release` from what a build records (manifest, features, file list). Nothing here
reads a file or imports ``mlcroissant``; :mod:`corpus.release.verify_croissant` checks the
result with it.

- ``distribution``: one ``cr:FileObject`` per file (relative ``contentUrl``, ``sha256``,
  ``contentSize``), ``manifest.json`` included, and one local ``cr:FileSet`` per config whose
  ``includes`` lists that config's Parquet files. Record sets read the FileSets (a field has
  one source, and mlcroissant cannot read a FileSet ``containedIn`` plain FileObjects), so
  mlcroissant never checks the FileObjects' ``sha256``; ``corpus release verify`` does.
- ``recordSet``: see :mod:`corpus.release.croissant_fields`.
- Departures from the spec's text that mlcroissant 1.1 needs: schema.org as
  ``https://schema.org/`` (as in the spec's 1.1 example datasets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from corpus.release.croissant_fields import (
    PARQUET,
    SPLIT_TYPES,
    SPLITS_ID,
    Config,
    Enumerations,
    config_record_set,
    features_from_hf,
    file_set,
    file_set_id,
    splits_record_set,
)
from corpus.store import is_version

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"
RAI_1_0 = "http://mlcommons.org/croissant/RAI/1.0"
# The @context of the Croissant 1.1 spec (appendix 1) merged with the one mlcroissant 1.1
# writes; schema.org as https://schema.org/ (mlcroissant matches data types against it).
_TERMS = [
    "annotation", "arrayShape", "citeAs", "column", "containedIn", "equivalentProperty",
    "excludes", "extract", "field", "fileObject", "fileProperty", "fileSet", "format",
    "includes", "isArray", "isLiveDataset", "jsonPath", "key", "md5", "parentField", "path",
    "readLines", "recordSet", "references", "regex", "repeated", "replace", "samplingRate",
    "sdVersion", "separator", "source", "subField", "transform", "unArchive", "value",
]  # fmt: skip
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    **{term: f"cr:{term}" for term in _TERMS},
    "conformsTo": "dct:conformsTo",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "examples": {"@id": "cr:examples", "@type": "@json"},
}
MEDIA_TYPES = {".parquet": PARQUET, ".json": "application/json", ".md": "text/markdown",
               ".png": "image/png"}  # fmt: skip


@dataclass(frozen=True)
class ReleaseFile:
    path: str  # relative to the release folder, "/" separated
    sha256: str
    size: int  # bytes
    encoding_format: str  # MIME type


@dataclass(frozen=True)
class Creator:
    name: str
    url: str | None = None
    kind: Literal["Organization", "Person"] = "Organization"


@dataclass(frozen=True)
class Rai:
    """Responsible-AI facts (``rai:`` properties of the RAI 1.0 spec), all text."""

    annotation_protocol: str
    annotation_platform: Sequence[str]
    annotations_per_item: str
    annotation_analysis: Sequence[str]  # agreement figures, how gold was decided
    pseudonymisation: str
    personal_sensitive_information: Sequence[str]
    limitations: Sequence[str]
    biases: Sequence[str]
    maintenance_plan: str
    annotator_demographics: Sequence[str] = ("Not collected.",)
    machine_annotation_tools: Sequence[str] = ()
    data_collection: str | None = None
    use_cases: Sequence[str] = ()


@dataclass(frozen=True)
class Release:
    name: str
    description: str
    license: str  # a URL or a license id
    version: str  # MAJOR.MINOR.PATCH
    date_published: str  # ISO 8601
    cite_as: str  # BibTeX
    files: Sequence[ReleaseFile]
    configs: Mapping[str, Config]
    rai: Rai
    url: str | None = None  # the spec requires it; a local release may not have one yet
    creators: Sequence[Creator] = ()
    keywords: Sequence[str] = ()
    in_language: str = "en"
    is_live_dataset: bool = False
    label_references: bool = field(default=True)


def croissant(release: Release) -> dict[str, Any]:
    """The Croissant 1.1 + RAI 1.0 JSON-LD of a release (see the module docstring)."""
    required = {"name": release.name, "description": release.description,
                "license": release.license, "date_published": release.date_published,
                "cite_as": release.cite_as}  # fmt: skip
    missing = [k for k, v in required.items() if not v.strip()]
    if missing:
        raise ValueError(f"required: {', '.join(missing)}")
    if not is_version(release.version):
        raise ValueError(f"version {release.version!r} is not MAJOR.MINOR.PATCH")
    if not release.configs:
        raise ValueError("required: at least one config")
    files = {f.path: f for f in release.files}
    if len(files) != len(release.files):
        raise ValueError("a file is listed twice")
    enums = Enumerations(release.label_references)
    parquet = [p for p, f in files.items() if f.encoding_format == PARQUET]
    record_sets = [config_record_set(n, c, parquet, enums) for n, c in release.configs.items()]
    used = {s for c in release.configs.values() for s in c.splits}
    ids = [*files, *map(file_set_id, release.configs), SPLITS_ID, *enums.ids(),
           *release.configs]  # fmt: skip
    clash = {i for i in ids if ids.count(i) > 1}
    if clash:
        raise ValueError(f"ids used twice: {', '.join(sorted(clash))}")
    doc: dict[str, Any] = {
        "@context": dict(CONTEXT),
        "@type": "sc:Dataset",
        "conformsTo": [CROISSANT_1_1, RAI_1_0],
        "name": release.name,
        "description": release.description,
        "license": release.license,
    }
    if release.url:
        doc["url"] = release.url
    if release.creators:
        doc["creator"] = [_creator(c) for c in release.creators]
    doc.update({
        "datePublished": release.date_published, "version": release.version,
        "citeAs": release.cite_as, "isLiveDataset": release.is_live_dataset,
        "inLanguage": release.in_language,
    })  # fmt: skip
    if release.keywords:
        doc["keywords"] = list(release.keywords)
    doc.update(_rai(release.rai))
    doc["distribution"] = [_file_object(f) for f in release.files] + [
        file_set(name, config) for name, config in release.configs.items()
    ]
    splits = [s for s in SPLIT_TYPES if s in used]
    doc["recordSet"] = [splits_record_set(splits), *enums.record_sets(), *record_sets]
    return doc


def _file_object(f: ReleaseFile) -> dict[str, Any]:
    if not re.fullmatch(r"[0-9a-f]{64}", f.sha256):
        raise ValueError(f"{f.path}: sha256 must be 64 lowercase hex digits")
    return {
        "@type": "cr:FileObject",
        "@id": f.path,
        "name": f.path,
        "contentUrl": f.path,
        "contentSize": f"{f.size} B",
        "encodingFormat": f.encoding_format,
        "sha256": f.sha256,
    }


def _creator(c: Creator) -> dict[str, Any]:
    out: dict[str, Any] = {"@type": f"sc:{c.kind}", "name": c.name}
    if c.url:
        out["url"] = c.url
    return out


def _text(values: Sequence[str], prop: str) -> str | list[str]:
    """A Text property of cardinality MANY: one string, or a list of several."""
    items = [v.strip() for v in values if v and v.strip()]
    if not items:
        raise ValueError(f"{prop} needs at least one non-empty text")
    return items[0] if len(items) == 1 else items


def _rai(rai: Rai) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rai:dataAnnotationProtocol": _text([rai.annotation_protocol], "annotation protocol"),
        "rai:dataAnnotationPlatform": _text(rai.annotation_platform, "annotation platform"),
        "rai:dataAnnotationAnalysis": _text(
            rai.annotation_analysis or ["Agreement was not measured."], "annotation analysis"
        ),
        "rai:annotationsPerItem": _text([rai.annotations_per_item], "annotations per item"),
        "rai:annotatorDemographics": _text(rai.annotator_demographics, "demographics"),
        "rai:dataLimitations": _text(rai.limitations, "limitations"),
        "rai:dataBiases": _text(rai.biases, "biases"),
        "rai:personalSensitiveInformation": _text(
            [rai.pseudonymisation, *rai.personal_sensitive_information],
            "personal/sensitive information",
        ),
        "rai:dataReleaseMaintenancePlan": _text([rai.maintenance_plan], "maintenance plan"),
    }
    if rai.machine_annotation_tools:
        out["rai:machineAnnotationTools"] = _text(rai.machine_annotation_tools, "tools")
    if rai.data_collection:
        out["rai:dataCollection"] = rai.data_collection.strip()
    if rai.use_cases:
        out["rai:dataUseCases"] = _text(rai.use_cases, "use cases")
    return out


def media_type(path: str) -> str:
    suffix = path[path.rfind(".") :] if "." in path else ""
    return MEDIA_TYPES.get(suffix, "text/plain")


def release_croissant(
    meta: Mapping[str, Any],
    features: Mapping[str, Any],
    files: Mapping[str, Mapping[str, Any]],
    splits: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """The croissant.json of a release from what its build records: ``meta`` (the manifest
    being written, with ``metadata`` and ``rai``), ``features`` (``datasets.Features`` per
    config), ``files`` (path -> sha256, bytes) and ``splits`` (config -> split -> path)."""
    info = meta["metadata"]
    configs = {
        name: Config(
            features=features_from_hf(feats.to_dict()),
            splits=splits[name],
            description=info["configs"].get(name, ""),
            key=("doc_id",) if name == "documents" else (),
        )
        for name, feats in features.items()
    }
    release = Release(
        name=info["name"],
        description=info["description"],
        license=info["license"],
        version=meta["release"],
        date_published=meta["created"],
        cite_as=info["citation"],
        files=[ReleaseFile(p, f["sha256"], f["bytes"], media_type(p)) for p, f in files.items()],
        configs=configs,
        rai=Rai(**meta["rai"]),
        url=info.get("url"),
        creators=[Creator(name) for name in info.get("creators", [])],
        keywords=info.get("keywords", []),
    )
    return croissant(release)

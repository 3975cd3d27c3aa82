"""Croissant record sets of a release's configs (pure; see :mod:`corpus.release.croissant`).

``recordSet`` holds ``splits`` (``dataType: cr:Split``), one ``sc:Enumeration`` per distinct
``ClassLabel`` (``id`` -> ``name``; -1, a missing label, has no entry) and one record set per
config reading that config's local ``cr:FileSet``. A config's first field is its split, taken
from the file path and ``references`` ``splits/name``. ClassLabel columns are ``sc:Integer``
(+ ``cr:Label``) and ``references`` their enumeration's ``id``. Lists are ``isArray``; a list
of structs is an ``isArray`` field whose ``subField``s pick a key with ``jsonPath``.

Shaped for ``mlcroissant`` 1.1, which validates it and reads every record set: references take
the ``{"field": {"@id": ...}}`` form (it rejects the spec's shorter ``{"@id": ...}``), the
split record set's ``url`` field is ``["cr:Split", "sc:URL"]``, integers are ``sc:Integer``.
With label references on, mlcroissant 1.1.1 cannot filter records by split
(``records(filters=...)`` drops the split join); it reads them all either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

PARQUET = "application/x-parquet"
SPLITS_ID = "splits"
# split names -> the semantic split types of the spec ("ML-specific features > Splits")
SPLIT_TYPES = {"train": "cr:TrainingSplit", "validation": "cr:ValidationSplit",
               "test": "cr:TestSplit"}  # fmt: skip

Atom: TypeAlias = Literal[
    "string", "int32", "int64", "bool", "float32", "float64", "timestamp[us, tz=UTC]"
]
ATOM_TYPES: dict[str, str] = {
    "string": "sc:Text",
    "int32": "sc:Integer",
    "int64": "sc:Integer",
    "bool": "sc:Boolean",
    "float32": "sc:Float",
    "float64": "sc:Float",
    "timestamp[us, tz=UTC]": "sc:DateTime",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ClassLabel:
    """Integer ids with names (``datasets.ClassLabel``); -1 means missing."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class ListOf:
    """A variable-length list (``datasets.List``) of atoms, labels or structs of those."""

    item: Feature


@dataclass(frozen=True)
class Struct:
    """A struct of atoms and labels (``{...}`` in ``datasets.Features``)."""

    fields: Mapping[str, Feature]


Feature: TypeAlias = "Atom | ClassLabel | ListOf | Struct"


@dataclass(frozen=True)
class Config:
    features: Mapping[str, Feature]
    splits: Mapping[str, str]  # split name -> path of its Parquet file
    description: str = ""
    key: tuple[str, ...] = ()
    field_descriptions: Mapping[str, str] = field(default_factory=dict)


def file_set_id(config: str) -> str:
    return f"{config}-parquet"


def file_set(name: str, config: Config) -> dict[str, Any]:
    return {
        "@type": "cr:FileSet",
        "@id": file_set_id(name),
        "name": file_set_id(name),
        "description": f"Parquet files of the {name} config, one per split.",
        "encodingFormat": PARQUET,
        "includes": list(config.splits.values()),
    }


def splits_record_set(splits: Sequence[str]) -> dict[str, Any]:
    return {
        "@type": "cr:RecordSet",
        "@id": SPLITS_ID,
        "name": SPLITS_ID,
        "description": "The splits of every config.",
        "dataType": "cr:Split",
        "key": {"@id": f"{SPLITS_ID}/name"},
        "field": [
            {"@type": "cr:Field", "@id": f"{SPLITS_ID}/name", "dataType": "sc:Text"},
            {"@type": "cr:Field", "@id": f"{SPLITS_ID}/url", "dataType": ["cr:Split", "sc:URL"]},
        ],
        "data": [{f"{SPLITS_ID}/name": s, f"{SPLITS_ID}/url": SPLIT_TYPES[s]} for s in splits],
    }


class Enumerations:
    """One ``sc:Enumeration`` record set per distinct list of label names."""

    def __init__(self, references: bool) -> None:
        self.references = references
        self._by_id: dict[str, tuple[str, ...]] = {}
        self._by_names: dict[tuple[str, ...], str] = {}

    def id_for(self, label: ClassLabel, path: str) -> str:
        if not label.names:
            raise ValueError(f"{path}: a ClassLabel needs names")
        if label.names in self._by_names:
            return self._by_names[label.names]
        enum = f"{path.replace('/', '-')}-labels"
        if not _ID.match(enum):
            raise ValueError(f"{path}: bad enumeration id {enum!r}")
        self._by_id[enum] = label.names
        self._by_names[label.names] = enum
        return enum

    def ids(self) -> list[str]:
        return list(self._by_id)

    def record_sets(self) -> list[dict[str, Any]]:
        return [
            {
                "@type": "cr:RecordSet",
                "@id": enum,
                "name": enum,
                "description": "Label names of the class ids that reference this record set"
                " (-1, a missing label, has no entry).",
                "dataType": "sc:Enumeration",
                "key": {"@id": f"{enum}/id"},
                "field": [
                    {"@type": "cr:Field", "@id": f"{enum}/id", "dataType": "sc:Integer"},
                    {"@type": "cr:Field", "@id": f"{enum}/name", "dataType": "sc:Text"},
                ],
                "data": [{f"{enum}/id": i, f"{enum}/name": n} for i, n in enumerate(names)],
            }
            for enum, names in self._by_id.items()
        ]


def split_regex(paths: Sequence[str], splits: Sequence[str]) -> str:
    """Captures the split from a file path (``<config>/<split>-00000-of-00001.parquet``).

    Shaped for mlcroissant: it also matches the bare split name (after the join on
    ``splits/name`` it applies the regex again to the captured value), and its optional
    parts are ``(?:...)?`` groups with ``.+`` so that split filters can become globs."""
    dirs = sorted({p.rsplit("/", 1)[0] + "/" for p in paths if "/" in p})
    if len(dirs) > 1:
        raise ValueError(f"split files of one config must share a folder: {', '.join(paths)}")
    prefix = "".join(f"(?:{re.escape(d)})?" for d in dirs)
    names = "|".join(re.escape(s) for s in splits)
    return rf"^{prefix}({names})(?:-.+\.parquet)?$"


def config_record_set(
    name: str, config: Config, parquet: Sequence[str], enums: Enumerations
) -> dict[str, Any]:
    """The record set of one config; ``parquet``: the Parquet files of the release."""
    if not _ID.match(name):
        raise ValueError(f"bad config name {name!r}")
    if not config.splits:
        raise ValueError(f"config {name} has no split files")
    unknown = sorted(set(config.splits) - set(SPLIT_TYPES))
    if unknown:
        raise ValueError(f"no semantic split type for {', '.join(unknown)}")
    regex = re.compile(split_regex(list(config.splits.values()), list(config.splits)))
    for split, path in config.splits.items():
        if path not in parquet:
            raise ValueError(f"{name}/{split}: {path} is not among the Parquet files")
        match = regex.match(path)
        if match is None or match.group(1) != split:
            raise ValueError(f"{path}: the file name does not give its split {split!r}")
    if "split" in config.features:
        raise ValueError(f"config {name}: a column named 'split' clashes with the split field")
    source = file_set_id(name)
    fields = [{
        "@type": "cr:Field",
        "@id": f"{name}/split",
        "name": "split",
        "description": "The split of the record (from its file name).",
        "dataType": "sc:Text",
        "source": {"fileSet": {"@id": source}, "extract": {"fileProperty": "fullpath"},
                   "transform": {"regex": regex.pattern}},
        "references": {"field": {"@id": f"{SPLITS_ID}/name"}},
    }]  # fmt: skip
    for column, feature in config.features.items():
        note = config.field_descriptions.get(column)
        fields.append(_field(name, column, feature, source, enums, note))
    for k in config.key:
        if k not in config.features:
            raise ValueError(f"config {name}: key {k!r} is not a column")
    out: dict[str, Any] = {"@type": "cr:RecordSet", "@id": name, "name": name}
    if config.description:
        out["description"] = config.description
    if config.key:
        keys = [{"@id": f"{name}/{k}"} for k in config.key]
        out["key"] = keys[0] if len(keys) == 1 else keys
    out["field"] = fields
    return out


def _label_note(enum: str) -> str:
    return f"Class id; names in record set {enum}; -1 = missing."


def _field(
    config: str, column: str, feature: Feature, source: str, enums: Enumerations, note: str | None
) -> dict[str, Any]:
    if not _NAME.match(column):
        raise ValueError(f"{config}: bad column name {column!r}")
    fid = f"{config}/{column}"
    src: dict[str, Any] = {"fileSet": {"@id": source}, "extract": {"column": column}}
    out: dict[str, Any] = {"@type": "cr:Field", "@id": fid, "name": column}
    notes = [note] if note else []
    item = feature.item if isinstance(feature, ListOf) else feature
    if isinstance(feature, ListOf):
        out["isArray"] = True
        out["arrayShape"] = "-1"
    if isinstance(item, Struct):
        subs = [_sub_field(fid, key, sub, src, enums) for key, sub in item.fields.items()]
        if any(isinstance(sub, ClassLabel) for sub in item.fields.values()):
            out["dataType"] = "cr:Label"
        out["subField"] = subs
    elif isinstance(item, ClassLabel):
        enum = enums.id_for(item, fid)
        out["dataType"] = ["sc:Integer", "cr:Label"]
        out["source"] = src
        if enums.references:
            out["references"] = {"field": {"@id": f"{enum}/id"}}
        notes.append(_label_note(enum))
    elif isinstance(item, ListOf):
        raise ValueError(f"{fid}: lists of lists are not supported")
    else:
        out["dataType"] = _atom(item, fid)
        out["source"] = src
    if notes:
        out["description"] = " ".join(notes)
    return _ordered(out)


def _sub_field(
    parent: str, key: str, feature: Feature, src: Mapping[str, Any], enums: Enumerations
) -> dict[str, Any]:
    if not _NAME.match(key):
        raise ValueError(f"{parent}: bad struct key {key!r}")
    fid = f"{parent}/{key}"
    out: dict[str, Any] = {"@type": "cr:Field", "@id": fid, "name": key,
                           "source": {**src, "transform": {"jsonPath": key}}}  # fmt: skip
    if isinstance(feature, ClassLabel):
        enum = enums.id_for(feature, fid)
        out["dataType"] = "sc:Integer"
        if enums.references:
            out["references"] = {"field": {"@id": f"{enum}/id"}}
        out["description"] = _label_note(enum)
    elif isinstance(feature, ListOf | Struct):
        raise ValueError(f"{fid}: nested lists or structs inside a struct are not supported")
    else:
        out["dataType"] = _atom(feature, fid)
    return _ordered(out)


def _atom(feature: str, fid: str) -> str:
    try:
        return ATOM_TYPES[feature]
    except KeyError:
        raise ValueError(f"{fid}: unsupported type {feature!r}") from None


_ORDER = ("@type", "@id", "name", "description", "dataType", "isArray", "arrayShape")


def _ordered(d: dict[str, Any]) -> dict[str, Any]:
    return {**{k: d[k] for k in _ORDER if k in d}, **d}


def features_from_hf(spec: Mapping[str, Any]) -> dict[str, Feature]:
    """The simple form of ``datasets.Features(...).to_dict()``."""
    return {name: _from_hf(value, name) for name, value in spec.items()}


def _from_hf(value: Any, where: str) -> Feature:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: unsupported feature {value!r}")
    kind = value.get("_type")
    if kind is None:  # a struct
        return Struct({k: _from_hf(v, f"{where}.{k}") for k, v in value.items()})
    if kind == "Value":
        dtype = value.get("dtype")
        if dtype == "large_string":
            dtype = "string"
        if dtype not in ATOM_TYPES:
            raise ValueError(f"{where}: unsupported dtype {dtype!r}")
        atom: Atom = dtype
        return atom
    if kind == "ClassLabel":
        return ClassLabel(tuple(value["names"]))
    if kind in ("List", "LargeList"):
        return ListOf(_from_hf(value["feature"], f"{where}[]"))
    raise ValueError(f"{where}: unsupported feature type {kind!r}")

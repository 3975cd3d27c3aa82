"""The annotation schema: pydantic models over ``schemas/annotation.yaml``.

This is the single source of truth for labels. Everything else that names a label (the
Label Studio config, the JSON Schemas, the release features) is generated from it.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from corpus.errors import SchemaError

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", min_length=1, max_length=64)
]

_FROZEN = ConfigDict(extra="forbid", frozen=True)

# Hotkeys: disjoint key pools, one per control, so a schema has at most as many labels of a
# kind as its pool has keys (checked when a schema is loaded, for every command alike). Label
# Studio's own single keys for text labelling are left alone: u (unselect region), h and r
# (reserved by its region tools), e/o/p/w/k/m/v/b (image tools), and ctrl/alt combinations.
# shift+digit on span stance acts only while a region is selected (its choices are shown).
ISSUE_KEYS = (*"1234567890", *"qtyzxcijln")
SPAN_STANCE_KEYS = tuple(f"shift+{d}" for d in "1234567890")
STANCE_KEYS = tuple("asdfg")


class LabelDef(BaseModel):
    """One label: a stable identifier plus what annotators see."""

    model_config = _FROZEN

    name: Identifier = Field(description="Stable identifier stored in every annotation.")
    title: str = Field(min_length=1, description="Human-readable name shown to annotators.")
    description: str = Field(min_length=1, description="Guideline text, shown as a hint.")
    examples: tuple[str, ...] = Field(default=(), description="Example phrases (from the seed).")
    keywords: tuple[str, ...] = Field(
        default=(), description="Phrases the baseline pre-annotator marks with this label."
    )


def _unique(labels: tuple[LabelDef, ...], where: str) -> tuple[LabelDef, ...]:
    seen: set[str] = set()
    for label in labels:
        if label.name in seen:
            raise ValueError(f"label {label.name!r} appears twice in {where}")
        seen.add(label.name)
    return labels


class StanceSpec(BaseModel):
    """Document-level stance towards one target."""

    model_config = _FROZEN

    target: str = Field(min_length=1, description="What the stance is about.")
    question: str = Field(min_length=1, description="The question annotators answer.")
    labels: tuple[LabelDef, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> StanceSpec:
        _unique(self.labels, "stance.labels")
        return self


class SpanStanceSpec(BaseModel):
    """Stance of one issue span. ``required``: the labelling interface refuses a region
    without one; when optional (the default) and unused in a release, its gates skip it."""

    model_config = _FROZEN

    question: str = Field(min_length=1)
    required: bool = Field(
        default=False, description="Whether every issue span needs a stance (optional if not)."
    )
    labels: tuple[LabelDef, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> SpanStanceSpec:
        _unique(self.labels, "span_stance.labels")
        return self


class AnnotationSchema(BaseModel):
    """The whole annotation schema."""

    model_config = _FROZEN

    schema_version: int = Field(ge=1)
    name: str = Field(min_length=1)
    stance: StanceSpec
    span_stance: SpanStanceSpec
    issues: tuple[LabelDef, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> AnnotationSchema:
        _unique(self.issues, "issues")
        for what, labels, keys in (
            ("issue", self.issues, ISSUE_KEYS),
            ("span stance", self.span_stance.labels, SPAN_STANCE_KEYS),
            ("document stance", self.stance.labels, STANCE_KEYS),
        ):
            if len(labels) > len(keys):
                raise ValueError(
                    f"the schema has {len(labels)} {what} labels; Label Studio hotkeys are "
                    f"defined for at most {len(keys)} (use fewer labels, or merge some)"
                )
        return self

    @cached_property
    def stance_names(self) -> list[str]:
        return [label.name for label in self.stance.labels]

    @cached_property
    def span_stance_names(self) -> list[str]:
        return [label.name for label in self.span_stance.labels]

    @cached_property
    def issue_names(self) -> list[str]:
        return [label.name for label in self.issues]

    def canonical_json(self) -> str:
        data = self.model_dump(mode="json")
        if not self.span_stance.required:  # the default: schemas written before it hash alike
            del data["span_stance"]["required"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def hash(self) -> str:
        """sha256 of the canonical JSON form: changes when any label or text changes."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def labels_sha256(self) -> str:
        """sha256 of the label names alone: changes only when a stored value would."""
        names = {
            "stance": self.stance_names,
            "issue": self.issue_names,
            "span_stance": self.span_stance_names,
        }
        return hashlib.sha256(json.dumps(names, sort_keys=True).encode()).hexdigest()


def format_validation_error(exc: ValidationError) -> str:
    """``[field -> path] message`` lines, one per pydantic error."""
    lines = []
    for err in exc.errors():
        loc = " -> ".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"[{loc}] {err['msg']}")
    return "\n".join(lines)


def parse_schema(text: str, *, source: str = "<string>") -> AnnotationSchema:
    """Validate schema YAML (or JSON) text."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SchemaError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SchemaError(f"{source}: the schema must be a mapping at the top level")
    try:
        return AnnotationSchema.model_validate(raw)
    except ValidationError as exc:
        raise SchemaError(
            f"{source}: the annotation schema does not validate:\n{format_validation_error(exc)}",
            hint="Fix the schema at the field named (docs/concepts/schema.md); "
            "`corpus schema check` checks it as every command does.",
        ) from None


def default_schema_path() -> Path:
    """``schemas/annotation.yaml`` of a checkout, or the copy packed into the wheel."""
    checkout = Path(__file__).resolve().parent.parent / "schemas" / "annotation.yaml"
    if checkout.is_file():
        return checkout
    return Path(__file__).resolve().parent / "_schema" / "annotation.yaml"


def load_schema(path: str | os.PathLike[str] | None = None) -> AnnotationSchema:
    """Read and validate a schema file (default: the project's ``schemas/annotation.yaml``)."""
    path = Path(path) if path is not None else default_schema_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(
            f"cannot read the annotation schema {path}: {exc.strerror}",
            hint="Pass --schema with the path of an annotation schema YAML file.",
        ) from None
    return parse_schema(text, source=str(path))

"""Labels that change between rounds: a migration from one label-schema version to the next.

A migration file (YAML) names its two schema versions and, per kind of label (``issue``,
``stance``, ``span_stance``), the changes::

    from: 1
    to: 2
    issue:
      - rename: {from: exchanges, to: people_to_people}
      - merge: {from: [diplomacy_dialogue, climate], into: dialogue_and_climate}
      - remove: investment_economy
      - split: {from: trade, into: [trade_goods, trade_services]}

:func:`check_migration` checks it against both schema versions: every old label is kept
(same name in the new schema) or changed by exactly one rule, every rule's source is an old
label and every target a new one, a split's source is gone from the new schema. New labels
that no rule produces are *added* and listed. A rename's target must be a new label (a
rename onto a label the old schema has is refused: that is a merge). How stored rows are
mapped through migrations is :mod:`corpus.labels.mapping` (the label map, applied once).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corpus.errors import SchemaError
from corpus.label_schema import AnnotationSchema, format_validation_error

Kind = Literal["issue", "stance", "span_stance"]
KINDS: tuple[Kind, ...] = ("issue", "stance", "span_stance")
_RULE = ConfigDict(extra="forbid", frozen=True)


class Rename(BaseModel):
    model_config = _RULE
    from_: str = Field(alias="from")
    to: str


class Merge(BaseModel):
    model_config = _RULE
    from_: list[str] = Field(alias="from", min_length=1)
    into: str


class Split(BaseModel):
    model_config = _RULE
    from_: str = Field(alias="from")
    into: list[str] = Field(min_length=2)


class Rule(BaseModel):
    """Exactly one of ``rename``, ``merge``, ``remove``, ``split``."""

    model_config = _RULE
    rename: Rename | None = None
    merge: Merge | None = None
    remove: str | None = None
    split: Split | None = None

    @model_validator(mode="after")
    def _one(self) -> Rule:
        given = [k for k in ("rename", "merge", "remove", "split") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a rule is one of rename, merge, remove, split; got {given or 'none'}"
            )
        return self

    def sources(self) -> list[str]:
        if self.rename:
            return [self.rename.from_]
        if self.merge:
            return list(self.merge.from_)
        if self.split:
            return [self.split.from_]
        return [self.remove or ""]

    def targets(self) -> list[str]:
        if self.rename:
            return [self.rename.to]
        if self.merge:
            return [self.merge.into]
        if self.split:
            return list(self.split.into)
        return []


class Migration(BaseModel):
    """One migration file: ``from``/``to`` schema versions and the rules per kind of label."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: Annotated[int, Field(alias="from", ge=1)]
    to: Annotated[int, Field(ge=2)]
    issue: tuple[Rule, ...] = ()
    stance: tuple[Rule, ...] = ()
    span_stance: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _forward(self) -> Migration:
        if self.to != self.from_ + 1:
            raise ValueError(
                f"a migration goes from one version to the next, not {self.from_} to {self.to}"
            )
        return self

    def rules(self, kind: Kind) -> tuple[Rule, ...]:
        rules: tuple[Rule, ...] = getattr(self, kind)
        return rules


def load_migration(path: Path) -> Migration:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaError(
            f"cannot read the migration {path}: {exc.strerror}",
            hint="Check the path of the migration file (corpus schema migrate MIGRATION.yaml).",
        ) from None
    except yaml.YAMLError as exc:
        raise SchemaError(
            f"{path}: not valid YAML: {exc}",
            hint="Fix the YAML at the line named; docs/how-to/schema-migrations.md shows a "
            "migration file.",
        ) from None
    try:
        return Migration.model_validate(raw)
    except ValidationError as exc:
        raise SchemaError(
            f"{path}: the migration does not validate:\n{format_validation_error(exc)}",
            hint="See the migration format in docs/how-to/schema-migrations.md.",
        ) from None


def _names(schema: AnnotationSchema, kind: Kind) -> list[str]:
    if kind == "issue":
        return schema.issue_names
    return schema.stance_names if kind == "stance" else schema.span_stance_names


@dataclass
class MigrationCheck:
    """What a migration does, per kind: label changes, and labels added."""

    changes: dict[str, list[str]] = field(default_factory=dict)  # kind -> human lines
    added: dict[str, list[str]] = field(default_factory=dict)  # kind -> new labels


def check_migration(
    migration: Migration, old: AnnotationSchema, new: AnnotationSchema
) -> MigrationCheck:
    """Refuse (SchemaError listing every problem) a migration that does not lead from
    ``old`` to ``new``; else describe it."""
    problems: list[str] = []
    if old.schema_version != migration.from_ or new.schema_version != migration.to:
        problems.append(
            f"the migration goes from {migration.from_} to {migration.to}, the schemas are "
            f"versions {old.schema_version} and {new.schema_version}"
        )
    report = MigrationCheck()
    for kind in KINDS:
        before, after = set(_names(old, kind)), set(_names(new, kind))
        seen: Counter[str] = Counter()
        lines = []
        for rule in migration.rules(kind):
            for source in rule.sources():
                seen[source] += 1
                if source not in before:
                    problems.append(
                        f"{kind}: {source!r} is not a label of version {old.schema_version}"
                    )
                if source in after and not rule.remove and not rule.merge:
                    problems.append(
                        f"{kind}: {source!r} is still a label of version {new.schema_version}"
                    )
            for target in rule.targets():
                if target not in after:
                    problems.append(
                        f"{kind}: {target!r} is not a label of version {new.schema_version}"
                    )
            if rule.rename and rule.rename.to in before:
                problems.append(
                    f"{kind}: {rule.rename.from_!r} is renamed onto {rule.rename.to!r}, a label "
                    f"version {old.schema_version} already has: that merges their spans; write "
                    f"it as `merge: {{from: [{rule.rename.from_}, {rule.rename.to}], "
                    f"into: {rule.rename.to}}}`"
                )
            if rule.remove and rule.remove in after:
                problems.append(
                    f"{kind}: {rule.remove!r} is removed but still in version {new.schema_version}"
                )
            if rule.split and kind != "issue":
                problems.append(f"{kind}: only issue labels can be split (spans are relabelled)")
            lines.append(describe_rule(rule))
        problems += [f"{kind}: {s!r} has more than one rule" for s, n in seen.items() if n > 1]
        for label in sorted(before - after - set(seen)):
            problems.append(
                f"{kind}: {label!r} of version {old.schema_version} is not in version "
                f"{new.schema_version} and no rule says what becomes of it"
            )
        produced = {t for rule in migration.rules(kind) for t in rule.targets()}
        report.changes[kind] = lines
        report.added[kind] = sorted(after - before - produced)
    if problems:
        raise SchemaError(
            "the migration does not fit the schemas:\n" + "\n".join(f"  - {p}" for p in problems),
            hint=(
                "A rename onto a label the old schema already has must be written as a merge. "
                if any("is renamed onto" in p for p in problems)
                else ""
            )
            + "Fix the migration file (or the schema's version numbers) and run "
            "`corpus schema migrate` again.",
        )
    return report


def describe_rule(rule: Rule) -> str:
    if rule.rename:
        return f"rename {rule.rename.from_} -> {rule.rename.to}"
    if rule.merge:
        return f"merge {', '.join(rule.merge.from_)} -> {rule.merge.into}"
    if rule.split:
        return f"split {rule.split.from_} -> {', '.join(rule.split.into)} (relabel)"
    return f"remove {rule.remove}"


__all__ = [
    "KINDS",
    "Kind",
    "Migration",
    "MigrationCheck",
    "check_migration",
    "describe_rule",
    "load_migration",
]

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
that no rule produces are *added* and listed. :class:`LabelMap` then maps stored rows:
renames and merges map the label, removed labels drop the span (counted; a removed stance
becomes null), and a split label cannot be mapped: its spans are dropped and their
documents marked for relabelling (``corpus round start --strategy relabel-migrated``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corpus.errors import SchemaError
from corpus.label_schema import AnnotationSchema, format_validation_error

Kind = Literal["issue", "stance", "span_stance"]
KINDS: tuple[Kind, ...] = ("issue", "stance", "span_stance")
SPLIT = "\x00split"  # a label that cannot be mapped: relabel
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
            hint="Fix the YAML at the line named; the README shows a migration file "
            "(labels that change between rounds).",
        ) from None
    try:
        return Migration.model_validate(raw)
    except ValidationError as exc:
        raise SchemaError(
            f"{path}: the migration does not validate:\n{format_validation_error(exc)}",
            hint="See the migration format in the README (labels that change between rounds).",
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
            hint="Fix the migration file (or the schema's version numbers) and run "
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


@dataclass
class LabelMap:
    """old label -> new label (None: removed; :data:`SPLIT`: relabel), per kind."""

    maps: dict[str, dict[str, str | None]]

    @classmethod
    def of(cls, migration: Migration) -> LabelMap:
        maps: dict[str, dict[str, str | None]] = {}
        for kind in KINDS:
            table: dict[str, str | None] = {}
            for rule in migration.rules(kind):
                if rule.rename:
                    table[rule.rename.from_] = rule.rename.to
                elif rule.merge:
                    table.update(dict.fromkeys(rule.merge.from_, rule.merge.into))
                elif rule.split:
                    table[rule.split.from_] = SPLIT
                elif rule.remove:
                    table[rule.remove] = None
            maps[kind] = table
        return cls(maps)

    def then(self, other: LabelMap) -> LabelMap:
        """This map followed by ``other`` (v1->v2 then v2->v3 = v1->v3)."""
        out: dict[str, dict[str, str | None]] = {}
        for kind in KINDS:
            first, second = self.maps.get(kind, {}), other.maps.get(kind, {})
            table = {old: (second.get(new, new) if new not in (None, SPLIT) else new)
                     for old, new in first.items()}  # fmt: skip
            for old, new in second.items():
                table.setdefault(old, new)
            out[kind] = table
        return LabelMap(out)

    def label(self, kind: Kind, value: str | None) -> str | None:
        if value is None:
            return None
        return self.maps.get(kind, {}).get(value, value)


@dataclass
class Mapped:
    """Rows mapped into the new schema, and what could not be carried over."""

    rows: dict[str, list[dict[str, Any]]]
    dropped: Counter[str] = field(default_factory=Counter)  # "issue climate (removed)" -> spans
    relabel: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def map_rows(label_map: LabelMap, tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> Mapped:
    """Map ``annotations``/``gold_annotations`` (stance) and ``spans``/``gold_spans`` (issue,
    span stance) rows; a span of a removed label is dropped, of a split label dropped and
    its document marked for relabelling."""
    out = Mapped(rows={})
    for name, rows in tables.items():
        kept = []
        for row in rows:
            row = dict(row)
            if name in ("annotations", "gold_annotations"):
                row["stance"] = label_map.label("stance", row.get("stance"))
            else:
                issue = label_map.label("issue", row["issue"])
                if issue is None or issue == SPLIT:
                    why = "removed" if issue is None else "split: relabel"
                    out.dropped[f"{name}: {row['issue']} ({why})"] += 1
                    if issue == SPLIT and row["issue"] not in out.relabel[row["doc_id"]]:
                        out.relabel[row["doc_id"]].append(row["issue"])
                    continue
                row["issue"] = issue
                row["stance"] = label_map.label("span_stance", row.get("stance"))
            kept.append(row)
        out.rows[name] = kept
    return out


__all__ = [
    "KINDS",
    "SPLIT",
    "LabelMap",
    "Mapped",
    "Migration",
    "MigrationCheck",
    "check_migration",
    "describe_rule",
    "load_migration",
    "map_rows",
]

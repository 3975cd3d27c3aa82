"""Release gates: the checks a release must pass before it is written.

Offsets that do not match the text, drift left by a round, the same or a near-duplicate text
in two splits, documents that would move split within one major release, a label without an
example in a split, an e-mail address anywhere. The build refuses on any, unless forced with
a reason. An optional label family nobody used (span stance when the schema does not require
it, :func:`unannotated`) has no split gate: the card says it was not annotated. A failure
is ``unavoidable`` when no split assignment could pass it (a label on fewer document groups
than there are splits): only the data can fix it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corpus.label_schema import AnnotationSchema
from corpus.release.links import ISSUE, SPAN_STANCE, STANCE, describe, label
from corpus.release.splits import SPLITS, Assignment, Unit
from corpus.store import Store, lineage, parse_version


@dataclass(frozen=True)
class GateFailure:
    gate: str  # offsets, drift, duplicates, near-duplicates, stability, labels, privacy
    message: str
    unavoidable: bool = False  # no split assignment could pass it: only more data can

    def __str__(self) -> str:
        return f"{self.gate}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "message": self.message, "unavoidable": self.unavoidable}


def data_gates(
    store: Store,
    version: str,
    docs: Mapping[str, Mapping[str, Any]],
    split_of: Mapping[str, str],
    spans: Sequence[Mapping[str, Any]],
    pairs: Sequence[tuple[str, str]],
) -> list[GateFailure]:
    """Offsets, drift, exact and near duplicates across splits."""
    failures = []
    bad = [s for s in spans if docs[s["doc_id"]]["text"][s["start"] : s["end"]] != s["text"]]
    if bad:
        failures.append(GateFailure(
            "offsets", f"{len(bad)} span(s) whose text does not match the document text"
        ))  # fmt: skip
    for v in lineage(store, version):
        rejects = store.manifest(v).extra.get("rejects") or []
        drift = [
            r
            for r in (rejects if isinstance(rejects, list) else [])
            if str(r.get("reason", "")).startswith("drift")
        ]
        if drift:
            failures.append(GateFailure(
                "drift", f"{len(drift)} task(s) of version {v} changed in Label Studio"
            ))  # fmt: skip
    by_text: dict[str, set[str]] = defaultdict(set)
    for doc_id, d in docs.items():
        by_text[d["text_sha256"]].add(split_of[doc_id])
    if any(len(s) > 1 for s in by_text.values()):
        failures.append(GateFailure("duplicates", "the same text sits in two splits"))
    near = [f"{a}~{b}" for a, b in pairs if split_of[a] != split_of[b]]
    if near:
        failures.append(GateFailure("near-duplicates", f"across splits: {', '.join(near[:5])}"))
    return failures


def stability_gate(assignment: Assignment, release: str, previous: str | None) -> list[GateFailure]:
    """Groups an earlier release placed apart, now linked: one side moves split, which
    Croissant 1.1 counts as a MAJOR change (records moved across splits)."""
    if not assignment.conflicts or previous is None:
        return []
    if parse_version(release)[0] > parse_version(previous)[0]:
        return []
    major = parse_version(previous)[0] + 1
    return [
        GateFailure(
            "stability",
            f"{conflict}; documents would move split after release {previous}, a major change: "
            f"build it as {major}.0.0",
        )
        for conflict in assignment.conflicts
    ]


def unannotated(
    schema: AnnotationSchema,
    gold_spans: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The label families annotators were free to leave out and nobody set in these rows:
    ``span_stance`` when the schema does not require it and no span (gold or an annotator's)
    has a stance. Their labels need no example in any split."""
    if schema.span_stance.required:
        return []
    if any(s["stance"] is not None for s in [*gold_spans, *spans]):
        return []
    return [SPAN_STANCE]


def schema_labels(schema: AnnotationSchema, skip: Sequence[str] = ()) -> list[str]:
    """Every label the split units can carry, in schema order (without the ``skip`` families)."""
    families = [
        (STANCE, schema.stance_names),
        (ISSUE, schema.issue_names),
        (SPAN_STANCE, schema.span_stance_names),
    ]
    return [label(kind, n) for kind, names in families if kind not in skip for n in names]


def label_gates(
    units: Sequence[Unit],
    assignment: Assignment,
    schema: AnnotationSchema,
    skip: Sequence[str] = (),
) -> list[GateFailure]:
    """Every label of the schema in every split, as the stratifier reports it: ``uncovered``
    labels it could not spread (avoidable in principle), ``scarce`` labels on fewer units
    than splits and labels with no example at all (unavoidable). The ``skip`` families
    (:func:`unannotated`) are not checked; a label that occurs but misses a split always is."""
    where: dict[str, set[str]] = defaultdict(set)
    for u in units:
        for x, n in u.labels.items():
            if n:
                where[x].add(assignment.splits[u.id])
    uncovered: dict[str, list[str]] = defaultdict(list)
    for x, s in assignment.uncovered:
        uncovered[x].append(s)
    failures = []
    for x in schema_labels(schema, skip):
        missing = [s for s in SPLITS if s not in where[x]]
        if not missing:
            continue
        name = describe(x)
        if not where[x]:
            failures.append(GateFailure("labels", f"no example of {name} in any split", True))
        elif x in assignment.scarce:
            n = assignment.scarce[x]
            failures.append(GateFailure(
                "labels",
                f"no example of {name} in {', '.join(missing)}: it is in only {n} document "
                f"group(s), fewer than the {len(SPLITS)} splits",
                True,
            ))  # fmt: skip
        else:
            failures.append(GateFailure(
                "labels",
                f"no example of {name} in {', '.join(uncovered.get(x) or missing)} (no move "
                "fills it without taking another label's last example from a split, or earlier "
                "releases keep its groups elsewhere)",
            ))  # fmt: skip
    return failures


def privacy_gate(leaks: Sequence[str]) -> list[GateFailure]:
    return [GateFailure("privacy", f"an e-mail address appears in {where}") for where in leaks]


def unknown_labels(
    schema: AnnotationSchema,
    gold: Sequence[Mapping[str, Any]],
    gold_spans: Sequence[Mapping[str, Any]],
    annotations: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
) -> list[GateFailure]:
    """Labels in the rows that the current schema does not have (a migration is missing)."""
    stances = {r["stance"] for r in [*gold, *annotations]} - {None, *schema.stance_names}
    issues = {r["issue"] for r in [*gold_spans, *spans]} - set(schema.issue_names)
    span_stances = {r["stance"] for r in [*gold_spans, *spans]}
    span_stances -= {None, *schema.span_stance_names}
    found = [
        f"{kind} {', '.join(sorted(map(str, labels)))}"
        for kind, labels in (("stance", stances), ("issue", issues), ("span stance", span_stances))
        if labels
    ]
    if not found:
        return []
    return [
        GateFailure(
            "schema",
            f"the rows use labels the current schema (version {schema.schema_version}) does "
            f"not have: {'; '.join(found)}; run `corpus schema migrate`",
        )
    ]

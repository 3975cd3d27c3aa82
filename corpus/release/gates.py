"""Release gates: the checks a release must pass before it is written.

Offsets that do not match the text, drift left by a round, the same or a near-duplicate text
in two splits, a label without an example in a split, an e-mail address anywhere. The build
refuses on any, unless forced with a reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from corpus.label_schema import AnnotationSchema
from corpus.release.splits import SPLITS
from corpus.store import Store


def lineage(store: Store, version: str) -> list[str]:
    """The version and its ancestors, newest first."""
    chain = []
    current: str | None = version
    while current is not None:
        chain.append(current)
        current = store.manifest(current).parent
    return chain


def check_gates(
    store: Store,
    version: str,
    docs: dict[str, dict[str, Any]],
    split_of: dict[str, str],
    spans_of: dict[str, list[dict[str, Any]]],
    raw_spans: list[dict[str, Any]],
    by_split: dict[str, dict[str, list[dict[str, Any]]]],
    schema: AnnotationSchema,
) -> list[str]:
    """Reasons the release must not be built (empty when it may)."""
    failures = []
    bad = [s for s in [*(x for v in spans_of.values() for x in v), *raw_spans]
           if docs[s["doc_id"]]["text"][s["start"]:s["end"]] != s["text"]]  # fmt: skip
    if bad:
        failures.append(f"offsets: {len(bad)} span(s) whose text does not match the document text")
    for v in lineage(store, version):
        rejects = store.manifest(v).extra.get("rejects") or []
        drift = [
            r
            for r in (rejects if isinstance(rejects, list) else [])
            if str(r.get("reason", "")).startswith("drift")
        ]
        if drift:
            failures.append(f"drift: {len(drift)} task(s) of version {v} changed in Label Studio")
    by_text: dict[str, set[str]] = defaultdict(set)
    for doc_id, d in docs.items():
        by_text[d["text_sha256"]].add(split_of[doc_id])
    if any(len(s) > 1 for s in by_text.values()):
        failures.append("duplicates: the same text sits in two splits")
    near = _near_duplicates_across_splits(store, version, split_of)
    if near:
        failures.append(f"near-duplicates across splits: {', '.join(near[:5])}")
    for split in SPLITS:
        rows = by_split["documents"][split]
        stances = {r["stance"] for r in rows}
        issues = {s["label"] for r in rows for s in r["spans"]}
        missing = [n for i, n in enumerate(schema.stance_names) if i not in stances]
        missing += [n for i, n in enumerate(schema.issue_names) if i not in issues]
        if missing:
            failures.append(f"labels: no example of {', '.join(missing)} in {split}")
    return failures


def _minhash(sig: Any) -> Any:
    from datasketch import LeanMinHash

    from corpus.ingestion import minhash

    return LeanMinHash(seed=1, hashvalues=sig, scheme=minhash.SCHEME)


def _near_duplicates_across_splits(
    store: Store, version: str, split_of: dict[str, str]
) -> list[str]:
    import numpy as np
    from datasketch import MinHashLSH

    from corpus.ingestion import minhash

    lsh = MinHashLSH(threshold=minhash.DEDUP_THRESHOLD, num_perm=minhash.NUM_PERM)
    sigs: dict[str, Any] = {}
    for batch in store.iter_batches(version, "minhashes"):
        for doc_id, sig in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            if doc_id in split_of:
                sigs[doc_id] = np.asarray(sig, dtype=np.uint64)
                lsh.insert(doc_id, _minhash(sigs[doc_id]))
    found = []
    for doc_id, sig in sigs.items():
        for other in lsh.query(_minhash(sig)):
            if (
                other > doc_id
                and split_of[other] != split_of[doc_id]
                and float(np.mean(sigs[other] == sig)) >= minhash.DEDUP_THRESHOLD
            ):
                found.append(f"{doc_id}~{other}")
    return found


def unknown_labels(
    schema: AnnotationSchema,
    gold: Sequence[Mapping[str, Any]],
    gold_spans: Sequence[Mapping[str, Any]],
    annotations: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
) -> list[str]:
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
        f"schema: the rows use labels the current schema (version {schema.schema_version}) "
        f"does not have: {'; '.join(found)}; run `corpus schema migrate`"
    ]

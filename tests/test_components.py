"""The near-duplicate component of a document at a version, as sampling and releases use it.

docs/concepts/near-duplicates.md, "Near duplicates" (the component rule) and "Annotation
rounds" (a round samples no near-duplicate of what an earlier round sent; one representative per
component).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import write_article
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.neardup import component_names, components
from reference.sampling import candidates, representatives

import corpus
from corpus.label_schema import load_schema
from corpus.neardup import band_hashes
from corpus.neardup.components import document_components, resolve
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.population import eligible, plan_sample
from corpus.rounds.sample import Candidate, RandomStrategy, select
from corpus.rounds.state import RoundSettings, RoundState, save_round
from corpus.store import Store


def _equal(a: Any, b: Any) -> tuple[bool, int]:
    """(an LSH candidate: one band equal, how many of the 64 MinHash values are equal)."""
    return bool((band_hashes(a[None]) == band_hashes(b[None])).any()), int(np.sum(a == b))


def _case_1_texts() -> dict[str, str]:
    """A = P+Q+S, B = Q+R+T, C = P+Q+R: MinHash A~C 53/64, B~C 48/64, A~B 41/64 (the
    issue's figures; the threshold is 45)."""
    rng = random.Random(2212)
    p, q, r, s, t = ([f"w{rng.randrange(10**6)}" for _ in range(n)] for n in (54, 209, 33, 16, 27))
    return {k: " ".join(w) + "." for k, w in (("A", p + q + s), ("B", q + r + t), ("C", p + q + r))}


def test_issue_18_case_1_a_later_bridge_leaves_out_both_documents(tmp_path: Path) -> None:
    """issue 18 case 1: A is sent in round 1; B and C are ingested later, C a near-duplicate
    of A and of B (A~C 53/64, B~C 48/64, A~B 41/64). Ingest records the merge in dup_merges;
    round 2 must offer neither C nor B (docs/concepts/rounds.md: "nor a near-duplicate of one")."""
    texts = _case_1_texts()
    store = Store(tmp_path / "store")
    first = tmp_path / "first"
    write_article(first, "a.txt", "Story A", texts["A"])
    for i in range(3):
        write_article(first, f"d{i}.txt", f"Other {i}", f"A distinct report {i} on trade {i}.")
    v1 = corpus.ingest([first], store=store).version
    assert v1 is not None
    schema = load_schema()
    pre = KeywordPreAnnotator(schema)
    r1 = plan_sample(store, "r1", v1, RoundSettings(sample=None, overlap=1, seed=0), pre)
    docs1 = store.documents(v1, columns=["source_path"])
    a_id = next(d for d, row in docs1.items() if row["source_path"].endswith("a.txt"))
    save_round(store.root, RoundState(
        name="r1", version=v1, project_title="corpus r1", doc_ids=[a_id],
        settings=RoundSettings(sample=1, overlap=1, seed=0), schema_hash=schema.hash(),
        label_config_sha256="x", model_version="keywords", created="2026-01-01T00:00:00+00:00",
    ))  # fmt: skip
    assert a_id in r1.doc_ids
    later = tmp_path / "later"
    write_article(later, "b.txt", "Story B 1", texts["B"])  # B's id < A's
    write_article(later, "c.txt", "Story C", texts["C"])
    v2 = corpus.ingest([later], store=store).version
    assert v2 is not None
    docs = store.documents(v2, columns=["source_path", "dup_group"])
    ids = {Path(row["source_path"]).stem: d for d, row in docs.items()}
    sigs = {r["doc_id"]: np.array(r["signature"]) for r in store.iter_rows(v2, "minhashes")}
    a, b, c = (sigs[ids[k]] for k in "abc")
    assert (_equal(a, c)[1], _equal(b, c)[1], _equal(a, b)[1]) == (53, 48, 41)  # the premise
    assert _equal(a, c)[0] and _equal(b, c)[0]
    merges = store.read_table(v2, "dup_merges").to_pylist()
    assert len(merges) == 1  # ingest recorded the merge of A's and B's groups
    # C joined B's group (the smaller id) and A's group was merged into it: the stored
    # dup_group of B and C is not A's, which is all sampling used to read
    assert docs[ids["c"]]["dup_group"] == docs[ids["b"]]["dup_group"] == ids["b"] < ids["a"]
    assert merges[0]["dup_group"] == ids["a"] and merges[0]["into"] == ids["b"]
    comp = document_components(store, v2)
    assert comp[ids["a"]] == comp[ids["b"]] == comp[ids["c"]]
    r2 = plan_sample(store, "r2", v2, RoundSettings(sample=None, overlap=1, seed=0), pre)
    assert not {ids["a"], ids["b"], ids["c"]} & set(r2.doc_ids)
    assert r2.excluded == {"sent to annotators in round r1": 3}
    assert sorted(r2.doc_ids) == sorted(ids[f"d{i}"] for i in range(3))
    # with every document allowed, one representative of the component (its smallest id)
    everything = plan_sample(
        store, "r2", v2, RoundSettings(sample=None, overlap=1, seed=0, include_labelled=True), pre
    )
    assert len(set(everything.doc_ids) & {ids[k] for k in "abc"}) == 1
    assert min(ids[k] for k in "abc") in everything.doc_ids


# --- property tests: the real rule against the reference (tests/reference/) ---------------

GROUPS = st.sampled_from([f"{g:016x}" for g in (10, 11, 12, 13, 14)])  # ids: 16 hex digits
DOCS = st.dictionaries(st.sampled_from([f"d{i}" for i in range(7)]), GROUPS, max_size=7)


@st.composite
def merge_forests(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Merges as ingest makes them: a group is merged only while it is a root, once."""
    merged: dict[str, str] = {}
    for group, into in draw(st.lists(st.tuples(GROUPS, GROUPS), max_size=6)):

        def root(g: str) -> str:
            while g in merged:
                g = merged[g]
            return g

        if group not in merged and root(into) != group:
            merged[group] = root(into)
    return list(merged.items())


@settings(max_examples=300)
@given(DOCS, merge_forests())
def test_components_are_the_references(
    groups: dict[str, str], merges: list[tuple[str, str]]
) -> None:
    """docs/concepts/near-duplicates.md, Near duplicates: documents whose groups reach the
    same root through the recorded merges are one component (corpus.neardup.components.resolve vs
    tests/reference/neardup.py)."""
    real = resolve(groups, merges)
    assert real == component_names(groups, merges)
    ref = components(groups, merges)
    for doc_id in groups:
        assert {d for d in groups if real[d] == real[doc_id]} == ref[doc_id]


@settings(max_examples=300)
@given(
    DOCS,
    merge_forests(),
    st.lists(st.sets(st.sampled_from([f"d{i}" for i in range(9)]), max_size=3), max_size=3),
    st.sets(st.sampled_from([f"d{i}" for i in range(7)]), max_size=3),
    st.one_of(st.none(), st.integers(0, 2)),
    st.booleans(),
)
def test_eligible_documents_are_the_references(
    groups: dict[str, str],
    merges: list[tuple[str, str]],
    rounds: list[set[str]],
    gold: set[str],
    relabel: int | None,
    include_labelled: bool,
) -> None:
    """docs/concepts/rounds.md, Annotation rounds: only documents no earlier round sent (nor a
    near-duplicate of one) and without gold, or a --relabel round's documents, or
    (--include-labelled) every document; then one representative per component (population.eligible
    and sample.select vs tests/reference/sampling.py)."""
    named = [(f"r{i}", sorted(ids)) for i, ids in enumerate(rounds)]
    relabel_name = f"r{relabel}" if relabel is not None and relabel < len(named) else None
    include_labelled = include_labelled and relabel_name is None
    comp = resolve(groups, merges)
    kept, _ = eligible(comp, named, gold, relabel=relabel_name, include_labelled=include_labelled)
    ref_comp = components(groups, merges)
    sent = {d for _, ids in named for d in ids}
    relabel_ids = dict(named)[relabel_name] if relabel_name else None
    expected = candidates(
        ref_comp, sent, gold, relabel=relabel_ids, include_labelled=include_labelled
    )
    assert set(kept) == expected
    picked = select([Candidate(d, comp[d]) for d in kept], RandomStrategy(), n=None, seed=0)
    assert set(picked.doc_ids) == representatives(expected, ref_comp)


def test_a_cycle_in_a_damaged_merges_table_is_an_error_not_a_hang() -> None:
    a, b = f"{1:016x}", f"{2:016x}"
    with pytest.raises(ValueError, match="cycle"):
        resolve({"d": a}, [(a, b), (b, a)])

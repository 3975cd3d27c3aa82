"""The group-aware multi-label iterative stratifier (corpus/release/splits.py): grouping,
stability, label coverage and closeness to the ratios, as properties; the newsroom shape of
issue 12 (150 articles, 9 issues in ~16 documents each) against the stance-only splitter."""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.release.splits import (
    SPLITS,
    Assignment,
    Unit,
    build_units,
    merge_groups,
    placement_key,
    stratify,
)

LABELS = ("a", "b", "c", "d", "e")
RATIOS = st.sampled_from(
    [(0.8, 0.1, 0.1), (0.5, 0.5, 0.0), (1 / 3, 1 / 3, 1 / 3), (0.6, 0.2, 0.2), (0.0, 0.5, 0.5),
     (1.0, 0.0, 0.0), (8, 1, 1), (0.9, 0.05, 0.05)]
)  # fmt: skip
SEEDS = st.integers(0, 10**6)
STANCES = ("supportive", "opposed", "neutral", "mixed")
ISSUES = ("trade", "export_controls_technology", "national_security", "human_rights", "taiwan",
          "investment_economy", "exchanges", "diplomacy_dialogue", "climate")  # fmt: skip


@st.composite
def unit_lists(
    draw: st.DrawFn, prefix: str = "u", max_units: int = 40, single: bool = False
) -> list[Unit]:
    """Units with up to 4 documents; ``single``: each carries at most one label."""
    units = []
    for i in range(draw(st.integers(0, max_units))):
        size = draw(st.integers(1, 4))
        counts = st.integers(1 if single else 0, size)
        labels = draw(st.dictionaries(st.sampled_from(LABELS), counts, max_size=1 if single else 5))
        units.append(Unit(f"{prefix}{i}", labels, size))
    return units


def active(ratios: Sequence[float]) -> list[str]:
    return [s for s, r in zip(SPLITS, ratios, strict=True) if r > 0]


def carriers(units: Sequence[Unit], splits: Mapping[str, str]) -> Counter[tuple[str, str]]:
    """(label, split) -> units carrying the label there."""
    return Counter((x, splits[u.id]) for u in units for x, c in u.labels.items() if c)


def eligible(units: Sequence[Unit], k: int) -> set[str]:
    n = Counter(x for u in units for x, c in u.labels.items() if c)
    return {x for x in n if n[x] >= k}


# components ---------------------------------------------------------------------------------


def test_merge_groups_is_transitive_and_names_components_by_their_smallest_member() -> None:
    got = merge_groups(["g5", "g3", "g9", "g1", "g7"], [("g9", "g3"), ("g5", "g9"), ("g7", "g8")])
    assert got == {"g1": "g1", "g3": "g3", "g5": "g3", "g9": "g3", "g7": "g7", "g8": "g7"}
    assert merge_groups(["b", "a"], [("b", "a"), ("a", "b"), ("a", "a")]) == {"a": "a", "b": "a"}
    assert merge_groups([], []) == {}


def test_build_units_counts_documents_per_label_and_merges_linked_groups() -> None:
    docs = [("g2", ["x", "y"]), ("g2", ["x", "x"]), ("g1", ["y"]), ("g3", [])]
    units = build_units(docs, [("g2", "g1")])
    assert units == [
        Unit("g1", {"x": 2, "y": 2}, 3, {"g1": 1, "g2": 2}),
        Unit("g3", {}, 1, {"g3": 1}),
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.sets(st.sampled_from(LABELS))), max_size=80),
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=15),
    RATIOS,
    SEEDS,
)
def test_all_documents_of_a_component_share_a_split(
    raw: list[tuple[int, set[str]]], raw_links: list[tuple[int, int]], ratios: tuple[float, ...],
    seed: int,
) -> None:  # fmt: skip
    docs = [(f"g{g:02d}", labels) for g, labels in raw]
    links = [(f"g{a:02d}", f"g{b:02d}") for a, b in raw_links]
    units = build_units(docs, links)
    assert sum(u.size for u in units) == len(docs)
    for x in LABELS:
        assert sum(u.labels.get(x, 0) for u in units) == sum(x in labels for _, labels in docs)
    result = stratify(units, ratios=ratios, seed=seed)
    of_group = result.group_splits(units)
    assert set(of_group) == {g for g, _ in docs}
    for a, b in links:
        if a in of_group and b in of_group:
            assert of_group[a] == of_group[b]
    component = merge_groups((g for g, _ in docs), links)
    split_of_component: dict[str, set[str]] = defaultdict(set)
    for g, _ in docs:
        split_of_component[component[g]].add(of_group[g])
    assert all(len(s) == 1 for s in split_of_component.values())


# determinism, stability ---------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(unit_lists(), RATIOS, SEEDS, st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_input_order(
    units: list[Unit], ratios: tuple[float, ...], seed: int, rnd: random.Random
) -> None:
    result = stratify(units, ratios=ratios, seed=seed)
    assert stratify(units, ratios=ratios, seed=seed) == result
    shuffled = [
        Unit(u.id, dict(rnd.sample(list(u.labels.items()), len(u.labels))), u.size)
        for u in rnd.sample(units, len(units))
    ]
    assert stratify(shuffled, ratios=ratios, seed=seed) == result
    assert set(result.splits) == {u.id for u in units}
    assert set(result.splits.values()) <= set(active(ratios))  # never a 0-share split
    assert result.conflicts == []


@settings(max_examples=100, deadline=None)
@given(unit_lists(), unit_lists(prefix="n"), RATIOS, SEEDS)
def test_previous_placements_never_move(
    first: list[Unit], more: list[Unit], ratios: tuple[float, ...], seed: int
) -> None:
    before = stratify(first, ratios=ratios, seed=seed)
    assert stratify(first, ratios=ratios, seed=seed, previous=before.splits) == before
    after = stratify(first + more, ratios=ratios, seed=seed, previous=before.splits)
    assert {u: after.splits[u] for u in before.splits} == before.splits
    assert set(after.splits) == {u.id for u in first + more}
    assert after.conflicts == []


def test_previous_is_keyed_by_groups_and_merges_across_splits_are_reported() -> None:
    docs = [("g1", ["x"]), ("g1", ["x"]), ("g2", ["y"]), ("g3", ["x"]), ("g4", []), ("g5", [])]
    previous = {"g1": "test", "g2": "train", "g3": "validation", "g5": "validation"}
    # g1 (2 documents, test) and g2 (1, train) are now near-duplicates; g4 (new) joins g5
    units = build_units(docs, [("g2", "g1"), ("g4", "g5")])
    result = stratify(units, previous=previous)
    assert result.splits == {"g1": "test", "g3": "validation", "g4": "validation"}
    assert result.group_splits(units) == {
        "g1": "test", "g2": "test", "g3": "validation", "g4": "validation", "g5": "validation"
    }  # fmt: skip
    assert result.conflicts == [
        "component g1 merges groups placed in different splits (g1 in test, g2 in train); "
        "kept in test, the split of its largest previously placed member g1"
    ]


# coverage: every label in every split ------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(unit_lists(max_units=30), unit_lists(prefix="n", max_units=40), RATIOS, SEEDS, st.data())
def test_every_label_reaches_every_split_under_the_documented_condition(
    old: list[Unit], new: list[Unit], ratios: tuple[float, ...], seed: int, data: st.DataObject
) -> None:
    previous = {u.id: data.draw(st.sampled_from(SPLITS)) for u in old}  # any earlier placement
    units = old + new
    result = stratify(units, ratios=ratios, seed=seed, previous=previous)
    splits, k = active(ratios), len(active(ratios))
    have = carriers(units, result.splits)
    elig = eligible(units, k)
    # ``uncovered`` is exactly the set of gaps; ``scarce`` the labels on fewer units than splits
    assert result.uncovered == [(x, s) for x in sorted(elig) for s in splits if not have[x, s]]
    n_units = Counter(x for u in units for x, c in u.labels.items() if c)
    assert result.scarce == {x: n for x, n in sorted(n_units.items()) if n < k}
    # the empty-split rule
    if len(new) >= k:
        assert all(any(result.splits[u.id] == s for u in units) for s in splits)
    # the coverage guarantee: n_l >= (k - 1) * max(c_l, 1) + 1 over new units
    for x in elig:
        carrying = [u for u in new if u.labels.get(x)]
        c = len({y for u in carrying for y, n in u.labels.items() if n and y != x} & elig)
        if len(carrying) >= (k - 1) * max(c, 1) + 1:
            assert all(have[x, s] for s in splits), (x, c, len(carrying))


@settings(max_examples=150, deadline=None)
@given(unit_lists(max_units=60, single=True), RATIOS, SEEDS)
def test_single_label_units_cover_every_eligible_label(
    units: list[Unit], ratios: tuple[float, ...], seed: int
) -> None:
    result = stratify(units, ratios=ratios, seed=seed)
    assert result.uncovered == []


def test_an_infeasible_label_layout_is_reported_not_hidden() -> None:
    # three labels, each on two of three units: no 50/50 split gives each label both halves
    units = [Unit("u1", {"A": 1, "C": 1}, 1), Unit("u2", {"A": 1, "B": 1}, 1),
             Unit("u3", {"B": 1, "C": 1}, 1)]  # fmt: skip
    result = stratify(units, ratios=(0.5, 0.5, 0))
    assert len(result.uncovered) == 1
    # a label whose every unit was placed before in one split cannot be spread either
    units = [Unit(f"u{i}", {"A": 1}, 1) for i in range(4)] + [Unit("n", {}, 1)]
    result = stratify(units, previous={f"u{i}": "train" for i in range(4)})
    assert result.uncovered == [("A", "validation"), ("A", "test")]  # in split order


def test_a_split_with_a_positive_share_is_never_left_empty() -> None:
    units = [Unit(f"u{i}", {}, 1) for i in range(3)]
    assert sorted(stratify(units, ratios=(0.98, 0.01, 0.01)).splits.values()) == sorted(SPLITS)
    units = [Unit("u0", {}, 5), Unit("u1", {}, 1)]  # too few units: best effort, no error
    assert set(stratify(units).splits.values()) <= set(SPLITS)


# closeness to the ratios --------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(unit_lists(max_units=80, single=True), RATIOS, SEEDS)
def test_single_label_counts_stay_within_the_proven_bound(
    units: list[Unit], ratios: tuple[float, ...], seed: int
) -> None:
    """-(k - 1) * m_l < held - r_s * N_l < m_l, even after the repairs."""
    result = stratify(units, ratios=ratios, seed=seed)
    share = {s: r / sum(ratios) for s, r in zip(SPLITS, ratios, strict=True)}
    k = len(active(ratios))
    total: Counter[str] = Counter()
    most: Counter[str] = Counter()
    held: Counter[tuple[str, str]] = Counter()
    for u in units:
        for x, c in u.labels.items():
            total[x] += c
            most[x] = max(most[x], c)
            held[x, result.splits[u.id]] += c
    for x in total:
        for s in active(ratios):
            deviation = held[x, s] - share[s] * total[x]
            assert -(k - 1) * most[x] < deviation + 1e-9 and deviation < most[x] + 1e-9


def test_multi_label_deviation_has_no_bound_in_the_largest_unit_count() -> None:
    """Label ``a`` (placed first) drives every unit, label ``b`` follows wherever they go. In
    a hash order of one B-unit then three A-units, the greedy balances ``a`` exactly but puts
    all A-units (3 documents with ``b`` each) in one split: ``b`` is off by 200 documents
    although no unit carries more than 3 (and the documents are 450/150 for 50/50)."""
    ids = sorted((f"u{i}" for i in range(200)), key=lambda i: placement_key(i, 0))
    units = [
        Unit(i, {"a": 3, "b": 1} if j % 4 == 0 else {"a": 1, "b": 3}, 3) for j, i in enumerate(ids)
    ]
    result = stratify(units, ratios=(0.5, 0.5, 0))
    held = Counter((x, result.splits[u.id]) for u in units for x in u.labels for _ in
                   range(u.labels[x]))  # fmt: skip
    assert held["a", "train"] == held["a", "validation"] == 150
    assert abs(held["b", "train"] - 250) == 200


# the real-world shape ------------------------------------------------------------------------


def newsroom(seed: int) -> tuple[list[tuple[str, set[str]]], list[tuple[str, str]]]:
    """150 documents, 140 near-duplicate groups (10 pairs), 2 extra cross-group links, one of
    4 stances per document (skewed) and 9 issues in 16 random documents each."""
    rng = random.Random(seed)
    labels = [{f"stance={rng.choices(STANCES, weights=[35, 30, 25, 10])[0]}"} for _ in range(150)]
    for issue in ISSUES:
        for d in rng.sample(range(150), 16):
            labels[d].add(f"issue={issue}")
    groups = [f"g{i:03d}" for i in range(150)]
    for pair in range(10):
        groups[140 + pair] = groups[7 * pair]
    links = [(groups[3], groups[50]), (groups[60], groups[61])]
    return list(zip(groups, labels, strict=True)), links


def stance_only(units: Sequence[Unit], seed: int) -> dict[str, str]:
    """The current release splitter (corpus/release/splits.py), re-implemented: each group's
    stratum is its majority stance; groups go, in seeded order, to the split furthest below
    its share within the stratum; then empty splits are filled."""
    ratios = (0.8, 0.1, 0.1)
    held: dict[str, Counter[str]] = defaultdict(Counter)
    out: dict[str, str] = {}

    def order(u: Unit) -> str:
        return hashlib.sha256(f"{seed}:{u.id}".encode()).hexdigest()

    for u in sorted(units, key=order):
        stratum = max(
            sorted(x for x in u.labels if x.startswith("stance=")), key=lambda x: u.labels[x]
        )
        have = held[stratum]
        total = sum(have.values()) + u.size
        deficits = [(ratios[i] * total - have[s], -i) for i, s in enumerate(SPLITS)]
        out[u.id] = SPLITS[-max(deficits)[1]]
        have[out[u.id]] += u.size
    assert set(out.values()) == set(SPLITS)  # no empty split to fill on this shape
    return out


@pytest.mark.parametrize("seed", range(20))
def test_newsroom_shape_puts_every_stance_and_issue_in_every_split(seed: int) -> None:
    docs, links = newsroom(seed)
    units = build_units(docs, links)
    assert 130 <= len(units) <= 140
    result = stratify(units, seed=seed)
    assert result.uncovered == [] and result.conflicts == []
    have = carriers(units, result.splits)
    labels = {x for _, ls in docs for x in ls}
    assert len(labels) == 13
    assert all(have[x, s] for x in labels for s in SPLITS)
    sizes = Counter(result.group_splits(units)[g] for g, _ in docs)
    assert sizes["train"] >= 110 and 11 <= sizes["validation"] <= 20 and 11 <= sizes["test"] <= 20


def test_the_stance_only_splitter_misses_issues_on_the_newsroom_shape() -> None:
    missing = 0
    for seed in range(20):
        docs, links = newsroom(seed)
        units = build_units(docs, links)
        have = carriers(units, stance_only(units, seed))
        missing += not all(have[x, s] for _, ls in docs for x in ls for s in SPLITS)
    assert missing >= 18  # of 20 seeds


# input checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "kwargs", "message"),
    [
        ([Unit("u", {}, 1)], {"ratios": (1, 1)}, "ratios"),
        ([Unit("u", {}, 1)], {"ratios": (0, 0, 0)}, "ratios"),
        ([Unit("u", {}, 1)], {"ratios": (1, -1, 1)}, "ratios"),
        ([Unit("u", {}, 1), Unit("u", {}, 2)], {}, "unique"),
        ([Unit("u", {"x": 2}, 1)], {}, "label counts"),
        ([Unit("u", {}, 0)], {}, "size"),
        ([Unit("u", {}, 1)], {"previous": {"u": "dev"}}, "unknown split"),
    ],
)
def test_bad_input_is_refused(units: list[Unit], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stratify(units, **kwargs)  # type: ignore[arg-type]


def test_assignment_is_a_plain_value() -> None:
    assert stratify([]) == Assignment({}, [], [])

"""Calibration folds of the stance model are grouped by near-duplicate component.

docs/how-to/model-in-the-loop.md, "Models in the loop": the calibration folds never put two
near-duplicates on both sides (issue 18 case 9).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.training.data import Doc
from corpus.training.fit import calibration_folds, fit_stance

WORDS = ["tariffs", "steel", "soybeans", "talks", "rights", "climate", "taiwan", "vote"]


def _docs(n_groups: int, per_group: int) -> list[Doc]:
    rng = np.random.default_rng(0)
    docs = []
    for g in range(n_groups):
        stance = ["supportive", "opposed", "neutral"][g % 3]
        base = " ".join(rng.choice(WORDS, 30))
        for k in range(per_group):  # near-duplicates: one word changed
            docs.append(Doc(f"d{g}-{k}", f"{base} {stance} {k}", stance, (), f"g{g}", "en"))
    return docs


def _folds(fit: Any, docs: list[Doc]) -> list[tuple[Any, Any]]:
    cv = fit.pipeline.named_steps["calibrated"].cv
    if hasattr(cv, "split"):  # how scikit-learn would cut it
        return list(cv.split(np.zeros((len(docs), 1)), [d.stance for d in docs]))
    return list(cv)


def test_issue_18_case_9_no_fold_separates_a_near_duplicate_component() -> None:
    """issue 18 case 9: calibration folds ignored near-duplicate groups (StratifiedKFold over
    documents), so a document's near-duplicates sat in the folds calibrating it."""
    docs = _docs(12, 3)
    fit = fit_stance(docs, C=1.0, seed=0)
    folds = _folds(fit, docs)
    assert len(folds) == fit.params["folds"] == 3
    for train, test in folds:
        assert not {docs[i].dup_group for i in train} & {docs[i].dup_group for i in test}
    # groups merged into one component (dup_merges) stay together too
    merged = {f"g{g}": "g0" for g in range(0, 12, 4)}
    fit = fit_stance(docs, C=1.0, seed=0, components=merged)
    for train, test in _folds(fit, docs):
        comp = [merged.get(d.dup_group, d.dup_group) for d in docs]
        assert not {comp[i] for i in train} & {comp[i] for i in test}


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(["g0", "g1", "g2", "g3", "g4"])),
        min_size=4,
        max_size=14,
    ),
    st.integers(0, 3),
)
def test_calibration_folds_never_separate_a_component(
    rows: list[tuple[str, str]], seed: int
) -> None:
    """Property: whatever the labels and components, every document is in exactly one test
    fold, and no component has documents on both sides of any fold."""
    labels = [label for label, _ in rows]
    groups = [group for _, group in rows]
    counts = {label: labels.count(label) for label in set(labels)}
    if min(counts.values()) < 2:
        return  # fit_stance leaves such labels out before calibrating
    folds = calibration_folds(labels, groups, seed=seed)
    assert len(folds) >= 2 or len(set(groups)) < 2
    tested = sorted(i for _, test in folds for i in test)
    if len(set(groups)) >= 2:
        assert tested == list(range(len(rows)))
        for train, test in folds:
            assert not {groups[i] for i in train} & {groups[i] for i in test}

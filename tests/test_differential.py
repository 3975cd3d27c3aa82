"""Differential test over random round histories: the real code against the reference model.

Hypothesis drives a :class:`~hypothesis.stateful.RuleBasedStateMachine` through random
histories -- ingests with planted exact and near duplicates (some bridging two earlier
groups), rounds sampled by the real sampling plan, annotations with edits, skips, id-less
and overlapping regions and per-span stances, pulls and incremental re-pulls of simulated
Label Studio exports (``tests/ls_export.py``, shaped like the recorded real export
``tests/data/export-1.23.2.json``) and adjudication -- and after each step compares what the
real code stored with what the reference history model (``tests/reference/history.py``)
says it must be. The machine is in ``tests/differential.py``, its inputs (planted texts,
annotation strategies) in ``tests/differential_inputs.py``.

The CI profile runs 200 histories (``DIFFERENTIAL_HISTORIES``); ``pytest
--hypothesis-profile=long tests/test_differential.py`` runs ten times as many (docs/development.md,
Quick start: the paragraph on the reference twins and the differential suite). Histories a failure
was found in are kept below as explicit regression tests (``test_history_*``).

Mutation check, by hand (issue 18): with skips taken as votes (``corpus.labels.votes``), the
recorded merges ignored (``corpus.neardup.components.resolve``) or sampling reading the stored
groups instead of the components (``corpus.rounds.population``), the random histories fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from differential import Histories
from differential_inputs import BASES, TRIOS, USERS, VARIANTS, planted_text
from hypothesis import settings
from reference.history import History, Planted

from corpus.ingestion.minhash import minhash_signatures
from corpus.neardup.bands import MIN_EQUAL, band_hashes, equal_counts

DATA = Path(__file__).resolve().parent / "data"
RECORDED = DATA / "export-1.23.2.json"


@pytest.fixture(autouse=True)
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Durability is not what these histories test (the crash tests do): without fsync a
    history takes a tenth of the time, so CI runs enough of them."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


DIFFERENTIAL_HISTORIES = 200

Histories.TestCase.settings = settings(
    settings.default,
    max_examples=max(DIFFERENTIAL_HISTORIES, settings.default.max_examples),
    stateful_step_count=8,
)
# 200 histories, about 25 s: `./scripts/test --fast` leaves the search to CI and the full run
test_histories = pytest.mark.slow(Histories.TestCase)


# --- the simulator against the real server's export ------------------------------------------


def _shape(value: Any, path: str = "$") -> dict[str, set[str]]:
    """Every key path of a JSON value with the type names seen there (lists merged)."""
    out: dict[str, set[str]] = {path: {type(value).__name__}}
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        children = [(f"{path}.{k}", v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{path}[]", v) for v in value]
    for child_path, child in children:
        for key, kinds in _shape(child, child_path).items():
            out.setdefault(key, set()).update(kinds)
    return out


def _simulated_export() -> list[dict[str, Any]]:
    machine = Histories()
    try:
        machine.ingest_batch([("base0", "v0"), ("base1", "v0")])
        machine.start_round(sample=None, seed=0)
        machine.annotate(0, [
            ("new", 0, 1, False, ("opposed", [(0, 2, 0, "opposed", True)], True), 12.5),
            ("new", 0, 2, False, ("neutral", [(1, 1, 0, "supportive", False)], False), None),
            ("new", 0, 3, True, (None, [], False), None),
            ("edit", 1, ("supportive", [(1, 1, 0, "supportive", False)], False)),
        ])  # fmt: skip
        return machine.export(machine.model.rounds[0])
    finally:
        machine.teardown()


# Made in the browser only (the recording's annotations come through the API): the result
# items' ``origin`` ("manual", "prediction", "prediction-changed"), docs/labelstudio notes §6.
UI_ONLY = {"$[].annotations[].result[].origin"}


def test_the_simulated_export_has_the_shape_of_a_real_one() -> None:
    """The simulated export (tests/ls_export.py) has exactly the key paths of the export a
    real Label Studio 1.23.2 returned (tests/data/export-1.23.2.json, recorded by
    tests/data/record_export.py), with the same types wherever both hold a value; the
    differential test's pulls read what a real pull reads."""
    recorded = _shape(json.loads(RECORDED.read_text(encoding="utf-8")))
    simulated = _shape(_simulated_export())
    assert sorted(simulated) == sorted(recorded.keys() | UI_ONLY)
    for path, kinds in simulated.items():
        real = recorded.get(path, {"str"}) - {"NoneType"}
        mine = kinds - {"NoneType"}
        assert not real or not mine or mine <= real, (path, mine, real)


def test_the_planted_texts_link_as_the_model_says() -> None:
    """The planted texts are what the model assumes (docs/concepts/near-duplicates.md "Near
    duplicates": a later document close to two groups merges them): near copies are near duplicates
    under the real MinHash/LSH; a trio's C is one of A and of B, which are not of each other; texts
    of different families share no band."""
    from reference.history import linked

    specs = [(f"base{b}", f"v{v}") for b in range(BASES) for v in range(VARIANTS)]
    specs += [(f"trio{t}", p) for t in range(len(TRIOS)) for p in "ABC"]
    sigs = minhash_signatures([planted_text(f, p) for f, p in specs])
    bands = band_hashes(sigs)
    for i, a in enumerate(specs):
        for j, b in enumerate(specs[:i]):
            candidate = bool((bands[i] == bands[j]).any())
            found = (
                candidate and int(equal_counts(sigs[i : i + 1], sigs[j : j + 1])[0]) >= MIN_EQUAL
            )
            model = linked(Planted("x", *a, 0), Planted("y", *b, 0))
            assert found == model, (a, b)


# --- histories kept as regression tests -------------------------------------------------------


def _run(steps: list[tuple[str, tuple[Any, ...]]]) -> History:
    """Run the steps on a fresh machine (each checks itself); the model of the history."""
    machine = Histories()
    try:
        for name, args in steps:
            getattr(machine, name)(*args)
        return machine.model
    finally:
        machine.teardown()


def test_history_a_later_bridge_keeps_round_two_off_round_ones_near_duplicates() -> None:
    """issue 18 case 1: A is sent in round 1; B (not close to A) and then C (close to both)
    are ingested; round 2 may offer neither B nor C (docs/concepts/rounds.md, Annotation rounds:
    "nor a near-duplicate of one")."""
    _run([
        ("ingest_batch", ([("trio0", "A")],)),
        ("start_round", (None, 0)),
        ("ingest_batch", ([("trio0", "B"), ("base0", "v0")],)),
        ("ingest_batch", ([("trio0", "C")],)),
        ("start_round", (None, 0)),
    ])  # fmt: skip


def test_history_a_later_skip_leaves_the_vote_standing() -> None:
    """issue 18 case 3: annotator 1 answers, then skips the same document; agreement and
    gold count the answer (docs/concepts/gold.md, Adjudication, Votes: "a skip after an answer
    leaves the answer standing")."""
    answer = ("opposed", [(0, 2, 0, "opposed", True)], True)
    _run([
        ("ingest_batch", ([("base0", "v0")],)),
        ("start_round", (None, 0)),
        ("annotate", (0, [("new", 0, 1, False, answer, None), ("new", 0, 2, False, answer, None),
                          ("new", 0, 1, True, (None, [], False), None)])),
        ("pull", (0,)),
        ("adjudicate", (0,)),
    ])  # fmt: skip


def test_history_majority_gold_keeps_both_short_spans() -> None:
    """issue 18 case 2: X marks one long span over words 0-4; Y and Z each mark words 0-1
    and 3-4 with the same issue; gold keeps both short spans (docs/concepts/gold.md, Adjudication,
    Spans)."""
    long_ = ("opposed", [(0, 5, 0, None, True)], False)
    short = ("opposed", [(0, 2, 0, None, True), (3, 2, 0, None, True)], False)
    _run([
        ("ingest_batch", ([("base1", "v0")],)),
        ("start_round", (None, 0)),
        ("annotate", (0, [("new", 0, 1, False, long_, None), ("new", 0, 2, False, short, None),
                          ("new", 0, 3, False, short, None)])),
        ("pull", (0,)),
        ("adjudicate", (0,)),
    ])  # fmt: skip


def test_history_an_edit_between_pulls_is_what_the_incremental_pull_stores() -> None:
    """An incremental pull after an edit stores the edited annotation and reuses the rows of
    unchanged tasks unchanged (docs/concepts/rounds.md, Annotation rounds: only changed tasks are
    validated again); id-less regions at the same offsets with two labels are two spans (issue 18
    case 4)."""
    two = ("neutral", [(1, 1, 0, None, False), (1, 1, 1, None, False)], False)
    edit = ("supportive", [(2, 2, 1, "opposed", False)], False)
    _run([
        ("ingest_batch", ([("base0", "v0"), ("base1", "v0")],)),
        ("start_round", (None, 1)),
        ("annotate", (0, [("new", 0, 1, False, two, 3.0), ("new", 1, 2, False, two, None)])),
        ("pull", (0,)),
        ("annotate", (0, [("edit", 0, edit)])),
        ("pull", (0,)),
        ("pull", (0,)),
        ("adjudicate", (0,)),
    ])  # fmt: skip


def test_history_an_incremental_pull_after_two_migrations_maps_each_row_once() -> None:
    """issue 18 case 7: a round is pulled; climate is renamed climate_x, then trade is
    renamed climate (a name reused); a pull after a new annotation, then an incremental pull
    after an edit of it (reusing the other task's rows of the post-migration pull) store every
    row mapped once (trade -> climate, climate -> climate_x), never twice
    (docs/how-to/schema-migrations.md, "A label is mapped once")."""
    both = ("neutral", [(0, 1, 0, None, True), (2, 1, 1, "opposed", True)], False)
    _run([
        ("ingest_batch", ([("base0", "v0"), ("base1", "v0")],)),
        ("start_round", (None, 0)),
        ("annotate", (0, [("new", 0, 1, False, both, None), ("new", 1, 2, False, both, None)])),
        ("pull", (0,)),
        ("migrate", ("rename", 1, "climate_x")),
        ("migrate", ("rename", 0, "climate")),
        ("annotate", (0, [("new", 0, 3, False, both, None)])),
        ("pull", (0,)),
        ("annotate", (0, [("edit", 2, both)])),
        ("pull", (0,)),
        ("adjudicate", (0,)),
    ])  # fmt: skip


def test_history_a_vote_without_a_stance_is_not_what_gold_came_from() -> None:
    """Found by the differential test (its failing history, kept): an annotator's vote with
    spans but no document stance leaves the document unresolved, and the gold row lists no
    annotation it came from (docs/concepts/gold.md, Adjudication: the annotation ids a gold row came
    from)."""
    spans_only = (None, [(3, 3, 0, "opposed", False)], False)
    _run([
        ("ingest_batch", ([("trio1", "B"), ("base1", "v2")],)),
        ("start_round", (1, 1)),
        ("annotate", (3, [("new", 8, 2, True, ("opposed", [], True), None)])),
        ("migrate", ("rename", 1, "trade")),
        ("migrate", ("remove", 0, "tariffs_x")),
        ("ingest_batch", ([("base1", "v2")],)),
        ("annotate", (0, [("new", 4, 2, False, spans_only, 4.5)], "adjudicate")),
    ])  # fmt: skip


def test_history_disagreement_resolved_by_a_later_round_is_not_sampled_again() -> None:
    """issue 18 case 6: two annotators tie on a document in round 1 (gold unresolved); a
    disagreement round re-sends it and three annotators agree (gold decided); a third
    disagreement round must not offer it: disagreement is measured per round, never pooled,
    and "unresolved" is the effective gold across rounds (docs/concepts/rounds.md, Annotation
    rounds)."""
    opposed, supportive = ("opposed", [], True), ("supportive", [], True)
    agree = [("new", 0, u, False, opposed, None) for u in USERS]
    model = _run([
        ("ingest_batch", ([("base0", "v0")],)),
        ("start_round", (None, 0)),
        ("annotate", (0, [("new", 0, 1, False, opposed, None),
                          ("new", 0, 2, False, supportive, None)], "adjudicate")),
        ("start_round", (None, 0, "disagreement")),
        ("annotate", (1, agree, "adjudicate")),
        ("start_round", (None, 0, "disagreement")),
    ])  # fmt: skip
    assert [r.doc_ids for r in model.rounds[1:]] == [model.rounds[0].doc_ids]

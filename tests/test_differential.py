"""Differential test over random round histories: the real code against the reference model.

Hypothesis drives a :class:`~hypothesis.stateful.RuleBasedStateMachine` through random
histories -- ingests with planted exact and near duplicates (some bridging two earlier
groups), rounds sampled by the real sampling plan, annotations with edits, skips, id-less
and overlapping regions and per-span stances, pulls and incremental re-pulls of simulated
Label Studio exports (``tests/ls_export.py``, shaped like the recorded real export
``tests/data/export-1.23.2.json``) and adjudication -- and after each step compares what the
real code stored with what the reference history model (``tests/reference/history.py``)
says it must be.

The CI profile runs 200 histories (``DIFFERENTIAL_HISTORIES``); ``pytest
--hypothesis-profile=long tests/test_differential.py`` runs ten times as many.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import write_article
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from ls_export import annotation, prediction, region_items, stance_item, task
from reference.history import Annotation, History, Planted, Round, expected_rows, latest_votes

import corpus
from corpus.errors import RoundError
from corpus.ingestion.minhash import minhash_signatures
from corpus.label_schema import load_schema
from corpus.neardup.bands import MIN_EQUAL, band_hashes, equal_counts
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.convert import to_task
from corpus.rounds.population import plan_sample
from corpus.rounds.pull import pull_export
from corpus.rounds.pulled import AnnotatorKeys, pseudonym_key, pulled_versions
from corpus.rounds.schemas import save_round_schema
from corpus.rounds.state import RoundSettings, RoundState, save_round
from corpus.store import Store

DATA = Path(__file__).resolve().parent / "data"
RECORDED = DATA / "export-1.23.2.json"
# A history writes hundreds of small files: in memory where there is a tmpfs.
FAST_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@pytest.fixture(autouse=True)
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Durability is not what these histories test (the crash tests do): without fsync a
    history takes a tenth of the time, so CI runs enough of them."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


# --- texts with planted near duplicates ------------------------------------------------------

_SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "zu", "bo", "di", "fa", "gu")
BASE_WORDS = 60  # near copies differ in the last word: J(5-shingles) = 55/57
BASES = 3
VARIANTS = 3
TRIOS = (0, 4, 5)  # word pools whose trio links as planned under the real MinHash/LSH


def _word(i: int) -> str:
    out, i = "", i + 1
    while i:
        i, r = divmod(i, len(_SYLLABLES))
        out += _SYLLABLES[r]
    return out


def _body(words: list[str]) -> str:
    return " ".join(
        " ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)
    )


def base_text(base: int, variant: int) -> str:
    """A text of family ``base``; variants differ from each other in the last word only."""
    words = [_word(1000 + 100 * base + i) for i in range(BASE_WORDS)]
    if variant:
        words[-1] = _word(1000 + 100 * base + BASE_WORDS + variant)
    return _body(["tariffs", *words])  # a keyword: the pre-annotator suggests a span


def trio_text(trio: int, part: str, p: int = 20) -> str:
    """A = P+Q, B = Q+R, C = P+Q+R with |Q| = 3p + 4: J(A, C) = J(B, C) = 0.8, J(A, B) = 0.6
    (word 5-shingles), so C is a near duplicate of A and of B, which are not of each other."""
    q = 3 * p + 4
    start = 5000 + 200 * TRIOS[trio]
    words = [_word(start + i) for i in range(2 * p + q)]
    chunks = {"A": words[: p + q], "B": words[p:], "C": words}
    return _body(chunks[part])


def planted_text(family: str, part: str) -> str:
    if family.startswith("trio"):
        return trio_text(int(family[4:]), part)
    return base_text(int(family[4:]), int(part[1:]))


DOC_SPECS = st.one_of(
    st.tuples(st.sampled_from([f"base{b}" for b in range(BASES)]),
              st.sampled_from([f"v{v}" for v in range(VARIANTS)])),
    st.tuples(st.sampled_from([f"trio{t}" for t in range(len(TRIOS))]), st.sampled_from("ABC")),
)  # fmt: skip

# --- annotations ------------------------------------------------------------------------------

USERS = (1, 2, 3)
STANCES = ("supportive", "opposed", "neutral")
ISSUES = ("trade", "climate")
SPAN_STANCES = (None, "supportive", "opposed")
REGION = st.tuples(
    st.integers(0, 4),  # first word
    st.integers(1, 3),  # words
    st.sampled_from(ISSUES),
    st.sampled_from(SPAN_STANCES),
    st.booleans(),  # the result carries an id (made in the UI) or not (API, ML backend)
)
RESULT = st.tuples(
    st.one_of(st.none(), st.sampled_from(STANCES)),
    st.lists(REGION, max_size=3),
    st.booleans(),  # the stance made in the UI (an id) or through the API
)
ACTION = st.one_of(
    st.tuples(st.just("new"), st.integers(0, 9), st.sampled_from(USERS), st.booleans(), RESULT,
              st.sampled_from([None, 4.5, 30.0])),
    st.tuples(st.just("edit"), st.integers(0, 99), RESULT),
)  # fmt: skip


def word_bounds(text: str) -> list[tuple[int, int]]:
    bounds, start = [], None
    for i, ch in enumerate(text + " "):
        if ch.isalnum() and start is None:
            start = i
        elif not ch.isalnum() and start is not None:
            bounds.append((start, i))
            start = None
    return bounds


def make_result(text: str, drawn: tuple[Any, ...], region_base: int) -> list[dict[str, Any]]:
    stance, regions, stance_id = drawn
    items = [stance_item(stance, f"s{region_base}" if stance_id else None)] if stance else []
    words = word_bounds(text)
    for k, (first, n, issue, span_stance, with_id) in enumerate(regions):
        start, end = words[first][0], words[first + n - 1][1]
        region = f"r{region_base}x{k}" if with_id else None
        items.extend(region_items(text, start, end, issue, span_stance, region))
    return items


# --- the machine ------------------------------------------------------------------------------


class Histories(RuleBasedStateMachine):
    """One random history on a fresh store."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="corpus-diff-", dir=FAST_TMP))
        self.store = Store(self.tmp / "store")
        self.schema = load_schema()
        self.pre = KeywordPreAnnotator(self.schema)
        self.model = History()
        self.texts: dict[str, str] = {}
        self.sha: dict[str, str] = {}
        self.tick = 0
        self.ids = {"doc": 0, "task": 0, "annotation": 0, "batch": 0}
        self.keys = AnnotatorKeys("simulated-server", {})
        self.who: dict[str, int] = {}

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _next(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def _clock(self) -> int:
        self.tick += 1
        return self.tick

    # ingest ----------------------------------------------------------------------------------

    @initialize(specs=st.lists(DOC_SPECS, min_size=1, max_size=4))
    def first_batch(self, specs: list[tuple[str, str]]) -> None:
        self.ingest_batch(specs)

    @rule(specs=st.lists(DOC_SPECS, min_size=1, max_size=3))
    def ingest_batch(self, specs: list[tuple[str, str]]) -> None:
        batch = self._next("batch")
        folder = self.tmp / f"batch{batch}"
        titles = {}
        for family, part in specs:
            n = self._next("doc")
            title = f"Story {n} {family} {part}"
            write_article(folder, f"{n:03d}.txt", title, planted_text(family, part))
            titles[title] = (family, part)
        result = corpus.ingest([folder], store=self.store, schema=self.schema)
        assert result.version is not None
        for row in self.store.documents(
            result.version, columns=["title", "text", "text_sha256"]
        ).values():
            if row["title"] in titles:
                family, part = titles[row["title"]]
                self.model.add_doc(Planted(row["doc_id"], family, part, batch))
                self.texts[row["doc_id"]] = row["text"]
                self.sha[row["doc_id"]] = row["text_sha256"]
        assert set(self.model.docs) == set(self.texts)
        self.check_components()

    def real_components(self) -> dict[str, str]:
        """doc_id -> its group's root at the latest version (stored groups, merges followed)."""
        latest = self.store.latest_name()
        assert latest is not None
        groups = {
            d: r["dup_group"]
            for d, r in self.store.documents(latest, columns=["dup_group"]).items()
        }
        parent = (
            {r["dup_group"]: r["into"] for r in self.store.iter_rows(latest, "dup_merges")}
            if "dup_merges" in self.store.manifest(latest).tables
            else {}
        )

        def root(g: str) -> str:
            while g in parent:
                g = parent[g]
            return g

        return {d: root(g) for d, g in groups.items()}

    def check_components(self) -> None:
        """Planted near duplicates are found by the real ingest: its groups and merges give
        exactly the model's components."""
        real = self.real_components()
        model = self.model.components()
        for d in model:
            assert {x for x in model if real[x] == real[d]} == set(model[d]), d

    # rounds ----------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model.rounds) < 4)
    @rule(sample=st.sampled_from([None, 1, 2]), seed=st.integers(0, 3))
    def start_round(self, sample: int | None, seed: int) -> None:
        name = f"r{len(self.model.rounds) + 1:02d}"
        version = self.store.latest_name()
        assert version is not None
        settings_ = RoundSettings(sample=sample, overlap=3, seed=seed)
        plan = plan_sample(self.store, name, version, settings_, self.pre)
        eligible = self.model.eligible()
        comp = self.model.components()
        chosen = set(plan.doc_ids)
        assert chosen <= eligible, (
            "sampled a document sent before, or a near-dup of one",
            chosen - eligible,
        )
        assert len({comp[d] for d in chosen}) == len(chosen), "two documents of one component"
        if sample is None:
            assert len(chosen) == len({comp[d] for d in eligible})
        else:
            assert len(chosen) == min(sample, len({comp[d] for d in eligible}))
        if not plan.doc_ids:
            return
        state = RoundState(
            name=name, version=version, project_title=f"corpus {name}", settings=settings_,
            doc_ids=plan.doc_ids, anchor_ids=plan.anchor_ids, scores=plan.scores,
            excluded=plan.excluded, population=plan.population, schema_hash=self.schema.hash(),
            label_config_sha256="", model_version=self.pre.model_version,
            created=f"2026-03-01T10:00:{len(self.model.rounds):02d}+00:00",
            project_id=100 + len(self.model.rounds),
        )  # fmt: skip
        save_round(self.store.root, state)
        save_round_schema(self.store, state, self.schema)
        tasks = {d: self._next("task") for d in plan.doc_ids}
        self.model.rounds.append(Round(name, version, list(plan.doc_ids), tasks))

    # annotations -----------------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.rounds))
    @rule(pick=st.integers(0, 3), actions=st.lists(ACTION, min_size=1, max_size=4))
    def annotate(self, pick: int, actions: list[tuple[Any, ...]]) -> None:
        r = self.model.rounds[pick % len(self.model.rounds)]
        for action in actions:
            now = self._clock()
            if action[0] == "new":
                _, doc_pick, user, skip, drawn, lead_time = action
                doc_id = r.doc_ids[doc_pick % len(r.doc_ids)]
                ann_id = self._next("annotation")
                result = [] if skip else make_result(self.texts[doc_id], drawn, ann_id)
                r.annotations.append(Annotation(
                    ann_id, r.tasks[doc_id], doc_id, user, result, skip, now, now,
                    lead_time,
                ))  # fmt: skip
            elif r.annotations:
                _, ann_pick, drawn = action
                ann = r.annotations[ann_pick % len(r.annotations)]
                if not ann.was_cancelled:  # the UI edits an annotation; a skip stays a skip
                    ann.result = make_result(self.texts[ann.doc_id], drawn, ann.id * 100 + now)
                    ann.updated_at = now

    def export(self, r: Round) -> list[dict[str, Any]]:
        """The round's project as Label Studio exports it: every task (made by the real
        ``to_task`` at push), each annotation with the task's prediction embedded."""
        project = 100 + self.model.rounds.index(r)
        out = []
        for inner, doc_id in enumerate(r.doc_ids, 1):
            tid = r.tasks[doc_id]
            text = self.texts[doc_id]
            pushed = to_task(
                {"text": text, "title": "", "doc_id": doc_id, "text_sha256": self.sha[doc_id]},
                version=r.version, round_name=r.name, suggestions=self.pre.predict(text),
                model_version=self.pre.model_version,
            )  # fmt: skip
            pred = prediction(pred_id=tid, task_id=tid, project=project, created=0,
                              **pushed["predictions"][0])  # fmt: skip
            anns = [
                annotation(
                    ann_id=a.id, task_id=tid, project=project, user=a.user, result=a.result,
                    was_cancelled=a.was_cancelled, created=a.created_at, updated=a.updated_at,
                    lead_time=a.lead_time, prediction=pred,
                )
                for a in r.annotations
                if a.doc_id == doc_id
            ]  # fmt: skip
            out.append(task(task_id=tid, inner_id=inner, project=project, data=pushed["data"],
                            annotations=anns, predictions=[tid], created=0))  # fmt: skip
        return out

    # pull ------------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.rounds))
    @rule(pick=st.integers(0, 3))
    def pull(self, pick: int) -> None:
        r = self.model.rounds[pick % len(self.model.rounds)]
        export = self.export(r)
        result = pull_export(
            self.store, r.name, json.dumps(export).encode(), annotators=self.keys,
            schema=self.schema, preannotator=self.pre,
        )  # fmt: skip
        assert not result.rejects, result.rejects
        r.pulled.append(export)
        self.check_pulled(r)

    def user_of(self, pseudonym: str) -> int:
        if not self.who:
            key = pseudonym_key(self.store)
            self.who = {self.keys.pseudonym(key, u): u for u in USERS}
        return self.who[pseudonym]

    def real_rows(self, r: Round) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        version = pulled_versions(self.store, r.name)[-1]
        anns = [a for a in self.store.iter_rows(version, "annotations") if a["round"] == r.name]
        spans = [s for s in self.store.iter_rows(version, "spans") if s["round"] == r.name]
        for row in anns + spans:
            row["user"] = self.user_of(row["annotator"])
        return anns, spans

    def check_pulled(self, r: Round) -> None:
        """The rows a pull stores are the model's rows of the export it read (also when an
        incremental pull reused the rows of unchanged tasks)."""
        want_anns, want_spans = expected_rows(r.pulled[-1], self.texts)
        got_anns, got_spans = self.real_rows(r)
        assert canon(got_anns, want_anns[0] if want_anns else {}) == canon(want_anns)
        assert canon(got_spans, want_spans[0] if want_spans else {}) == canon(want_spans)

    # adjudicate ------------------------------------------------------------------------------

    @precondition(lambda self: any(r.pulled for r in self.model.rounds))
    @rule(pick=st.integers(0, 3))
    def adjudicate(self, pick: int) -> None:
        pulled = [r for r in self.model.rounds if r.pulled]
        r = pulled[pick % len(pulled)]
        want_anns, _ = expected_rows(r.pulled[-1], self.texts)
        if not want_anns:
            with pytest.raises(RoundError):
                corpus.adjudicate(self.store, r.name)
            return
        result = corpus.adjudicate(self.store, r.name)
        assert result.version is not None
        votes = latest_votes(want_anns)
        gold = {g["doc_id"]: g for g in self.store.iter_rows(result.version, "gold_annotations")
                if g["round"] == r.name}  # fmt: skip
        for doc_id, g in gold.items():
            used = sorted(votes[k] for k in votes if k[0] == doc_id)
            assert sorted(g["annotation_ids"]) == used, (doc_id, g)
        if r.name not in self.model.gold_rounds:
            self.model.gold_rounds.append(r.name)


def canon(rows: list[dict[str, Any]], like: dict[str, Any] | None = None) -> list[str]:
    """Rows as sorted JSON strings over the model's columns."""
    cols = sorted(like) if like else None
    return sorted(
        json.dumps({k: row[k] for k in (cols or sorted(row))}, sort_keys=True, default=str)
        for row in rows
    )


DIFFERENTIAL_HISTORIES = 10

Histories.TestCase.settings = settings(
    settings.default, max_examples=DIFFERENTIAL_HISTORIES, stateful_step_count=8
)
test_histories = Histories.TestCase


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
            ("new", 0, 1, False, ("opposed", [(0, 2, "trade", "opposed", True)], True), 12.5),
            ("new", 0, 2, False, ("neutral", [(1, 1, "trade", "supportive", False)], False), None),
            ("new", 0, 3, True, (None, [], False), None),
            ("edit", 1, ("supportive", [(1, 1, "trade", "supportive", False)], False)),
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
    """The planted texts are what the model assumes (README "Near duplicates": a later
    document close to two groups merges them): near copies are near duplicates under the
    real MinHash/LSH; a trio's C is one of A and of B, which are not of each other; texts of
    different families share no band."""
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

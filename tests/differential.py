"""The machine of the differential histories (``tests/test_differential.py``): it drives the
real code through a random history and, after each step, compares what the real code stored
with the reference history model (``tests/reference/history.py``) and the per-rule reference
twins in ``tests/reference/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import write_article
from differential_inputs import (
    ACTION,
    DOC_SPECS,
    ISSUES,
    NAMES,
    USERS,
    make_result,
    planted_text,
)
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from ls_export import annotation, prediction, task
from reference import gold as gold_ref
from reference import neardup, sampling
from reference import spans as spans_ref
from reference import votes as votes_ref
from reference.history import Annotation, History, Planted, Round, expected_rows
from reference.mapping import map_row

import corpus
from corpus.errors import RoundError
from corpus.iaa.compute import agreement_votes
from corpus.label_schema import AnnotationSchema, load_schema, parse_schema
from corpus.labels.gold import effective_gold
from corpus.neardup.components import document_components
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds.convert import to_task
from corpus.rounds.migrate import migrate_schema
from corpus.rounds.population import plan_sample
from corpus.rounds.pull import pull_export
from corpus.rounds.pulled import AnnotatorKeys, pseudonym_key
from corpus.rounds.schemas import save_round_schema
from corpus.rounds.state import RoundSettings, RoundState, save_round
from corpus.store import Store

# A history writes hundreds of small files: in memory where there is a tmpfs.
FAST_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None

# --- the machine ------------------------------------------------------------------------------


class Histories(RuleBasedStateMachine):
    """One random history on a fresh store."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="corpus-diff-", dir=FAST_TMP))
        self.store = Store(self.tmp / "store")
        self.schema = load_schema()
        self.pre = KeywordPreAnnotator(self.schema)
        self.schemas = {1: self.schema}  # schema version -> schema
        self.pres = {1: self.pre}
        self.alphabet = {1: list(ISSUES)}  # version -> the two issue labels in play
        self.migrations: list[dict[str, Any]] = []  # applied, in the migration file's shape
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

    @precondition(lambda self: bool(self.open_trios()))
    @rule(pick=st.integers(0, 2))
    def ingest_bridge(self, pick: int) -> None:
        """A later batch bridges two groups: the trio member not yet ingested (A or B), then
        C, close to both (issue 18 case 1 when the first member was sent to annotators)."""
        family = self.open_trios()[pick % len(self.open_trios())]
        have = {p.part for p in self.model.docs.values() if p.family == family}
        self.ingest_batch([(family, part) for part in "ABC" if part not in have])

    def open_trios(self) -> list[str]:
        """Trios with A or B ingested and C not yet."""
        parts: dict[str, set[str]] = {}
        for planted in self.model.docs.values():
            if planted.family.startswith("trio"):
                parts.setdefault(planted.family, set()).add(planted.part)
        return sorted(f for f, ps in parts.items() if "C" not in ps)

    def stored_groups(self) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The latest version's ``dup_group`` of every document and its ``dup_merges`` rows."""
        latest = self.store.latest_name()
        assert latest is not None
        docs = self.store.documents(latest, columns=["dup_group"])
        merges = (
            [(r["dup_group"], r["into"]) for r in self.store.iter_rows(latest, "dup_merges")]
            if "dup_merges" in self.store.manifest(latest).tables
            else []
        )
        return {d: r["dup_group"] for d, r in docs.items()}, merges

    def check_components(self) -> None:
        """Planted near duplicates are found by the real ingest: the components its stored
        groups and merges give (reference.neardup, docs/concepts/near-duplicates.md "Near
        duplicates") are the model's."""
        model = self.model.components()
        assert neardup.components(*self.stored_groups()) == model
        latest = self.store.latest_name()
        assert latest is not None
        real = document_components(self.store, latest)  # the one definition sampling uses
        assert {d: frozenset(x for x in real if real[x] == c) for d, c in real.items()} == model

    # rounds ----------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model.rounds) < 4)
    @rule(sample=st.sampled_from([None, None, 1, 2]), seed=st.integers(0, 3),
          strategy=st.sampled_from(["random", "random", "disagreement"]))  # fmt: skip
    def start_round(self, sample: int | None, seed: int, strategy: str = "random") -> None:
        """The real sampling plan against reference.sampling over the model's components: a
        default round samples one document per component among the candidates
        (docs/concepts/rounds.md, Annotation rounds; issue 18 case 1: a later bridge must not let a
        round relabel near-duplicates of an earlier round's documents)."""
        name = f"r{len(self.model.rounds) + 1:02d}"
        version = self.store.latest_name()
        assert version is not None
        settings_ = RoundSettings(sample=sample, overlap=3, seed=seed, strategy=strategy)
        plan = plan_sample(self.store, name, version, settings_, self.pre)
        comp = self.model.components()
        chosen = set(plan.doc_ids)
        assert len(plan.doc_ids) == len(chosen)
        if strategy == "disagreement":
            allowed = self.disagreed()
            assert chosen <= allowed, chosen - allowed
            assert len({comp[d] for d in chosen}) == len(chosen), "two of one component"
            groups = {comp[d] for d in allowed}
            assert len(chosen) == (len(groups) if sample is None else min(sample, len(groups)))
        else:
            allowed = self.model.candidates(self.model.gold_docs)
            reps = sampling.representatives(allowed, comp)
            if sample is None:
                assert chosen == reps
            else:
                assert chosen <= reps and len(chosen) == min(sample, len(reps))
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
        made = Round(name, version, list(plan.doc_ids), tasks)
        made.schema_version = self.schema.schema_version
        self.model.rounds.append(made)

    def disagreed(self) -> set[str]:
        """docs/concepts/rounds.md (Annotation rounds, ``disagreement``): documents of earlier
        rounds whose annotators disagreed -- measured per round, never pooled: in the latest round
        where two or more voted on it (reference.votes), their stances are not all the same (a
        vote without a stance is another answer) or the issue labels of their spans are not
        all the same -- and documents whose effective gold across rounds (reference.gold)
        has no stance."""
        latest: dict[str, bool] = {}
        for r in self.model.rounds:  # oldest first: a later round overwrites
            if not r.pulled:
                continue
            anns, spans, _ = self.expected(r, self.schema.schema_version)
            rows = [{**a, "annotator": str(a["user"])} for a in anns]
            for doc_id, by in votes_ref.effective_votes(rows).items():
                if len(by) < 2:
                    continue
                labels = [
                    frozenset(x["issue"] for x in spans if x["annotation_id"] == v["annotation_id"])
                    for v in by.values()
                ]
                latest[doc_id] = len({v["stance"] for v in by.values()}) > 1 or len(set(labels)) > 1
        order = [r.name for r in self.model.rounds]
        gold = gold_ref.effective_gold([g for rs in self.model.gold.values() for g in rs], order)
        unresolved = {d for d, g in gold.items() if g["stance"] is None}
        return {d for d, yes in latest.items() if yes} | unresolved

    # annotations -----------------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.rounds))
    @rule(pick=st.integers(0, 3), actions=st.lists(ACTION, min_size=1, max_size=4),
          then=st.sampled_from([None, "pull", "adjudicate"]))  # fmt: skip
    def annotate(self, pick: int, actions: list[tuple[Any, ...]], then: str | None = None) -> None:
        """Annotators work on one round (``then``: the round is pulled, and adjudicated)."""
        r = self.model.rounds[pick % len(self.model.rounds)]
        for action in actions:
            now = self._clock()
            if action[0] == "new":
                _, doc_pick, user, skip, drawn, lead_time = action
                doc_id = r.doc_ids[doc_pick % len(r.doc_ids)]
                ann_id = self._next("annotation")
                issues = self.alphabet[r.schema_version]
                result = [] if skip else make_result(self.texts[doc_id], drawn, ann_id, issues)
                r.annotations.append(Annotation(
                    ann_id, r.tasks[doc_id], doc_id, user, result, skip, now, now,
                    lead_time,
                ))  # fmt: skip
            elif r.annotations:
                _, ann_pick, drawn = action
                ann = r.annotations[ann_pick % len(r.annotations)]
                if not ann.was_cancelled:  # the UI edits an annotation; a skip stays a skip
                    issues = self.alphabet[r.schema_version]
                    text = self.texts[ann.doc_id]
                    ann.result = make_result(text, drawn, ann.id * 100 + now, issues)
                    ann.updated_at = now
        if then is not None:
            self.pull(self.model.rounds.index(r))
        if then == "adjudicate":
            self.adjudicate(
                sum(1 for x in self.model.rounds[: self.model.rounds.index(r)] if x.pulled)
            )

    def export(self, r: Round) -> list[dict[str, Any]]:
        """The round's project as Label Studio exports it: every task (made by the real
        ``to_task`` at push), each annotation with the task's prediction embedded."""
        project = 100 + self.model.rounds.index(r)
        pre = self.pres[r.schema_version]
        out = []
        for inner, doc_id in enumerate(r.doc_ids, 1):
            tid = r.tasks[doc_id]
            text = self.texts[doc_id]
            pushed = to_task(
                {"text": text, "title": "", "doc_id": doc_id, "text_sha256": self.sha[doc_id]},
                version=r.version, round_name=r.name, suggestions=pre.predict(text),
                model_version=pre.model_version,
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
            preannotator=self.pres[r.schema_version],
        )  # fmt: skip
        r.pulled.append(export)
        r.pulled_under.append(self.schema.schema_version)
        self.check_pulled(r, result.rejects)

    def user_of(self, pseudonym: str) -> int:
        if not self.who:
            key = pseudonym_key(self.store)
            self.who = {self.keys.pseudonym(key, u): u for u in USERS}
        return self.who[pseudonym]

    def real_rows(self, r: Round) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        version = self.store.latest_name()  # every table is carried forward
        assert version is not None
        anns = [a for a in self.store.iter_rows(version, "annotations") if a["round"] == r.name]
        spans = [s for s in self.store.iter_rows(version, "spans") if s["round"] == r.name]
        for row in anns + spans:
            row["user"] = self.user_of(row["annotator"])
        return anns, spans

    def expected(
        self, r: Round, version: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
        """The model's rows of the round's last pulled export, in schema ``version``
        (reference.mapping: each row mapped once, from the schema the round was made under)."""
        anns, spans, rejects = expected_rows(r.pulled[-1], self.texts)
        mapped: dict[str, list[dict[str, Any]]] = {"annotations": [], "spans": []}
        for table, rows in (("annotations", anns), ("spans", spans)):
            for row in rows:
                out, _ = map_row(self.migrations, version, table, row, made_under=r.schema_version)
                if out is not None:
                    out.pop("schema_version", None)
                    mapped[table].append(out)
        return mapped["annotations"], mapped["spans"], rejects

    def check_pulled(self, r: Round, rejects: list[Any]) -> None:
        """The rows a pull stores are the model's rows of the export it read (also when an
        incremental pull reused the rows of unchanged tasks), and it rejects what the model
        rejects (docs/concepts/rounds.md, Annotation rounds: how results are grouped into spans)."""
        want_anns, want_spans, want_rejects = self.expected(r, self.schema.schema_version)
        got_anns, got_spans = self.real_rows(r)
        assert canon(got_anns, want_anns[0] if want_anns else {}) == canon(want_anns)
        assert canon(got_spans, want_spans[0] if want_spans else {}) == canon(want_spans)
        assert sorted(x.annotation_id for x in rejects) == sorted(want_rejects)
        self.check_votes(got_anns, want_anns)

    def check_votes(self, got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
        """The votes agreement (and adjudication) count on the stored rows are the
        reference's votes on the model's rows (reference.votes; issue 18 case 3)."""
        rows = [{**a, "annotator": str(a["user"])} for a in want]
        votes = {d: v for d, v in votes_ref.effective_votes(rows).items() if v}
        assert {
            d: {str(row["user"]): row["annotation_id"] for row in v.values()}
            for d, v in agreement_votes(got).by_doc.items()
            if v
        } == {d: {w: row["annotation_id"] for w, row in v.items()} for d, v in votes.items()}

    # schema migrations ---------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.rounds) and len(self.migrations) < 2)
    @rule(kind=st.sampled_from(["rename", "remove", "merge"]), which=st.integers(0, 1),
          name=st.sampled_from(NAMES))  # fmt: skip
    def migrate(self, kind: str, which: int, name: str) -> None:
        """A schema migration of one issue label in play (a rename may reuse a name an
        earlier migration removed: issue 18 case 7); then every pulled round's rows in the
        latest version are its export mapped once into the new schema (reference.mapping)."""
        old = self.schema.schema_version
        labels = self.alphabet[old]
        label = labels[which % len(labels)]
        others = [x for x in labels if x != label]
        used = {i.name for i in self.schema.issues}
        if kind == "rename" and name not in used:
            rule_: dict[str, Any] = {"rename": {"from": label, "to": name}}
            kept = [name if x == label else x for x in labels]
        elif kind == "remove" and others:
            rule_, kept = {"remove": label}, others
        elif kind == "merge" and others:
            rule_, kept = {"merge": {"from": [label, others[0]], "into": others[0]}}, others
        else:
            return
        plan = {"from": old, "to": old + 1, "issue": [rule_]}
        path = self.tmp / f"migration-{old}.yaml"
        path.write_text(yaml.safe_dump(plan), encoding="utf-8")
        new = next_schema(self.schema, rule_)
        migrate_schema(self.store, path, schema=new)
        self.migrations.append(plan)
        self.schema, self.pre = new, KeywordPreAnnotator(new)
        self.schemas[old + 1], self.pres[old + 1] = self.schema, self.pre
        self.alphabet[old + 1] = kept
        for r in self.model.rounds:
            if r.pulled:
                want_anns, want_spans, _ = self.expected(r, old + 1)
                got_anns, got_spans = self.real_rows(r)
                assert canon(got_anns, want_anns[0] if want_anns else {}) == canon(want_anns)
                assert canon(got_spans, want_spans[0] if want_spans else {}) == canon(want_spans)

    # adjudicate ------------------------------------------------------------------------------

    @precondition(lambda self: any(r.pulled for r in self.model.rounds))
    @rule(pick=st.integers(0, 3))
    def adjudicate(self, pick: int) -> None:
        """Majority gold of the round's latest pull against the references: the votes
        (reference.votes; agreement counts the same ones, issue 18 case 3), each document's
        stance and gold spans (reference.spans; case 2)."""
        pulled = [r for r in self.model.rounds if r.pulled]
        r = pulled[pick % len(pulled)]
        want_anns, want_spans, _ = self.expected(r, r.pulled_under[-1])
        if not want_anns:
            with pytest.raises(RoundError):
                corpus.adjudicate(self.store, r.name)
            return
        result = corpus.adjudicate(self.store, r.name)
        assert result.version is not None
        rows = [{**a, "annotator": str(a["user"])} for a in want_anns]
        votes = {d: v for d, v in votes_ref.effective_votes(rows).items() if v}
        gold = {
            g["doc_id"]: g
            for g in self.store.iter_rows(result.version, "gold_annotations")
            if g["round"] == r.name
        }
        assert set(gold) == set(votes)
        for doc_id, g in gold.items():
            # docs/concepts/gold.md: a gold row records the annotation ids it came from: the votes
            # for the gold stance; every vote with a stance when it is unresolved
            stances = {w: row["stance"] for w, row in votes[doc_id].items()}
            want = spans_ref.gold_stance(stances)
            came_from = [
                row["annotation_id"]
                for row in votes[doc_id].values()
                if row["stance"] is not None and (want is None or row["stance"] == want)
            ]
            assert g["stance"] == want, (doc_id, g)
            assert sorted(g["annotation_ids"]) == sorted(came_from), (doc_id, g)
        real_spans = sorted(
            (
                s["doc_id"],
                s["start"],
                s["end"],
                s["issue"],
                s["stance"],
                int(s["support"].split("/")[0]),
            )
            for s in self.store.iter_rows(result.version, "gold_spans")
            if s["round"] == r.name
        )
        want_gold_spans = []
        for doc_id, chosen in votes.items():
            ids = {row["annotation_id"]: w for w, row in chosen.items()}
            marks: dict[str, list[tuple[int, int, str, str | None]]] = {w: [] for w in chosen}
            for sp in want_spans:
                if sp["annotation_id"] in ids:
                    marks[ids[sp["annotation_id"]]].append(
                        (sp["start"], sp["end"], sp["issue"], sp["stance"])
                    )
            want_gold_spans += [(doc_id, *g) for g in spans_ref.gold_spans(marks)]
        assert real_spans == sorted(want_gold_spans)
        self.model.gold_docs |= set(gold)
        decided = {
            d: spans_ref.gold_stance({w: row["stance"] for w, row in v.items()})
            for d, v in votes.items()
        }
        self.model.gold[r.name] = [  # what precedence looks at: a stance or none, no review
            {"doc_id": d, "round": r.name, "stance": st_, "decided_by": "majority"}
            for d, st_ in decided.items()
        ]
        self.check_effective_gold(result.version)

    def check_effective_gold(self, version: str) -> None:
        """Across rounds, the gold that counts for each document is the reference's
        (reference.gold, docs/concepts/gold.md Adjudication "Across rounds"), rounds oldest
        first."""
        order = [r.name for r in self.model.rounds]
        rows = list(self.store.iter_rows(version, "gold_annotations"))
        spans = list(self.store.iter_rows(version, "gold_spans"))
        kept, kept_spans = effective_gold(rows, spans, order)
        want = gold_ref.effective_gold(rows, order)
        assert {g["doc_id"]: g["round"] for g in kept} == {d: g["round"] for d, g in want.items()}
        assert all(s["round"] == want[s["doc_id"]]["round"] for s in kept_spans)


def next_schema(schema: AnnotationSchema, rule_: dict[str, Any]) -> AnnotationSchema:
    """The schema one version on, with one issue rule applied to its issue list."""
    raw = schema.model_dump(mode="json")
    issues = raw["issues"]
    if "rename" in rule_:
        old, new = rule_["rename"]["from"], rule_["rename"]["to"]
        issues = [{**i, "name": new, "title": new} if i["name"] == old else i for i in issues]
    elif "remove" in rule_:
        issues = [i for i in issues if i["name"] != rule_["remove"]]
    else:
        source = rule_["merge"]["from"][0]
        issues = [i for i in issues if i["name"] != source]
    return parse_schema(yaml.safe_dump({**raw, "schema_version": raw["schema_version"] + 1,
                                        "issues": issues}))  # fmt: skip


def canon(rows: list[dict[str, Any]], like: dict[str, Any] | None = None) -> list[str]:
    """Rows as sorted JSON strings over the model's columns."""
    cols = sorted(like) if like else None
    return sorted(
        json.dumps({k: row[k] for k in (cols or sorted(row))}, sort_keys=True, default=str)
        for row in rows
    )

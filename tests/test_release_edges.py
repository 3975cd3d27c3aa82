"""Issue 18's release cases: an optional label family nobody used, ``--out`` inside a release,
``--creator``/``--url`` checked before they reach the card and ``croissant.json``, and
``publish`` without a network."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import build_gold_version
from test_release import build, rewrite
from typer.testing import CliRunner

from corpus.cli import app
from corpus.errors import ReleaseError, ReleaseGateError
from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio.config import label_config
from corpus.store import Store


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    root = tmp_path_factory.mktemp("edges")
    store = Store(root / "store")
    return store, build_gold_version(store, load_schema(), root / "articles", n=48)


def without_span_stance(
    store: Store, version: str, minor: int, keep: frozenset[str] = frozenset()
) -> str:
    """A copy of ``version`` whose spans (gold and annotators') carry no stance, except the
    gold spans of the documents in ``keep``."""

    def drop(row: dict[str, Any]) -> dict[str, Any]:
        return row if row["doc_id"] in keep else {**row, "stance": None}

    middle = rewrite(store, version, f"7.{minor}.1", "spans", drop)
    return rewrite(store, middle, f"7.{minor}.2", "gold_spans", drop)


def required(schema: AnnotationSchema) -> AnnotationSchema:
    spec = schema.span_stance.model_copy(update={"required": True})
    return schema.model_copy(update={"span_stance": spec})


def test_optional_span_stance_nobody_set_releases_and_the_card_says_so(
    gold: tuple[Store, str],
) -> None:
    """issue 18 case 13: a round where nobody set the optional span stance released only with
    --force ("no example of span stance supportive in any split"). docs/concepts/releases.md
    "Releases": an optional family nobody used is not gated, and the card says it was not
    annotated."""
    store, version = gold
    schema = load_schema()
    assert not schema.span_stance.required  # today's interface: optional
    bare = without_span_stance(store, version, 0)
    result = build(store, schema, bare, "1.0.0")  # unforced
    assert result.forced == []
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["split"]["not_annotated"] == ["span_stance"]
    card = (result.path / "README.md").read_text()
    assert "**Span stance was not annotated in this release**" in card
    croissant = (result.path / "croissant.json").read_text()
    assert "span stance is optional and was not annotated" in croissant
    from corpus.release import verify_release

    assert verify_release(result.path).release == "1.0.0"


def test_required_span_stance_nobody_set_is_refused(gold: tuple[Store, str]) -> None:
    """issue 18 case 13: when the schema requires span stance, a release without one is still
    refused by its label gate."""
    store, version = gold
    bare = without_span_stance(store, version, 1)
    with pytest.raises(ReleaseGateError, match="no example of span stance supportive in any"):
        build(store, required(load_schema()), bare, "1.1.0")


def test_an_optional_label_that_occurs_but_misses_a_split_still_stops_the_release(
    gold: tuple[Store, str],
) -> None:
    """issue 18 case 13: optional skips only a family nobody used; a span stance on two
    documents (fewer than the splits) stops the release."""
    store, version = gold
    spans = store.read_table(version, "gold_spans").to_pylist()
    two = sorted({s["doc_id"] for s in spans if s["stance"] is not None})[:2]
    partial = without_span_stance(store, version, 2, keep=frozenset(two))
    with pytest.raises(ReleaseGateError, match="labels: no example of span stance"):
        build(store, load_schema(), partial, "1.2.0")


def test_the_interface_requires_span_stance_when_the_schema_does() -> None:
    """issue 18 case 13: `span_stance: required: true` puts required="true" on the per-region
    Choices; the default keeps today's optional interface (and the schema's hash):
    docs/concepts/schema.md "The annotation schema"."""
    from lxml import etree

    schema = load_schema()

    def span_choices(xml: str) -> Any:
        return etree.fromstring(xml).find(".//Choices[@name='span_stance']")

    assert span_choices(label_config(schema)).get("required") is None
    assert span_choices(label_config(required(schema))).get("required") == "true"
    assert required(schema).hash() != schema.hash()
    assert "required" not in json.loads(schema.canonical_json())["span_stance"]


@pytest.fixture(scope="module")
def built(gold: tuple[Store, str]) -> Path:
    store, version = gold
    creators = ["Ada *Lovelace* & [Co](https://x.test)_1", "Bob"]
    url = "https://example.org/us_china?x=1"
    return build(store, load_schema(), version, "0.9.0", creators=creators, url=url).path


def test_out_inside_an_existing_release_is_refused_and_it_still_verifies(
    gold: tuple[Store, str], built: Path
) -> None:
    """issue 18, releases: `release build --out` inside an existing release exited 0 and broke
    that release's verification. docs/concepts/releases.md "Releases": --out inside any release, or
    inside the store's releases folder other than releases/X.Y.Z, is refused."""
    from corpus.release import verify_release

    store, version = gold
    runner = CliRunner()
    base = ["release", "build", version, "--store", str(store.root), "--force", "x"]
    for out, release, says in [
        (built / "nested", "3.0.0", "is inside the release"),
        (built / "documents" / "deeper", "3.0.0", "is inside the release"),
        (store.root / "releases" / "4.0.0", "3.0.0", "is not the folder of release 3.0.0"),
    ]:
        result = runner.invoke(app, [*base, "--release", release, "--out", str(out)])
        assert result.exit_code == 1, result.output
        assert says in " ".join(result.output.split())
        assert not out.exists()
    assert verify_release(built).release == "0.9.0"


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--url", "javascript:alert(1)", "not an http(s) address"),
        ("--url", "https://example.org/a b", "the character ' '"),
        ("--url", "https://example.org/\n<script>", "the character '\\n'"),
        ("--creator", "Eve\n# Injected heading", "it holds '\\n'"),
        ("--creator", "<img src=x onerror=alert(1)>", "it holds '<'"),
        ("--creator", "Eve\u202eevil", "it holds '\\u202e'"),
        ("--creator", "  ", "it is blank"),
    ],
)
def test_url_and_creator_are_checked_before_they_reach_the_card(
    gold: tuple[Store, str], option: str, value: str, says: str
) -> None:
    """issue 18, releases: --creator and --url reached the card and croissant.json verbatim
    (newlines, HTML, javascript:). docs/concepts/releases.md "Releases": a usage error, nothing is
    built."""
    store, version = gold
    args = ["release", "build", version, "--release", "5.0.0", "--store", str(store.root)]
    result = CliRunner().invoke(app, [*args, option, value])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert not (store.root / "releases" / "5.0.0").exists()
    kw: dict[str, Any] = {"url": value} if option == "--url" else {"creators": [value]}
    with pytest.raises(ReleaseError, match="is not a"):
        build(store, load_schema(), version, "5.0.0", **kw)


def test_creators_are_plain_text_in_the_card_and_verbatim_in_croissant(built: Path) -> None:
    """issue 18, releases: Markdown and HTML characters in a creator's name are escaped in
    the card (plain text), kept as given in croissant.json; the url is a link."""
    card = (built / "README.md").read_text()
    escaped = r"Ada \*Lovelace\* &amp; \[Co\]\(https://x.test\)\_1, Bob"
    assert f"Created by {escaped}." in card
    assert "Home: <https://example.org/us_china?x=1>" in card
    croissant = json.loads((built / "croissant.json").read_text())
    names = [c["name"] for c in croissant["creator"]]
    assert names == ["Ada *Lovelace* & [Co](https://x.test)_1", "Bob"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_publish_without_a_network_says_it_cannot_reach_the_hub(built: Path) -> None:
    """issue 18, releases: `publish` with no network was reported as a bug (InternalError).
    docs/concepts/releases.md "Releases": a clear error that the Hub cannot be reached, exit 1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_HUB_OFFLINE")}
    env |= {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "HF_TOKEN": "hf_test"}
    done = subprocess.run(
        [sys.executable, "-m", "corpus", "publish", str(built), "--to", "hf://datasets/o/n"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "cannot reach the Hub to publish o/n" in " ".join(output.split())
    assert "internal error" not in output and "Traceback" not in output
    assert "Check the network connection" in " ".join(output.split())


def test_the_card_template_is_compiled_once_per_text() -> None:
    """Issue 20: the compiled template is reused while DATASET_CARD.md's text is unchanged,
    and an edited text is compiled again (not served from the cache)."""
    from corpus.release.card import compiled_template, template_path

    text = template_path().read_text(encoding="utf-8")
    assert compiled_template(text) is compiled_template(text)
    edited = text + "\nedited\n"
    assert compiled_template(edited) is not compiled_template(text)


def test_raw_rows_sort_spans_per_annotation_as_span_dicts_does() -> None:
    """Issue 20: ``raw_rows`` sorts all spans once; each annotation's spans are still those
    of ``span_dicts`` (start, end, issue order; unknown labels -1), annotations in order."""
    from random import Random

    from corpus.release.tables import raw_rows, span_dicts

    schema = load_schema()
    rng = Random(3)
    issues = [*schema.issue_names, "unknown-issue"]
    stances = [*schema.span_stance_names, None, "unknown-stance"]
    annotations = [
        {"annotation_id": i, "doc_id": f"d{rng.randrange(4)}", "round": f"r{rng.randrange(2)}",
         "annotator": f"a{rng.randrange(3)}", "stance": rng.choice([*schema.stance_names, None]),
         "cancelled": rng.random() < 0.2}
        for i in rng.sample(range(100), 40)
    ]  # fmt: skip
    spans = [
        {"annotation_id": rng.randrange(100), "start": (st := rng.randrange(50)),
         "end": st + rng.randrange(1, 9), "issue": rng.choice(issues),
         "stance": rng.choice(stances)}
        for _ in range(300)
    ]  # fmt: skip
    got = raw_rows(annotations, spans, schema)
    ordered = sorted(annotations, key=lambda a: (a["doc_id"], a["round"], a["annotator"],
                                                  a["annotation_id"]))  # fmt: skip
    assert [r["doc_id"] for r in got] == [a["doc_id"] for a in ordered]
    for row, a in zip(got, ordered, strict=True):
        mine = [s for s in spans if s["annotation_id"] == a["annotation_id"]]
        assert row["spans"] == span_dicts(mine, schema)
        assert row["cancelled"] is bool(a["cancelled"])
        names = schema.stance_names
        assert row["stance"] == (names.index(a["stance"]) if a["stance"] in names else -1)

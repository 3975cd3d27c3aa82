"""Issue 18, ingest: inputs a hostile run found read wrongly, each a clear error or the right
result (docs/concepts/store.md "Ingest"). Real files, a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_article

import corpus
from corpus.errors import IngestError
from corpus.ingestion import ingest
from corpus.store import Store


def docs(store: Store, version: str = "0.1.0") -> list[dict[str, object]]:
    return store.read_table(version, "documents").to_pylist()


def test_an_unterminated_csv_quote_is_reported_where_it_opened(tmp_path: Path) -> None:
    """issue 18 (ingest): an unterminated CSV quote swallowed the following rows into one
    document. The row is a bad record naming the line where the quote opened, with a hint."""
    path = tmp_path / "a.csv"
    path.write_text(
        'title,text\nFirst,first body\nSecond,"unterminated body\nThird,third body\n'
        "Fourth,fourth body\n"
    )
    with pytest.raises(IngestError) as info:
        ingest([path], store=tmp_path / "s")
    (problem,) = info.value.problems
    assert problem.record == 2
    assert "quote opened on line 3 is never closed" in problem.reason
    assert "lines 4-5" in problem.reason
    assert "Close the quote on line 3" in problem.hint
    result = ingest([path], store=tmp_path / "s", skip_bad=True)
    assert result.documents_added == 1


def test_a_csv_quote_closed_inside_a_later_row_is_reported(tmp_path: Path) -> None:
    """issue 18 (ingest): a quote left open and closed by a later row's quote; a well-formed
    quoted field over several lines is still one record."""
    path = tmp_path / "a.csv"
    path.write_text(
        'title,text\nFirst,"unterminated body\nSecond,"second body"\n'
        'Third,"a body over\ntwo lines"\n'
    )
    result = ingest([path], store=tmp_path / "s", skip_bad=True)
    (problem,) = result.problems
    assert problem.record == 1 and "closed only inside a later field, on line 3" in (problem.reason)
    assert [d["text"] for d in docs(Store(tmp_path / "s"))] == ["a body over\ntwo lines"]


def test_a_deeply_nested_jsonl_line_is_one_bad_record(tmp_path: Path) -> None:
    """issue 18 (ingest): one deeply nested JSONL line aborted the whole ingest with a
    RecursionError; it is a bad record like others, and --skip-bad skips it."""
    path = tmp_path / "a.jsonl"
    deep = '{"title": "Deep", "text": "x", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
    good = json.dumps({"title": "Fine", "text": "A fine body."})
    path.write_text(f"{good}\n{deep}\n")
    with pytest.raises(IngestError) as info:
        ingest([path], store=tmp_path / "s")
    (problem,) = info.value.problems
    assert problem.record == 2 and "nested too deeply" in problem.reason
    result = ingest([path], store=tmp_path / "s", skip_bad=True)
    assert result.documents_added == 1 and len(result.problems) == 1


def test_folder_links_are_followed_once_and_loops_are_listed(tmp_path: Path) -> None:
    """issue 18 (ingest): a folder symlink inside an input folder was silently not read.
    Links to folders are followed; a link back to a folder already read (a loop) is not
    followed and is listed as not read (docs/concepts/store.md "Ingest")."""
    write_article(tmp_path / "elsewhere", "linked.txt", "Linked story", "Its body.")
    inputs = tmp_path / "in"
    write_article(inputs, "own.txt", "Own story", "Its own body.")
    (inputs / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (inputs / "loop").symlink_to(inputs, target_is_directory=True)
    result = ingest([inputs], store=tmp_path / "s")
    assert sorted(d["title"] for d in docs(Store(tmp_path / "s"))) == [
        "Linked story",
        "Own story",
    ]
    assert [(p.path.endswith("loop"), "loop" in p.reason) for p in result.ignored] == [(True, True)]


def test_unsupported_files_in_a_folder_are_listed(tmp_path: Path) -> None:
    """issue 18 (ingest): unsupported files in a folder were silently ignored; they are
    listed in the result, the CLI's output and the manifest (docs/concepts/store.md "Ingest")."""
    from typer.testing import CliRunner

    from corpus.cli import app

    write_article(tmp_path / "in", "a.txt", "A story", "Its body.")
    (tmp_path / "in" / "scan.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "in" / "notes.docx").write_bytes(b"PK")
    (tmp_path / "in" / ".hidden.pdf").write_bytes(b"x")  # hidden: skipped silently
    store = tmp_path / "s"
    result = ingest([tmp_path / "in"], store=store)
    listed = sorted(Path(p.path).name for p in result.ignored)
    assert listed == ["notes.docx", "scan.pdf"]
    assert all("unsupported file type" in p.reason for p in result.ignored)
    extra = Store(store).manifest("0.1.0").extra
    assert sorted(Path(str(p["path"])).name for p in extra["ignored"]) == listed  # type: ignore[union-attr]
    shown = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "in"), "--store", str(tmp_path / "t")]
    )
    assert shown.exit_code == 0 and "not read" in shown.output and "scan.pdf" in shown.output
    as_json = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "in"), "--store", str(tmp_path / "u"), "--json"]
    )
    assert len(json.loads(as_json.stdout)["ignored"]) == 2


def test_markdown_front_matter_gives_the_title_and_fields(tmp_path: Path) -> None:
    """issue 18 (ingest): Markdown front matter became the title `---`. Its title and known
    fields are used and the body starts after it (docs/concepts/store.md "Ingest")."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "post.md").write_text(
        "---\ntitle: Tariffs rise again\ndate: 2024-03-01\nlang: de\n"
        "url: https://example.org/p\nauthor: someone\n---\n\nFirst paragraph.\n\nSecond one.\n"
    )
    (folder / "plain.md").write_text("# A heading title\n\nBody of the plain file.\n")
    (folder / "bad.md").write_text("---\ntitle: [unclosed\n---\n\nBody.\n")
    result = ingest([folder], store=tmp_path / "s", skip_bad=True)
    by_title = {d["title"]: d for d in docs(Store(tmp_path / "s"))}
    post = by_title["Tariffs rise again"]
    assert post["text"] == "First paragraph.\n\nSecond one."
    assert post["language"] == "de" and post["url"] == "https://example.org/p"
    assert str(post["published_at"]).startswith("2024-03-01")
    assert "A heading title" in by_title and "---" not in by_title
    (problem,) = result.problems
    assert problem.path.endswith("bad.md") and "not valid YAML" in problem.reason


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_with_a_byte_order_mark_are_read(tmp_path: Path, codec: str) -> None:
    """issue 18 (ingest): a UTF-16 file was called "binary". A UTF-16/32 byte order mark
    selects that encoding, for text, JSONL and CSV files (docs/concepts/store.md "Ingest")."""
    bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-32": b""}[codec]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_bytes(bom + "Überschrift\n\nDer Text.\n".encode(codec))
    record = json.dumps({"title": "Record", "text": "JSON body ü"}, ensure_ascii=False)
    (folder / "b.jsonl").write_bytes(bom + f"{record}\n".encode(codec))
    (folder / "c.csv").write_bytes(bom + "title,text\nRow,CSV body ü\n".encode(codec))
    ingest([folder], store=tmp_path / "s")
    titles = {d["title"]: d["text"] for d in docs(Store(tmp_path / "s"))}
    assert titles == {"Überschrift": "Der Text.", "Record": "JSON body ü", "Row": "CSV body ü"}


def test_utf16_without_a_byte_order_mark_says_so(tmp_path: Path) -> None:
    """issue 18 (ingest): UTF-16 without a BOM is named, with the fix."""
    path = tmp_path / "a.txt"
    path.write_bytes("Title\n\nBody text.\n".encode("utf-16-le"))
    with pytest.raises(IngestError) as info:
        ingest([path], store=tmp_path / "s")
    (problem,) = info.value.problems
    assert "UTF-16" in problem.reason and "--encoding utf-16-le" in problem.hint
    ingest([path], store=tmp_path / "s", encoding="utf-16-le")


def test_one_path_given_as_a_string_is_one_input(tmp_path: Path) -> None:
    """issue 18 (ingest): `corpus.ingest("some/path")` walked the filesystem from `/` (one
    input per character); a str or Path is one input (docs/concepts/store.md "Ingest")."""
    write_article(tmp_path / "in", "a.txt", "A story", "Its body.")
    result = corpus.ingest(str(tmp_path / "in"), store=tmp_path / "s")
    assert result.documents_added == 1 and result.files == 1
    result = corpus.ingest(tmp_path / "in", store=tmp_path / "t")
    assert result.documents_added == 1
    missing = str(tmp_path / "missing")
    with pytest.raises(IngestError) as info:
        corpus.ingest(missing, store=tmp_path / "u")
    assert [p.path for p in info.value.problems] == [missing]


def test_a_quote_left_open_on_the_last_line_is_reported(tmp_path: Path) -> None:
    """issue 18 (ingest): a quote opened on the last line and never closed; a stray quote
    inside a one-line row is read as before."""
    path = tmp_path / "a.csv"
    path.write_text('title,text\nFirst,"x"y body\nLast,"never closed')
    result = ingest([path], store=tmp_path / "s", skip_bad=True)
    (problem,) = result.problems
    assert problem.record == 2 and "line 3 is never closed (the file ends inside it)" in (
        problem.reason
    )
    assert [d["text"] for d in docs(Store(tmp_path / "s"))] == ["xy body"]

"""Issue 20: ingest walks its input folders without listing every file, and finds the same
files in the same order as before (``tests/reference/inputs.py``, the old listing), the same
bad inputs and the same files left unread, on random folder trees with links (to files, to
folders, loops, broken ones), hidden names, unsupported types, FIFOs and overlapping inputs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st
from reference import inputs as reference

from corpus.ingestion.inputs import InputFiles, find_inputs

FOLDERS = ["a", "a/b", "a/b/c", "d", "d/e", ".h", "a/.g"]
NAMES = ["x.txt", "y.md", "Z.TXT", "w.jsonl", "q.csv", "v.bin", "u", ".k.txt", "n.markdown"]
KINDS = ["file", "file", "file", "link", "link", "broken", "self", "fifo"]
GIVEN = ["", "a", "a/b", "d", "a/x.txt", "a/v.bin", "missing", ".h", "a/b/../b", "d/e"]

entries = st.lists(
    st.tuples(
        st.sampled_from(["", *FOLDERS]),
        st.sampled_from([*NAMES, "f", "g"]),  # f, g: names for links to folders
        st.sampled_from(KINDS),
        st.integers(0, 40),
        st.booleans(),  # a relative link
    ),
    max_size=25,
)


def build(root: Path, folders: list[str], items: list[tuple[str, str, str, int, bool]]) -> None:
    made: list[Path] = [root]
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
        made.append(root / folder)
    for folder, name, kind, pick, relative in items:
        place = root / folder
        place.mkdir(parents=True, exist_ok=True)
        path = place / name
        if os.path.lexists(path):
            continue
        if kind == "file":
            path.write_text("Title\n\nBody.\n")
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "broken":
            path.symlink_to(place / "nothing-here")
        elif kind == "self":  # a link to itself: following it fails (ELOOP)
            path.symlink_to(name)
        else:
            target = made[pick % len(made)]
            path.symlink_to(os.path.relpath(target, place) if relative else target)
        made.append(path)


def check(root: Path, given: list[str]) -> None:
    paths = [root / g if g else root for g in given]
    old = reference.find_inputs(paths)
    walk = InputFiles(paths)
    assert [str(p) for p in walk] == [str(p) for p in old.files]
    assert (walk.problems, walk.ignored) == (old.problems, old.ignored)
    assert walk.count >= len(old.files)
    if not walk.revisits:  # no link met, no overlapping inputs: nothing to drop
        assert walk.count == len(old.files)
    listed = find_inputs(paths)
    assert [str(p) for p in listed.files] == [str(p) for p in old.files]
    assert (listed.problems, listed.ignored) == (old.problems, old.ignored)


@given(
    st.lists(st.sampled_from(FOLDERS), max_size=5),
    entries,
    st.lists(st.sampled_from(GIVEN), min_size=1, max_size=3),
)
@example(["a/b"], [("a/b", "f", "link", 1, True)], ["a"])  # a link back to a parent: a loop
@example(["d"], [("a", "x.txt", "file", 0, False), ("d", "y.md", "link", 2, False)], ["a", "d"])
@example([], [("a", "x.txt", "file", 0, False)], ["a", "a/x.txt", ""])  # inputs overlap
def test_the_streaming_walk_finds_what_the_old_listing_found(
    folders: list[str], items: list[tuple[str, str, str, int, bool]], given: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "in"
        root.mkdir()
        build(root, folders, items)
        check(root, given)


def test_a_plain_tree_is_walked_without_keeping_real_paths(tmp_path: Path) -> None:
    """One input folder without links: no file can be reached twice, so the walk keeps no
    real path per file (what makes a million files cheap); a link or a second input that
    overlaps the first turns the bookkeeping on."""
    for i in range(30):
        (tmp_path / "in" / f"part-{i % 3}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / f"part-{i % 3}" / f"a-{i:02d}.txt").write_text("T\n\nBody.\n")
    walk = InputFiles([tmp_path / "in"])
    assert not walk.revisits and len(walk) == 30 and len(list(walk)) == 30
    assert InputFiles([tmp_path / "in", tmp_path / "in" / "part-1"]).revisits
    assert not InputFiles([tmp_path / "in" / "part-1", tmp_path / "in" / "part-2"]).revisits
    (tmp_path / "in" / "part-0" / "again.txt").symlink_to(tmp_path / "in" / "part-1" / "a-01.txt")
    linked = InputFiles([tmp_path / "in"])
    assert linked.revisits and len(linked) == 31 and len(list(linked)) == 30

"""Issue 20: tables, ids and release contents are identical before and after the speed work.

The fixed corpus of :mod:`golden` (150 generated articles with a near-duplicate trio, labelled
by three simulated annotators and adjudicated, its release 1.0.0, and a JSONL/CSV/Markdown
folder) is built with today's code and every table's digest compared with the digests main
produced before issue 20 (``tests/data/golden-digests.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden import GOLDEN, build_fixed

# Tables added on purpose since the digests were taken, by table name: where the digests
# hold none for them they are left out (nothing to compare with); every table the digests
# hold is still compared.
ADDED = {
    "inputs": "issue 20: the files an ingest read, once listed in manifest.json",
}


@pytest.mark.slow
def test_a_fixed_corpus_gives_the_same_tables_ids_and_release_as_before(tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = build_fixed(tmp_path)
    for part in ("newsroom", "mixed", "release"):
        new = {n for n in found[part] if n.rpartition("/")[2] in ADDED and n not in expected[part]}
        assert sorted(set(found[part]) - new) == sorted(expected[part]), part
        changed = [name for name in expected[part] if found[part][name] != expected[part][name]]
        assert not changed, f"{part}: these tables changed: {changed}"

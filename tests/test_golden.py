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


@pytest.mark.slow
def test_a_fixed_corpus_gives_the_same_tables_ids_and_release_as_before(tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = build_fixed(tmp_path)
    for part in ("newsroom", "mixed", "release"):
        assert sorted(found[part]) == sorted(expected[part]), part
        changed = [name for name in expected[part] if found[part][name] != expected[part][name]]
        assert not changed, f"{part}: these tables changed: {changed}"

"""Digests of what a fixed corpus turns into: every stored table and every released table.

Issue 20 makes ingest and release faster; tables, ids and release contents must stay
identical. :func:`build_fixed` ingests a fixed set of inputs (generated articles, the
near-duplicate trio, a JSONL file with dates and URLs, a CSV and a Markdown file), labels and
adjudicates them without Label Studio and builds release 1.0.0; :func:`digests` hashes every
table's rows, written here independently of the code under test (canonical JSON of each row,
in stored order), leaving out only values that name the moment of a run.

``tests/data/golden-digests.json`` holds the digests main produced before the issue-20 work.
Regenerate it (``python tests/golden.py --write``) only for a deliberate change of what is
stored, and say so in the commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
GOLDEN = HERE / "data" / "golden-digests.json"

# Columns whose values are the time of the run (or derived from it): not content.
VOLATILE = {"created", "ingested_at", "adjudicated_at", "pulled_at", "built_at", "created_at"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


def table_digest(table: pa.Table) -> str:
    """sha256 over the schema's field names and types and each row as canonical JSON."""
    h = hashlib.sha256()
    fields = [(f.name, str(f.type)) for f in table.schema if f.name not in VOLATILE]
    h.update(json.dumps(fields).encode())
    for batch in table.to_batches(max_chunksize=4096):
        for row in batch.to_pylist():
            h.update(json.dumps(_plain(row), sort_keys=True, ensure_ascii=False).encode())
            h.update(b"\n")
    return h.hexdigest()


def store_digests(root: Path) -> dict[str, str]:
    from corpus.store import Store

    store = Store(root)
    out: dict[str, str] = {}
    for version in store.version_names():
        for table in store.version(version).tables:
            out[f"{version}/{table}"] = table_digest(store.read_table(version, table))
    return out


def release_digests(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for file in sorted(path.rglob("*.parquet")):
        out[file.relative_to(path).as_posix()] = table_digest(pq.read_table(file))
    return out


def build_fixed(root: Path) -> dict[str, dict[str, str]]:
    """Ingest, label, adjudicate and release the fixed corpus under ``root``; its digests.

    Inputs are named by paths relative to ``root`` (the working folder meanwhile), so the
    stored source paths do not name the temporary folder."""
    with contextlib.chdir(root):
        return _build(Path())


def _build(root: Path) -> dict[str, dict[str, str]]:
    sys.path.insert(0, str(HERE))
    from conftest import build_newsroom_version

    from corpus.ingestion import ingest
    from corpus.label_schema import load_schema
    from corpus.release import ReleaseResult, build_release
    from corpus.store import Store

    schema = load_schema()
    store = Store(root / "newsroom")
    gold = build_newsroom_version(store, schema, root / "articles")
    built = build_release(store, gold, release="1.0.0", schema=schema)
    assert isinstance(built, ReleaseResult)

    mixed = root / "mixed"
    mixed.mkdir()
    records = [
        {"title": f"Record {i}", "text": f"Port talks resumed on day {i}. Tariffs eased.\n\n"
         f"Soybean exports rose {i} percent. Officials met in Beijing.",
         "url": f"https://example.org/news/{i}", "published_at": f"2024-03-{i + 1:02d}T08:00:00Z",
         "source": "example.org"}
        for i in range(12)
    ]  # fmt: skip
    (mixed / "wire.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
    )
    (mixed / "desk.csv").write_text(
        'title,text\nChip curbs,"Chip export curbs widened. Firms objected.\n\nTalks stalled."\n'
        'Yuan moves,"The yuan fell. Traders cited tariffs."\n',
        encoding="utf-8",
    )
    (mixed / "note.md").write_text(
        "# Trade truce holds\n\nBoth sides *kept* the truce. Markets rose.\n\n"
        "- Tariffs paused\n- Talks continue\n",
        encoding="utf-8",
    )
    ingest([mixed], store=Store(root / "mixed-store"), schema=schema)
    return {
        "newsroom": store_digests(root / "newsroom"),
        "release": release_digests(built.path),
        "mixed": store_digests(root / "mixed-store"),
    }


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        found = build_fixed(Path(tmp))
    if "--write" in sys.argv:
        GOLDEN.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    else:
        print(json.dumps(found, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()

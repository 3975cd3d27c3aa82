"""The release's README.md (rendered from DATASET_CARD.md) and CHANGELOG.md."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from corpus.errors import CorpusError, ReleaseError
from corpus.label_schema import AnnotationSchema
from corpus.release.splits import SPLITS
from corpus.release.tables import CONFIGS
from corpus.store import Store

TEMPLATE_NAME = "DATASET_CARD.md"


def template_path() -> Path:
    """The repository's DATASET_CARD.md, or the copy packed into the wheel."""
    checkout = Path(__file__).resolve().parents[2] / TEMPLATE_NAME
    return checkout if checkout.is_file() else Path(__file__).resolve().parent / TEMPLATE_NAME


def front_matter(
    meta: dict[str, Any],
    sizes: dict[str, dict[str, tuple[int, int]]],
    feats: dict[str, Any],
    *,
    pretty_name: str,
    license: str,
) -> str:
    """The card's YAML: configs with explicit data_files, features and split sizes."""
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    n_docs = sum(n for n, _ in sizes["documents"].values())
    size = "n<1K" if n_docs < 1000 else "1K<n<10K" if n_docs < 10_000 else "10K<n<100K"
    card = DatasetCardData(
        pretty_name=pretty_name,
        license=license,
        language=["en"],
        multilinguality=["monolingual"],
        size_categories=[size],
        source_datasets=["original"],
        annotations_creators=["machine-generated" if meta["simulated"] else "expert-generated"],
        language_creators=["found"],
        task_categories=["text-classification", "token-classification"],
        task_ids=["multi-class-classification", "named-entity-recognition"],
        tags=["stance-detection", "span-annotation", "news", "label-studio"],
    )
    MetadataConfigs(
        {
            config: {
                "data_files": [{"split": s, "path": f"{config}/{s}-*.parquet"} for s in SPLITS],
                **({"default": True} if config == "documents" else {}),
            }
            for config in CONFIGS
        }
    ).to_dataset_card_data(card)
    infos = {}
    for config in CONFIGS:
        splits = SplitDict()
        for s in SPLITS:
            rows, n_bytes = sizes[config][s]
            splits.add(SplitInfo(name=s, num_bytes=n_bytes, num_examples=rows))
        infos[config] = DatasetInfo(features=feats[config], splits=splits, config_name=config)
    DatasetInfosDict(infos).to_dataset_card_data(card)
    return str(card.to_yaml())


def _agreement(
    store: Store, schema: AnnotationSchema, rounds: list[str], out: Path
) -> list[dict[str, Any]]:
    """Agreement summaries and plots of each round (copied into ``images/``)."""
    from corpus.iaa import agreement, fmt, write_report

    found = []
    for name in rounds:
        try:
            report = agreement(store, name, schema=schema, bootstrap=500)
        except CorpusError:
            continue
        folder = out / "images" / f"agreement-{name}"
        files = write_report(report, folder)
        found.append(
            {
                "round": name,
                "annotators": len(report.annotators),
                "documents": report.documents,
                "multi": report.multi_annotated,
                "alpha": fmt(report.stance_alpha),
                "fleiss": fmt(report.stance_fleiss),
                "spans": [(x.label, fmt(x.overlap_f1), fmt(x.alpha)) for x in report.span_labels],
                "span_stance": fmt(report.span_stance_kappa),
                "plots": [f.relative_to(out).as_posix() for f in files if f.suffix == ".png"],
            }
        )
    return found


def render_card(
    store: Store,
    schema: AnnotationSchema,
    meta: dict[str, Any],
    sizes: dict[str, dict[str, tuple[int, int]]],
    feats: dict[str, Any],
    *,
    pretty_name: str,
    license: str,
    out: Path,
) -> str:
    """README.md of the release, from the DATASET_CARD.md template (Jinja2)."""
    import jinja2

    path = template_path()
    try:
        template = jinja2.Template(
            path.read_text(encoding="utf-8"), undefined=jinja2.StrictUndefined
        )
    except (OSError, jinja2.TemplateError) as exc:
        raise ReleaseError(f"cannot read the card template {path}: {exc}") from None
    docs = feats["documents"]
    distribution = {}
    for s in SPLITS:
        stance_counts: Counter[str] = Counter()
        issue_counts: Counter[str] = Counter()
        for row in _documents(out, s):
            stance_counts[
                docs["stance"].int2str(row["stance"]) if row["stance"] >= 0 else "(unresolved)"
            ] += 1
            for span in row["spans"]:
                issue_counts[schema.issue_names[span["label"]]] += 1
        distribution[s] = {"stance": stance_counts, "issues": issue_counts}
    rounds = []
    for name in meta["rounds"]:
        try:
            from corpus.rounds import load_round

            state = load_round(store.root, name)
            rounds.append(
                {
                    "name": name,
                    "documents": len(state.doc_ids),
                    "overlap": state.settings.overlap,
                    "version": state.version,
                }
            )
        except CorpusError:
            rounds.append({"name": name, "documents": None, "overlap": None, "version": None})
    context = {
        "front_matter": front_matter(
            meta, sizes, feats, pretty_name=pretty_name, license=license
        ).strip(),
        "pretty_name": pretty_name,
        "meta": meta,
        "schema": schema,
        "sizes": sizes,
        "splits": SPLITS,
        "configs": CONFIGS,
        "distribution": distribution,
        "rounds": rounds,
        "agreement": _agreement(store, schema, meta["rounds"], out),
        "license": license,
    }
    try:
        return str(template.render(**context))
    except jinja2.TemplateError as exc:
        raise ReleaseError(f"the card template {path} does not render: {exc}") from None


def _documents(out: Path, split: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = pq.read_table(
        out / "documents" / f"{split}-00000-of-00001.parquet", columns=["stance", "spans"]
    ).to_pylist()
    return rows


def _listed(ids: list[str], limit: int = 20) -> str:
    if not ids:
        return ""
    more = " …" if len(ids) > limit else ""
    return f" ({', '.join(ids[:limit])}{more})"


def render_changelog(meta: dict[str, Any], prev: dict[str, Any] | None) -> str:
    """What changed since the previous release: documents, labels, split moves."""
    current: dict[str, str] = meta["split"]["documents"]
    labels: dict[str, list[Any]] = meta["labels"]
    lines = ["# Changelog", "", f"## {meta['release']} ({meta['created'][:10]})", ""]
    lines.append(
        f"Built from dataset version {meta['version']} (schema {meta['schema_hash'][:12]})."
    )
    if prev is None:
        counts = Counter(current.values())
        per_split = ", ".join(f"{s} {counts[s]}" for s in SPLITS)
        lines += ["", f"First release: {len(current)} documents ({per_split})."]
        return "\n".join(lines) + "\n"
    before: dict[str, str] = prev["split"]["documents"]
    old_labels: dict[str, list[Any]] = prev.get("labels", {})
    added = sorted(set(current) - set(before))
    removed = sorted(set(before) - set(current))
    moved = sorted(d for d in current if d in before and before[d] != current[d])
    changed = sorted(d for d in current if d in old_labels and old_labels[d] != labels[d])
    lines += [
        "",
        f"Previous release: {prev['release']} (version {prev['version']}).",
        "",
        f"- documents added: {len(added)}{_listed(added)}",
        f"- documents removed: {len(removed)}{_listed(removed)}",
        f"- documents that moved split: {len(moved)}{_listed(moved) or ' (none, as intended)'}",
        f"- documents whose gold labels changed: {len(changed)}{_listed(changed)}",
    ]
    return "\n".join(lines) + "\n"

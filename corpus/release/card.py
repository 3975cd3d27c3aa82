"""The release's README.md (rendered from DATASET_CARD.md) and CHANGELOG.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import ReleaseError
from corpus.label_schema import AnnotationSchema
from corpus.release.splits import SPLITS

if TYPE_CHECKING:
    import jinja2

TEMPLATE_NAME = "DATASET_CARD.md"


def template_path() -> Path:
    """The repository's DATASET_CARD.md, or the copy packed into the wheel."""
    checkout = Path(__file__).resolve().parents[2] / TEMPLATE_NAME
    return checkout if checkout.is_file() else Path(__file__).resolve().parent / TEMPLATE_NAME


@lru_cache(maxsize=4)
def compiled_template(text: str) -> jinja2.Template:
    """The card template compiled once per text (compiling is most of rendering's cost);
    keyed on the text, so an edited DATASET_CARD.md is compiled again."""
    import jinja2

    from corpus.release.facts import markdown_text

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["md"] = markdown_text  # a value the user gave, as literal text
    return env.from_string(text)


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
            for config in feats
        }
    ).to_dataset_card_data(card)
    infos = {}
    for config in feats:
        splits = SplitDict()
        for s in SPLITS:
            rows, n_bytes = sizes[config][s]
            splits.add(SplitInfo(name=s, num_bytes=n_bytes, num_examples=rows))
        infos[config] = DatasetInfo(features=feats[config], splits=splits, config_name=config)
    DatasetInfosDict(infos).to_dataset_card_data(card)
    return str(card.to_yaml())


def label_distribution(
    rows: Mapping[str, Sequence[Mapping[str, Any]]], schema: AnnotationSchema
) -> dict[str, dict[str, Counter[str]]]:
    """split -> {"stance": counts, "issues": counts} over the ``documents`` rows."""
    out = {}
    for s in SPLITS:
        stance_counts: Counter[str] = Counter()
        issue_counts: Counter[str] = Counter()
        for row in rows.get(s, []):
            stance = row["stance"]
            stance_counts[schema.stance_names[stance] if stance >= 0 else "(unresolved)"] += 1
            for span in row["spans"]:
                issue_counts[schema.issue_names[span["label"]]] += 1
        out[s] = {"stance": stance_counts, "issues": issue_counts}
    return out


def render_card(
    schema: AnnotationSchema,
    meta: dict[str, Any],
    sizes: dict[str, dict[str, tuple[int, int]]],
    feats: dict[str, Any],
    *,
    distribution: dict[str, dict[str, Counter[str]]],
    facts: dict[str, Any],
) -> str:
    """README.md of the release, from the DATASET_CARD.md template (Jinja2)."""
    import jinja2

    path = template_path()
    try:
        template = compiled_template(path.read_text(encoding="utf-8"))
    except (OSError, jinja2.TemplateError) as exc:
        raise ReleaseError(
            f"cannot read the card template {path}: {exc}",
            hint="Restore DATASET_CARD.md from the repository (git checkout DATASET_CARD.md), "
            "or fix the Jinja syntax at the place named.",
        ) from None
    info = meta["metadata"]
    context = {
        "front_matter": front_matter(
            meta, sizes, feats, pretty_name=info["name"], license=info["license"]
        ).strip(),
        "pretty_name": info["name"],
        "meta": meta,
        "schema": schema,
        "sizes": sizes,
        "splits": SPLITS,
        "configs": list(feats),
        "columns": {c: list(f) for c, f in feats.items()},
        "distribution": distribution,
        "rounds": facts["rounds"],
        "agreement": facts["agreement"],
        "license": info["license"],
    }
    try:
        return str(template.render(**context))
    except jinja2.TemplateError as exc:
        raise ReleaseError(
            f"the card template {path} does not render: {exc}",
            hint="Fix DATASET_CARD.md where it uses the name above, or restore it from the "
            "repository (git checkout DATASET_CARD.md).",
        ) from None


def replace_front_matter(card: str, yaml: str) -> str:
    """The card with its YAML front matter replaced (a rehydrated release's sizes)."""
    if not card.startswith("---\n") or "\n---\n" not in card[4:]:
        raise ReleaseError("the card has no YAML front matter", hint="Rebuild the release.")
    body = card[4:].split("\n---\n", 1)[1]
    return f"---\n{yaml.strip()}\n---\n{body}"


def _listed(ids: list[str], limit: int = 20) -> str:
    if not ids:
        return ""
    more = " …" if len(ids) > limit else ""
    return f" ({', '.join(ids[:limit])}{more})"


def render_changelog(meta: dict[str, Any], prev: dict[str, Any] | None) -> str:
    """What this release is and what changed since the previous one: documents, labels,
    split moves, label coverage of the splits."""
    current: dict[str, str] = meta["split"]["documents"]
    labels: dict[str, list[Any]] = meta["labels"]
    split = meta["split"]
    lines = ["# Changelog", "", f"## {meta['release']} ({meta['created'][:10]})", ""]
    lines.append(
        f"Built from dataset version {meta['version']} (schema {meta['schema_hash'][:12]})."
    )
    text = meta["text"]
    if text["mode"] == "none":
        titles = "titles kept" if text["titles"] else "titles left out"
        lines.append(f"Offsets only: no article text ({titles}); `corpus release rehydrate` "
                     "restores it from your own copies.")  # fmt: skip
    lines.append(
        f"Splits: {split['units']} units (near-duplicate components; {split['links']} "
        f"near-duplicate link(s) joined ingest groups), stratified on {split['labels']} labels."
    )
    gaps = split["uncovered"] + [f"{x} (only {n} group(s))" for x, n in split["scarce"].items()]
    lines.append(f"Labels missing from a split: {', '.join(gaps)}." if gaps else
                 "Every label is in every split.")  # fmt: skip
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
        *(f"  - {c}" for c in split["conflicts"]),
        f"- documents whose gold labels changed: {len(changed)}{_listed(changed)}",
    ]
    return "\n".join(lines) + "\n"

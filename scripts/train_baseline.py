"""Train a small document-stance classifier on a release, to show its splits are usable.

Loads the ``documents`` config with ``datasets.load_dataset(RELEASE_DIR, "documents")``,
fits TF-IDF (word 1-2 grams, sublinear tf) + logistic regression (``class_weight="balanced"``,
``random_state=0``) on the train documents that have a gold stance (``stance >= 0``), and
reports macro-F1 on validation and test, over the stance classes present in each split's gold
labels. A majority-class predictor is reported beside it as the floor to beat. A split with
no labelled document reports "n/a"; so does everything when train has fewer than two classes.

    .venv/bin/python scripts/train_baseline.py RELEASE_DIR [--json] [--cache-dir DIR]

The figures can go into the release card (``--json`` prints them as JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

SEED = 0
EVAL_SPLITS = ("validation", "test")


def _labelled(split: Any) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for title, text, stance in zip(split["title"], split["text"], split["stance"], strict=True):
        if stance is not None and stance >= 0:
            texts.append(f"{title}\n{text}")
            labels.append(int(stance))
    return texts, labels


def train_and_evaluate(ds: Any) -> dict[str, Any]:
    """Fit on ``ds["train"]``, score the other splits; ``ds`` is a DatasetDict of documents."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline

    names: list[str] = ds["train"].features["stance"].names
    x_train, y_train = _labelled(ds["train"])
    result: dict[str, Any] = {
        "model": "tfidf(1-2 grams) + logistic regression (balanced)",
        "labels": names,
        "train": {"documents": ds["train"].num_rows, "labelled": len(y_train),
                  "classes": {names[k]: n for k, n in sorted(Counter(y_train).items())}},
        "splits": {},
    }  # fmt: skip
    classes = sorted(set(y_train))
    model = None
    if len(classes) >= 2:
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(class_weight="balanced", max_iter=2000, random_state=SEED),
        )
        model.fit(x_train, y_train)
    else:
        result["note"] = f"train has {len(classes)} labelled class(es); no model was fitted"
    majority = Counter(y_train).most_common(1)[0][0] if y_train else None
    for split in EVAL_SPLITS:
        if split not in ds:
            result["splits"][split] = {"labelled": 0, "macro_f1": "n/a", "majority_f1": "n/a"}
            continue
        x, y = _labelled(ds[split])
        entry: dict[str, Any] = {"labelled": len(y), "macro_f1": "n/a", "majority_f1": "n/a"}
        if y:
            present = sorted(set(y))
            entry["classes"] = [names[k] for k in present]
            if model is not None:
                pred = model.predict(x)
                entry["macro_f1"] = float(
                    f1_score(y, pred, labels=present, average="macro", zero_division=0)
                )
            if majority is not None:
                entry["majority_f1"] = float(
                    f1_score(y, [majority] * len(y), labels=present, average="macro",
                             zero_division=0)
                )  # fmt: skip
        result["splits"][split] = entry
    return result


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table(result: dict[str, Any]) -> str:
    lines = [
        f"train: {result['train']['labelled']} labelled of {result['train']['documents']} "
        f"documents {result['train']['classes']}",
        f"{'split':<12}{'labelled':>10}{'macro-F1':>10}{'majority':>10}",
    ]
    for split, e in result["splits"].items():
        lines.append(
            f"{split:<12}{e['labelled']:>10}{_fmt(e['macro_f1']):>10}{_fmt(e['majority_f1']):>10}"
        )
    if "note" in result:
        lines.append(f"note: {result['note']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", type=Path, help="the release folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--cache-dir", type=Path, help="datasets cache (default: HF's)")
    args = parser.parse_args(argv)

    import datasets
    from datasets import load_dataset

    release = args.release.expanduser().resolve()  # a relative path could be read as a Hub id
    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        ds = load_dataset(
            str(release), "documents", cache_dir=str(args.cache_dir) if args.cache_dir else None
        )
    finally:
        if not quiet:
            datasets.enable_progress_bars()
    result = train_and_evaluate(ds)
    result["release"] = str(release)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

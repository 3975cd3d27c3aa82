"""How often annotators kept what a pre-annotator suggested, per model version (pure).

Per annotator the report already counts accepted span suggestions; this groups the same
per ``model_version`` (the keyword baseline or a stored model, recorded per annotation at
pull time from the prediction the task showed), with the share of annotations whose
stance equals the suggested stance: a model whose suggestions are kept far more often than
its test scores warrant is over-trusted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NO_PREDICTION = "(no prediction)"


@dataclass
class ModelVersionSummary:
    model_version: str
    annotations: int  # answered (not skipped) annotations of tasks showing this prediction
    spans: int
    accepted_suggestions: float | None  # share of spans kept unchanged from the prediction
    stance_suggested: int  # annotations whose prediction suggested a stance
    stance_accepted: float | None  # share of those whose stance is the suggested one


def per_model_version(
    annotations: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
    *,
    fallback: str | None = None,
) -> list[ModelVersionSummary]:
    """Summaries of answered ``annotations`` and their ``spans`` by model version.

    Rows that do not record a model version (pulled before it was recorded; every task a
    round pushes shows a prediction) count under ``fallback`` (the round's pre-annotator).
    """
    version_of: dict[int, str] = {}
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for a in annotations:
        if a.get("cancelled"):
            continue
        version = a.get("model_version") or fallback
        key = str(version) if version else NO_PREDICTION
        version_of[a["annotation_id"]] = key
        groups[key].append(a)
    span_groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for s in spans:
        if s["annotation_id"] in version_of:
            span_groups[version_of[s["annotation_id"]]].append(s)
    out = []
    for key in sorted(groups):
        rows, mine = groups[key], span_groups[key]
        suggested = [a for a in rows if a.get("suggested_stance")]
        out.append(
            ModelVersionSummary(
                model_version=key,
                annotations=len(rows),
                spans=len(mine),
                accepted_suggestions=(
                    round(sum(bool(s["from_prediction"]) for s in mine) / len(mine), 4)
                    if mine
                    else None
                ),
                stance_suggested=len(suggested),
                stance_accepted=(
                    round(
                        sum(a["stance"] == a["suggested_stance"] for a in suggested)
                        / len(suggested),
                        4,
                    )
                    if suggested
                    else None
                ),
            )
        )
    return out


__all__ = ["NO_PREDICTION", "ModelVersionSummary", "per_model_version"]

"""Files generated into ``schemas/`` from the models and the label schema; a test keeps them fresh.

The JSON Schemas of the public record types (from :mod:`corpus.models`), the Label Studio
labelling config and the annotators' instructions (from ``schemas/annotation.yaml``).
:func:`hotkey_table` is the hotkey table of docs/concepts/rounds.md (a test keeps it in step).
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.label_schema import AnnotationSchema, load_schema
from corpus.labelstudio.config import hotkeys, instructions_html, label_config
from corpus.models import RECORD_MODELS


def generated_files(schema: AnnotationSchema | None = None) -> dict[str, str]:
    """File name -> content of every generated file (labels from ``schema``, default: the
    project's ``schemas/annotation.yaml``)."""
    files = {}
    for name, model in RECORD_MODELS.items():
        record = model.model_json_schema()
        record["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        record["$comment"] = (
            "Generated from corpus.models by `corpus schema generate`; do not edit."
        )
        files[f"{name}.schema.json"] = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    labels = schema or load_schema()
    note = (
        "<!-- Generated from schemas/annotation.yaml by `corpus schema generate`; do not edit. -->"
    )
    files["labelstudio.xml"] = f"{note}\n{label_config(labels)}"
    files["labelstudio-instructions.html"] = f"{note}\n{instructions_html(labels)}"
    return files


def hotkey_table(schema: AnnotationSchema) -> str:
    """The hotkeys of the labelling config as a Markdown table (as in docs/concepts/rounds.md)."""
    what = {
        "issue": "issue (span label)",
        "span_stance": "span stance",
        "stance": "document stance",
    }
    lines = ["| key | button | stored value | control |", "|---|---|---|---|"]
    for key in hotkeys(schema):
        title = key.title.replace("|", "\\|")
        lines.append(f"| `{key.display}` | {title} | `{key.value}` | {what[key.control]} |")
    return "\n".join(lines) + "\n"


def stale_files(folder: Path, schema: AnnotationSchema | None = None) -> list[str]:
    """Generated files that are missing or differ from what the models and ``schema``
    produce."""
    return [
        name
        for name, content in generated_files(schema).items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != content
    ]


def write_generated(folder: Path, schema: AnnotationSchema | None = None) -> list[Path]:
    """Write every generated file (labels from ``schema``, default: the project's)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in generated_files(schema).items():
        path = folder / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written

"""Text files with YAML front matter (pure): a Markdown file's fields before its body.

A ``.md``/``.markdown`` file may start with a YAML block between two ``---`` lines (the
closing line may also be ``...``), as static site generators write it. Its ``title`` is the
document's title and its ``url``, ``source``, ``published_at`` (or ``date``), ``language``
(or ``lang``) and ``id`` fields are kept as a tabular record's would be; other keys are
ignored. The body is the text after the block (its first line is the title when the block
has none). A block that is not valid YAML, or not a mapping, makes the file a bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from corpus.ingestion import fields
from corpus.ingestion.core import RecordProblem, split_title

_OPEN = re.compile(r"---[ \t]*\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
ALIASES = {
    "title": "title",
    "url": "url",
    "source": "source",
    "published_at": "published_at",
    "date": "published_at",
    "language": "language",
    "lang": "language",
    "id": "id",
}


@dataclass(frozen=True)
class FrontMatter:
    """The fields a file's front matter gives (None: not given)."""

    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: Any = None
    language: str | None = None
    external_id: str | None = None


def split_front_matter(content: str) -> tuple[FrontMatter, str]:
    """``(front matter, the rest)``; an empty :class:`FrontMatter` and ``content`` when
    the text does not start with a ``---`` line."""
    start = _OPEN.match(content)
    if start is None:
        return FrontMatter(), content
    close = _CLOSE.search(content, start.end())
    if close is None:
        raise RecordProblem(
            "the front matter opened by '---' on line 1 is never closed",
            "End the YAML block with a '---' line, or remove the first line.",
        )
    block, rest = content[start.end() : close.start()], content[close.end() :]
    last = content.count("\n", 0, close.start()) + 1
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        raise RecordProblem(
            f"the front matter (lines 1-{last}) is not valid YAML: "
            f"{getattr(exc, 'problem', None) or exc}",
            "Fix the YAML between the '---' lines (quote values holding ':').",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecordProblem(
            f"the front matter (lines 1-{last}) is not a set of 'key: value' lines",
            "Write the front matter as YAML 'key: value' lines, e.g. 'title: ...'.",
        )
    known: dict[str, object] = {}
    for key, value in data.items():
        name = ALIASES.get(str(key).lower())
        if name is not None and known.get(name) is None:
            known[name] = value
    title = known.get("title")
    if title is not None and not isinstance(title, str | int | float):
        raise RecordProblem(
            f"the front matter's title must be text, not {type(title).__name__}",
            "Write 'title: Your headline' in the front matter.",
        )
    language = known.get("language")
    return (
        FrontMatter(
            title=str(title).strip() or None if title is not None else None,
            url=fields.text_field("url", known.get("url")),
            source=fields.text_field("source", known.get("source")),
            published_at=fields.published_at(known.get("published_at")),
            language=fields.language(language) if language is not None else None,
            external_id=fields.id_field(known.get("id")),
        ),
        rest,
    )


def title_and_body(content: str) -> tuple[FrontMatter, str, str]:
    """A Markdown file's front matter, title and body (see the module docstring)."""
    front, rest = split_front_matter(content)
    if front.title is None:
        title, body = split_title(rest)
        return front, title, body
    body = rest.strip("\n").rstrip()
    if not body.strip():
        raise RecordProblem(
            "the file has front matter but no body text",
            "Add the article's paragraphs after the closing '---' line, or remove the file.",
        )
    return front, front.title, body

"""Typed record fields (pure): what a JSONL/CSV/Parquet record may hold, or why not.

* ``id``, ``url``, ``source``: strings (an integer id is accepted and kept as text);
* ``published_at``: an ISO 8601 date or date-time, or a Unix timestamp in seconds (number or
  digits), stored as a UTC timestamp; a date-time without a zone is taken as UTC;
* ``language``: a valid BCP 47 tag (``langcodes``), stored in its standard form; records
  without one are English (``en``), as the segmenter has always assumed.

Anything else is a :class:`RecordProblem` naming the field, so the record is reported by its
number and the rest of the file is still read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from corpus.ingestion.core import RecordProblem

DEFAULT_LANGUAGE = "en"
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", float: "a number"}.get(
        type(value), type(value).__name__
    )


def text_field(name: str, value: object) -> str | None:
    """An optional text field; empty means absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raise RecordProblem(
        f"field {name!r} must be text, not {_kind(value)} ({_short(value)})",
        f"Give {name} as a string, or map another column with --field {name}=COLUMN.",
    )


def id_field(value: object) -> str | None:
    """The record's own id: text, or an integer kept as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text_field("id", value)


def published_at(value: object) -> datetime | None:
    """A UTC timestamp from an ISO 8601 date/date-time or a Unix timestamp in seconds."""
    if value is None or value == "":
        return None
    when: datetime
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        when = _from_timestamp(float(value))
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        when = _from_timestamp(float(value.strip()))
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise RecordProblem(
                f"field 'published_at' is not a date: {_short(value)}",
                "Use ISO 8601 (2024-03-01 or 2024-03-01T12:00:00+08:00) or a Unix timestamp "
                "in seconds.",
            ) from None
    else:
        raise RecordProblem(
            f"field 'published_at' must be a date, not {_kind(value)} ({_short(value)})",
            "Use ISO 8601 text or a Unix timestamp in seconds.",
        )
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if not _EARLIEST <= when < _LATEST:
        raise RecordProblem(
            f"field 'published_at' is out of range: {when.date()}",
            "Unix timestamps are in seconds (not milliseconds); dates must fall within 1800–2199.",
        )
    return when


def _from_timestamp(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordProblem(
            f"field 'published_at' is out of range: {seconds:g} seconds since 1970",
            "Unix timestamps are in seconds (not milliseconds) since 1970-01-01 UTC.",
        ) from None


def language(value: object) -> str:
    """A standard BCP 47 tag (``en``, ``zh-Hant-TW``); ``en`` when absent."""
    import langcodes

    raw = text_field("language", value)
    if raw is None:
        return DEFAULT_LANGUAGE
    tag = raw.strip()
    if not langcodes.tag_is_valid(tag):
        raise RecordProblem(
            f"field 'language' is not a BCP 47 language tag: {_short(raw)}",
            "Use a tag such as en, zh, zh-Hant or pt-BR.",
        )
    return str(langcodes.standardize_tag(tag))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["DEFAULT_LANGUAGE", "id_field", "language", "published_at", "text_field"]

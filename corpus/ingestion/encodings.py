"""Decoding input bytes (pure): strict, with UTF-16/UTF-32 found by their byte order mark.

A file that starts with a UTF-16 or UTF-32 byte order mark is read in that encoding when the
encoding asked for is UTF-8 (the default); UTF-16 without a mark is named as such, with the
fix, instead of being called binary.
"""

from __future__ import annotations

import codecs

from corpus.ingestion.core import RecordProblem

UTF8 = {"utf-8", "utf8", "utf-8-sig"}

_WIDE_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def wide_encoding(head: bytes, encoding: str) -> str:
    """The encoding to read with: UTF-16 or UTF-32 when ``head`` (a file's first bytes)
    starts with their byte order mark and the encoding asked for is UTF-8 (the default)."""
    if codec_name(encoding) not in UTF8:
        return encoding
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return name
    return encoding


def codec_name(encoding: str) -> str:
    return encoding.lower().replace("_", "-")


def decode(data: bytes, encoding: str) -> str:
    """Decode strictly; a bad byte is named by its offset. A UTF-16/UTF-32 byte order mark
    selects that encoding. (NUL characters are refused for every format alike, when the
    record is segmented.)"""
    encoding = wide_encoding(data[:4], encoding)
    head = data[:8192]
    if codec_name(encoding) in UTF8 and b"\x00" in head and _looks_utf16(head):
        raise RecordProblem(
            "looks like UTF-16 text without a byte order mark, not UTF-8",
            "Re-save the file as UTF-8, or pass --encoding utf-16-le (or utf-16-be).",
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if b"\x00" in head:
            raise RecordProblem(
                "looks like a binary file (NUL bytes, not valid text)", "Ingest only text."
            ) from None
        raise RecordProblem(
            f"not valid {encoding} at byte offset {exc.start}",
            "Convert the file to UTF-8, or pass --encoding (for example cp1252 or latin-1) "
            "for legacy files.",
        ) from None
    except LookupError:
        raise RecordProblem(f"unknown encoding {encoding!r}", "Pass a Python codec name.") from None


def _looks_utf16(head: bytes) -> bool:
    """Most bytes at even (or odd) offsets are NUL: ASCII-range text in UTF-16."""
    even, odd = head[0::2], head[1::2]
    return max(even.count(0), odd.count(0)) > 0.8 * max(1, min(len(even), len(odd)))


__all__ = ["UTF8", "codec_name", "decode", "wide_encoding"]

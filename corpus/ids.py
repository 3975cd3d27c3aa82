"""The one definition of ids and hashes: canonical JSON, content ids, row hashes, file digests.

* :func:`canonical_json` is the reference form every hash is taken over: sorted keys, no
  spaces, characters kept (``ensure_ascii=False``), written by orjson.
* :func:`content_id` is a document's stable id: the first 16 hex digits of the sha256 of
  ``canonical_json({"text": text, "title": title})``.
* :func:`row_hash` is the sha256 of a row's canonical JSON as an integer; a table's
  ``content_sha256`` is the sum of its rows' hashes mod 2**256 (:func:`hash_hex`), so it does
  not depend on row order or batching and a child version's hash extends its parent's.
* :func:`file_sha256` streams a file through ``hashlib.file_digest``.

Hot paths (ingest formats millions of paragraph and sentence rows) may build the canonical
text without a dict; :func:`json_string` is the piece they use, and property tests check that
every fast path equals :func:`canonical_json` on arbitrary Unicode.
"""

from __future__ import annotations

import hashlib
from json.encoder import encode_basestring
from pathlib import Path
from typing import BinaryIO

import orjson

MASK256 = (1 << 256) - 1


def canonical_json(obj: object) -> str:
    """JSON with sorted keys, no spaces and characters kept (``ensure_ascii=False``).

    The same text as ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` for strings, integers, booleans, null, lists and objects (a
    property test checks); floats are written in orjson's shortest exact form.
    """
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def json_string(text: str) -> str:
    """``text`` as a JSON string literal, exactly as :func:`canonical_json` writes it."""
    return encode_basestring(text)


def sha256_int(data: str | bytes) -> int:
    """The sha256 of ``data`` (UTF-8 for text) as a big-endian integer."""
    raw = data.encode() if isinstance(data, str) else data
    return int.from_bytes(hashlib.sha256(raw).digest(), "big")


def row_hash(row: object) -> int:
    """sha256 of a row's canonical JSON, as an integer (summed into a table hash)."""
    return sha256_int(canonical_json(row))


def hash_hex(total: int) -> str:
    """A sum of row hashes as the 64-digit hex ``content_sha256`` of a table."""
    return f"{total & MASK256:064x}"


def content_id(title: str, text: str, *, text_json: str | None = None) -> str:
    """Stable document id: the same normalised article has the same id from any source.

    The sha256 of ``canonical_json({"text": text, "title": title})``, formatted directly
    (``text_json`` is :func:`json_string` of ``text``, if the caller has it already).
    """
    body = text_json if text_json is not None else json_string(text)
    data = '{"text":' + body + ',"title":' + json_string(title) + "}"
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def text_sha256(text: str) -> str:
    """The hex sha256 of a text's UTF-8 bytes (``documents.text_sha256``)."""
    return hashlib.sha256(text.encode()).hexdigest()


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, streamed (``hashlib.file_digest``; never read whole)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def stream_sha256(fh: BinaryIO, *, chunk: int = 1 << 20) -> str:
    """The hex sha256 of any readable binary stream (e.g. an fsspec file), in chunks."""
    digest = hashlib.sha256()
    while block := fh.read(chunk):
        digest.update(block)
    return digest.hexdigest()


__all__ = [
    "MASK256",
    "bytes_sha256",
    "canonical_json",
    "content_id",
    "file_sha256",
    "hash_hex",
    "json_string",
    "row_hash",
    "sha256_int",
    "stream_sha256",
    "text_sha256",
]

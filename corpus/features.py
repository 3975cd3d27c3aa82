"""Arrow schemas and ``datasets.Features`` derived from the pydantic row models."""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    bool: pa.bool_(),
    float: pa.float64(),
    datetime: pa.timestamp("us", tz="UTC"),
}


def _arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """(type, nullable) for a field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation!r}")
        return _arrow_type(args[0])[0], True
    if origin is list:
        (item,) = typing.get_args(annotation)
        return pa.list_(_arrow_type(item)[0]), False
    if annotation in _SCALARS:
        return _SCALARS[annotation], False
    raise TypeError(f"no Arrow type for {annotation!r}")


def arrow_schema(
    model: type[BaseModel], overrides: dict[str, pa.DataType] | None = None
) -> pa.Schema:
    """The Arrow schema of a row model, field order kept."""
    overrides = overrides or {}
    hints = typing.get_type_hints(model)
    fields = []
    for name in model.model_fields:
        dtype, nullable = _arrow_type(hints[name])
        fields.append(pa.field(name, overrides.get(name, dtype), nullable=nullable))
    return pa.schema(fields)


def features(model: type[BaseModel], overrides: dict[str, pa.DataType] | None = None) -> Any:
    """``datasets.Features`` of a row model (imported lazily: datasets is slow to import)."""
    from datasets import Features

    return Features.from_arrow_schema(arrow_schema(model, overrides))

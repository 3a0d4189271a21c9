"""Conversions between Python values and the protobuf well-known types Baton uses."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

#: A JSON object as Python sees it: ``dict`` of ``str`` to JSON values.
JsonObject = dict[str, Any]


def to_json_object(value: object) -> JsonObject:
    """A handler's result as a JSON object.

    A JSON round trip gives exactly what a reader gets back (tuples become lists,
    datetimes ISO strings); a value that is not an object is wrapped as
    ``{"value": ...}``. Raises TypeError or ValueError for values JSON cannot hold.
    """
    if value is None:
        return {}
    parsed = json.loads(json.dumps(value, default=_json_default, allow_nan=False))
    if isinstance(parsed, dict):
        return parsed
    return {"value": parsed}


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_struct(value: Mapping[str, Any] | None) -> struct_pb2.Struct:
    """A JSON object (any Mapping of JSON values) as a google.protobuf.Struct."""
    struct = struct_pb2.Struct()
    if value:
        struct.update(to_json_object(dict(value)))
    return struct


def from_struct(struct: struct_pb2.Struct) -> JsonObject:
    """A Struct as a plain dict; whole numbers come back as ``int`` (JSON has one number type)."""
    return {key: _from_value(v) for key, v in struct.fields.items()}


def _from_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return [_from_value(v) for v in value.list_value.values]
    if kind == "number_value":
        n = value.number_value
        if math.isfinite(n) and n.is_integer() and abs(n) < 2**53:
            return int(n)
        return n
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def to_timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """A datetime as a Timestamp; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def from_timestamp(ts: timestamp_pb2.Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime."""
    return ts.ToDatetime(tzinfo=UTC)


def to_duration(seconds: float | timedelta) -> duration_pb2.Duration:
    """Seconds (or a timedelta) as a Duration."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    whole = math.floor(seconds)
    nanos = round((seconds - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return duration_pb2.Duration(seconds=whole, nanos=nanos)


def duration_seconds(d: duration_pb2.Duration) -> float:
    """A Duration in seconds."""
    return d.seconds + d.nanos / 1e9

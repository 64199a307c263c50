"""Building blocks of the wire models: every HTTP body and every signaling frame is one pydantic model,
which validates and parses the input and generates the published JSON Schema (OpenAPI, signaling schema).

Why pydantic v2 and not msgspec: it emits JSON Schema 2020-12 (OpenAPI 3.1's dialect) with hooks to shape
it (``WithJsonSchema``, a ``GenerateJsonSchema`` subclass), its errors carry a location we turn into the
``field`` of our 422s, and pydantic-settings gives the configuration the same validation.  msgspec decodes
faster, but a request here costs an argon2 hash or a database round trip, not a decode; its schema output
and error locations are less configurable, and it has no settings companion.

Models are strict (no "10" for 10, no true for 1) and forbid unknown keys.  Input is first decoded by the
standard ``json`` module (so malformed JSON stays a 400 and a lone surrogate a 422 of its own), then
validated from Python objects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError,
                      WithJsonSchema)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from domain.shared.ids import is_valid_id
from domain.shared.text import is_storable

UUID_SCHEMA = {"type": "string", "format": "uuid"}
TIME_SCHEMA = {"type": "string", "format": "date-time"}


class Shape(BaseModel):
    """Base of every wire model: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def _id(value: str) -> str:
    if not is_valid_id(value):
        raise ValueError("not a lower-case UUID")
    return value


def _parse_time(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("a date-time must be an ISO 8601 string")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError("a time zone is required")
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:
        raise ValueError("out of range") from None


def iso(t: dt.datetime | None) -> str | None:
    """Always with microseconds and "Z", so the HTTP API's times sort as text."""
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z") if t is not None else None


# A UUID in canonical (lower-case) text, as the domain's ids are.
Id = Annotated[str, AfterValidator(_id), WithJsonSchema(UUID_SCHEMA)]
# An incoming date-time: ISO 8601 with a zone, normalised to UTC.
Time = Annotated[dt.datetime, BeforeValidator(_parse_time), WithJsonSchema(TIME_SCHEMA)]
# An outgoing date-time (see iso).
Stamp = Annotated[dt.datetime, PlainSerializer(iso, return_type=str), WithJsonSchema(TIME_SCHEMA)]
NullableStamp = Annotated[dt.datetime | None, PlainSerializer(iso, return_type=str | None),
                          WithJsonSchema({"type": ["string", "null"], "format": "date-time"})]


def text(max_length: int, min_length: int = 0, **extra: Any) -> Any:
    """A string field of ``min_length``-``max_length`` characters (code points, as JSON Schema counts)."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, **extra)]


class PublishedSchema(GenerateJsonSchema):
    """The documents say what a client needs: no generated per-field titles, no ``"default": null``
    (an optional field is simply not required)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if out.get("default", ...) is None:
            out.pop("default")
        return out

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if set(inner) <= {"type", "format", "minLength", "maxLength", "description"} and isinstance(inner.get("type"), str):
            return {**inner, "type": [inner["type"], "null"]}  # {"type": ["string", "null"]}, as before
        return super().nullable_schema(schema)


def components(models: Iterable[type[BaseModel]], ref_template: str) -> dict[str, Any]:
    """JSON Schemas of ``models`` and of every model they nest, by class name, refs per ``ref_template``."""
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=ref_template,
                                schema_generator=PublishedSchema)
    return dict(sorted(top.get("$defs", {}).items()))


def first_problem(err: ValidationError) -> tuple[str, str]:
    """(where, message) of the first error: where is "a/0/b", or "" for the whole value."""
    e = err.errors(include_url=False, include_context=False, include_input=False)[0]
    where = "/".join(str(p) for p in e["loc"])
    message = e["msg"].removeprefix("Value error, ")
    return where, message


def unstorable_path(value: object, path: str = "") -> str | None:
    """Where in a decoded JSON body or frame (keys included) a string is not storable, as "a/0/b"; None if nowhere."""
    if isinstance(value, str):
        return None if is_storable(value) else (path or "(body)")
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}/{key}" if path else str(key)
            if not is_storable(key):
                return path or "(body)"
            found = unstorable_path(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = unstorable_path(item, f"{path}/{i}" if path else str(i))
            if found is not None:
                return found
    return None

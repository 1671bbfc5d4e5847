"""JSON Schema (OpenAPI 3.1 dialect) from the API's frozen dataclasses.

The API's bodies are dataclasses whose fields carry their description in
`field(metadata=...)`; `described("…")` makes such a field. The one converter below turns
a type hint into a schema: the OpenAPI description is generated from the very classes the
endpoints fill in, so the two cannot drift apart.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, Field, field, fields, is_dataclass
from datetime import date, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

Schema = dict[str, Any]


def described(description: str, *, default: Any = MISSING, **schema: Any) -> Any:
    """A dataclass field with its description (Vietnamese where people read the value)
    and extra JSON Schema keywords (format, enum, pattern, minimum, maxLength, …)."""
    meta = {"description": description, "schema": schema}
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def _is_optional(hint: Any) -> tuple[bool, Any]:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) != len(get_args(hint)):
            inner = args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007
            return True, inner
    return False, hint


def type_schema(hint: Any, components: dict[str, Schema]) -> Schema:
    """The schema of one type hint; dataclasses go to `components` and are referenced."""
    optional, inner = _is_optional(hint)
    schema = _plain(inner, components)
    if optional:
        if "$ref" in schema:
            return {"anyOf": [schema, {"type": "null"}]}
        kind = schema.get("type")
        if isinstance(kind, str):
            schema = {**schema, "type": [kind, "null"]}
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _plain(hint: Any, components: dict[str, Schema]) -> Schema:
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    if hint is date:
        return {"type": "string", "format": "date"}
    if hint is Any:
        return {}
    origin = get_origin(hint)
    if origin is typing.Literal:
        values = list(get_args(hint))
        return {"type": "string", "enum": values}
    if origin in (tuple, list):
        args = get_args(hint)
        return {"type": "array", "items": type_schema(args[0], components) if args else {}}
    if origin is dict:
        args = get_args(hint)
        return {"type": "object",
                "additionalProperties": type_schema(args[1], components) if args else {}}
    if isinstance(hint, type) and is_dataclass(hint):
        add_component(hint, components)
        return {"$ref": f"#/components/schemas/{hint.__name__}"}
    raise TypeError(f"no JSON schema for {hint!r}")


def add_component(cls: type, components: dict[str, Schema]) -> None:
    """`cls` (a dataclass) as a named schema: every field required (null where it may
    be), no other property; fields with a default are optional (request bodies)."""
    name = cls.__name__
    if name in components:
        return
    components[name] = {}  # placeholder: a class may refer to itself
    hints = get_type_hints(cls)
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for f in fields(cls):
        schema = type_schema(hints[f.name], components)
        extra: dict[str, Any] = dict(f.metadata.get("schema", {}))
        if extra:
            if "$ref" in schema or "anyOf" in schema:
                schema = {"allOf": [schema], **extra} if "$ref" in schema else \
                    {**schema, **extra}
            else:
                schema = {**schema, **extra}
        if f.metadata.get("description"):
            schema["description"] = f.metadata["description"]
        properties[f.name] = schema
        if _required(f):
            required.append(f.name)
    doc = (cls.__doc__ or "").strip()
    if doc.startswith(f"{name}("):  # the signature dataclass writes when there is none
        doc = ""
    components[name] = {"type": "object", "properties": properties, "required": required,
                        "additionalProperties": False,
                        **({"description": doc} if doc else {})}


def _required(f: Field[Any]) -> bool:
    return f.default is MISSING and f.default_factory is MISSING

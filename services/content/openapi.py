"""The content service's OpenAPI document, generated from the views' schemas.

``fanfare content openapi`` writes it to services/content/openapi.json; a test
fails when the committed file and the code disagree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema

from services.common.storable_input import MAX_ID
from services.content.apidoc import ApiDoc, doc_of
from services.content.schemas import ErrorSchema

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAMETER_TYPES = {"int": "integer", "string": "string", "path": "string", None: "string"}


def build_spec(app: Flask) -> dict[str, Any]:
    """OpenAPI 3.1 for every documented view of ``app``."""
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Fanfare content service",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[marshmallow_plugin],
        info={
            "description": "Packs, assets, renditions, share kits and fan feedback. "
            "Every /v1 call needs the gateway's internal token (Authorization: Bearer)."
        },
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.security_scheme("internalToken", {"type": "http", "scheme": "bearer"})
    rules = sorted(
        app.url_map.iter_rules(), key=lambda rule: (rule.rule, sorted(rule.methods or []))
    )
    paths: dict[str, dict[str, Any]] = {}
    for rule in rules:
        doc = doc_of(app.view_functions[rule.endpoint])
        if doc is None:
            continue
        path = _CONVERTER.sub(lambda match: "{" + match.group(2) + "}", rule.rule)
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": _parameter_schema(converter),
            }
            for converter, name in _CONVERTER.findall(rule.rule)
        ]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                doc, parameters, marshmallow_plugin
            )
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _parameter_schema(converter: str | None) -> dict[str, Any]:
    if converter == "int":
        # DatabaseIdConverter: larger ids match no route (404), like any unknown id.
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    return {"type": _PARAMETER_TYPES.get(converter, "string")}


def _operation(
    doc: ApiDoc, path_parameters: list[dict[str, Any]], marshmallow_plugin: MarshmallowPlugin
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": doc.summary, "parameters": list(path_parameters)}
    if doc.query is not None:
        operation["parameters"].append({"in": "query", "schema": doc.query})
    if doc.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": doc.body}},
        }
    if doc.multipart is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": _multipart_schema(doc.multipart, marshmallow_plugin)
                }
            },
        }
    responses: dict[str, Any] = {}
    if doc.response is not None:
        responses[str(doc.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": doc.response}},
        }
    elif doc.raw_response:
        status = str(doc.raw_response.get("status", doc.status))
        responses[status] = {"description": "OK"}
        if "content" in doc.raw_response:
            responses[status]["content"] = doc.raw_response["content"]
    for status in sorted({*doc.errors, *(() if doc.public else (401,))}):
        responses[str(status)] = {
            "description": "Error envelope",
            "content": {"application/json": {"schema": "Error"}},
        }
    operation["responses"] = responses
    if not doc.public:
        operation["security"] = [{"internalToken": []}]
    return operation


def _multipart_schema(form: type[Schema], marshmallow_plugin: MarshmallowPlugin) -> dict[str, Any]:
    """The form's fields and the file part, in one object.

    Not ``allOf`` of the form's schema and the file: the form's schema forbids
    properties it does not name (``additionalProperties: false``), so no body could
    satisfy both, and a client generated from the document could send nothing.
    """
    converter = marshmallow_plugin.converter
    assert converter is not None
    schema: dict[str, Any] = converter.schema2jsonschema(form)  # type: ignore[no-untyped-call]
    schema["properties"] = {
        **schema.get("properties", {}),
        "file": {"type": "string", "format": "binary"},
    }
    schema["required"] = sorted({*schema.get("required", []), "file"})
    return schema


def render_spec(app: Flask) -> str:
    return json.dumps(build_spec(app), indent=2, sort_keys=True) + "\n"

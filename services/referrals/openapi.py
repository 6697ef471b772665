"""The OpenAPI document, built from the views' declared marshmallow schemas.

Committed as ``services/referrals/openapi.json``; ``fanfare referrals openapi``
rewrites it and a test fails when the code and the file drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from services.common.storable_input import MAX_ID
from services.referrals.apidoc import Operation
from services.referrals.schemas import ErrorSchema

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
_RULE_PARAMETER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>[a-z_]+)>")
_DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    302: "Redirect to the destination",
    304: "Not modified",
    403: "Not allowed for this caller (FORBIDDEN)",
    404: "Not found",
    409: "Conflict with the current state",
    410: "Gone",
    422: "Invalid input (INVALID, with details.fields)",
}


def build_openapi(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Fanfare referrals service",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Short links, click counts, conversions and stats. Everything under "
            "/v1/ needs the gateway's internal token; /r/ is public."
        },
    )
    spec.components.security_scheme(
        "internalToken", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions.get(rule.endpoint)
        operation: Operation | None = getattr(view, "_openapi", None)
        if operation is None:
            continue
        path = _RULE_PARAMETER.sub(r"{\g<name>}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule.rule, operation)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _parameter_schema(converter: str | None) -> dict[str, Any]:
    if converter == "int":
        # DatabaseIdConverter: larger ids match no route (404), like any unknown id.
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    return {"type": "string"}


def _operation(rule: str, operation: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "in": "path",
            "name": match["name"],
            "required": True,
            "schema": _parameter_schema(match["converter"]),
        }
        for match in _RULE_PARAMETER.finditer(rule)
    ]
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    responses: dict[str, Any] = {}
    for status, schema in sorted(operation.responses.items()):
        response: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, str(status))}
        if schema is not None:
            response["content"] = {operation.content_type: {"schema": schema}}
        elif operation.public and status == 200:
            response["content"] = {operation.content_type: {}}
        responses[str(status)] = response
    for status in operation.errors:
        responses[str(status)] = {
            "description": _DESCRIPTIONS.get(status, str(status)),
            "content": {"application/json": {"schema": "Error"}},
        }
    result: dict[str, Any] = {
        "summary": operation.summary,
        "tags": list(operation.tags),
        "responses": responses,
        "security": [] if operation.public else [{"internalToken": []}],
    }
    if parameters:
        result["parameters"] = parameters
    if operation.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": operation.body}},
        }
    return result


def render_openapi(app: Flask) -> str:
    return json.dumps(build_openapi(app), indent=2, sort_keys=True) + "\n"

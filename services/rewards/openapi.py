"""The OpenAPI document of rewards, generated from the views' own marshmallow schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.common.storable_input import MAX_ID
from services.rewards import views  # noqa: F401 - registers the endpoints
from services.rewards.api import ENDPOINTS, EndpointDoc
from services.rewards.schemas import ErrorSchema

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def build_openapi() -> dict[str, Any]:
    spec = APISpec(
        title="Fanfare rewards",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Internal API, called by the gateway with an internal token."},
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.security_scheme("internalToken", {"type": "http", "scheme": "bearer"})
    for doc in sorted(ENDPOINTS, key=lambda d: (d.rule, d.method)):
        path = "/v1" + _CONVERTER.sub(r"{\1}", doc.rule)
        spec.path(path=path, operations={doc.method.lower(): _operation(doc)})
    document: dict[str, Any] = spec.to_dict()
    document["security"] = [{"internalToken": []}]
    return document


def _operation(doc: EndpointDoc) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "schema": _path_schema(doc, name)}
        for name in _path_names(doc.rule)
    ]
    if doc.query is not None:
        parameters.append({"in": "query", "schema": doc.query})
    success: dict[str, Any] = {"description": "OK"}
    if doc.response is not None:
        success["content"] = {"application/json": {"schema": doc.response}}
    error = {"description": "Error", "content": {"application/json": {"schema": "Error"}}}
    operation: dict[str, Any] = {
        "summary": doc.summary,
        "description": f"Who may call: {doc.access}.",
        "tags": [doc.tag],
        "operationId": f"{doc.method.lower()}_{_path_names_joined(doc.rule)}",
        "parameters": parameters,
        "responses": {str(doc.status): success, "default": error},
    }
    if doc.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": doc.body}},
        }
    return operation


def _path_names(rule: str) -> list[str]:
    return _CONVERTER.findall(rule)


def _path_names_joined(rule: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", _CONVERTER.sub(r"\1", rule)).strip("_")


def _path_schema(doc: EndpointDoc, name: str) -> dict[str, Any]:
    if f"<int:{name}>" in doc.rule:
        # DatabaseIdConverter: larger ids match no route (404), like any unknown id.
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    return {"type": "string"}


def render_openapi() -> str:
    return json.dumps(build_openapi(), indent=2, sort_keys=True) + "\n"


def write_openapi(path: Path = OPENAPI_PATH) -> None:
    path.write_text(render_openapi(), encoding="utf-8")

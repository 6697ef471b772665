"""``/graphql`` over HTTP: JSON, GET queries, batches, multipart uploads, GraphiQL.

The view only translates HTTP: who is calling (:mod:`gateway.core.authentication`),
what they sent, and how the answer goes back (status, cookies, Retry-After).
Everything about GraphQL itself happens in :class:`gateway.core.engine.GraphQLEngine`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from flask import Blueprint, Request, Response, current_app, request
from graphql_server.http.ides import get_graphql_ide_html
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.core.authentication import AuthenticationFailed, Authenticator
from gateway.core.context import Caller, GraphQLContext
from gateway.core.engine import GraphQLEngine, OperationRequest, OperationResponse
from gateway.core.errors import BadUserInput, GraphQLFault
from gateway.core.loaders import RequestLoaders
from gateway.identity.credentials import hash_secret
from gateway.interfaces import Backend
from gateway.settings import GatewaySettings
from gateway.uploads import UploadedFile, operations_with_files
from services.common.db import Database

graphql_blueprint = Blueprint("graphql", __name__)

COOKIE_SESSION_HEADER = "X-Fanfare-Session"


@dataclass
class GraphQLService:
    """What the view needs, built once by the app factory."""

    engine: GraphQLEngine
    authenticator: Authenticator
    settings: GatewaySettings
    db: Database
    redis: redis.Redis
    backends: dict[str, Backend]
    pool: ThreadPoolExecutor


def _service() -> GraphQLService:
    service: GraphQLService = current_app.extensions["fanfare.graphql"]
    return service


@graphql_blueprint.route("/graphql", methods=["GET", "POST"])
def graphql_endpoint() -> Response:
    service = _service()
    settings = service.settings
    if request.method == "GET" and "query" not in request.args and _wants_html(request):
        if settings.environment == "development":
            return _graphiql(settings)
        return _error_response(404, "NOT_FOUND", "GraphiQL is served in development only.")
    try:
        caller = service.authenticator.authenticate(
            headers=request.headers,  # type: ignore[arg-type]
            cookies=request.cookies,
            query_args=request.args,
        )
    except AuthenticationFailed as failure:
        return _authentication_failure(failure, settings)
    read = _read_or_refuse(service)
    if isinstance(read, Response):
        return read
    payload, uploads = read
    if isinstance(payload, list):
        return _run_batch(service, caller, payload, uploads)
    actions: dict[str, Any] = {}
    result = _run_one(service, caller, payload, uploads, actions)
    status = 429 if "retry_after" in actions else result.status
    response = _json(status, result.body)
    if status == 405:
        response.headers["Allow"] = "POST"
    _apply_actions(response, actions, service)
    return response


def _read_or_refuse(service: GraphQLService) -> tuple[Any, dict[str, UploadedFile]] | Response:
    try:
        return _read_payload(service)
    except RequestEntityTooLarge:
        return _error_response(
            413,
            "PAYLOAD_TOO_LARGE",
            f"The request is too large; uploads may be at most "
            f"{service.settings.upload_max_bytes} bytes (use createAssetUpload for larger files).",
        )
    except GraphQLFault as fault:
        return _error_response(400, fault.code, fault.message)


def _run_batch(
    service: GraphQLService, caller: Caller, operations: list[Any], uploads: dict[str, UploadedFile]
) -> Response:
    limit = service.settings.graphql_max_batch
    if not 1 <= len(operations) <= limit:
        return _error_response(
            400, "BATCH_TOO_LARGE", f"Send between 1 and {limit} operations in one batch."
        )
    actions: dict[str, Any] = {}
    results = [_run_one(service, caller, op, uploads, actions).body for op in operations]
    response = _json(200, results)
    _apply_actions(response, actions, service)
    return response


def _run_one(
    service: GraphQLService,
    caller: Caller,
    operation: Any,
    uploads: dict[str, UploadedFile],
    actions: dict[str, Any],
) -> OperationResponse:
    if not isinstance(operation, dict):
        return _as_response(400, "BAD_REQUEST", "Each operation must be a JSON object.")
    context = _context(service, caller, uploads)
    result = service.engine.run(
        OperationRequest(
            query=operation.get("query"),
            variables=operation.get("variables"),
            operation_name=operation.get("operationName"),
        ),
        context,
        http_method=request.method,
    )
    actions.update(context.response_actions)
    return result


def _authentication_failure(failure: AuthenticationFailed, settings: GatewaySettings) -> Response:
    response = _error_response(failure.status, failure.code, failure.message)
    if failure.retry_after is not None:
        response.headers["Retry-After"] = str(failure.retry_after)
    if failure.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fanfare"'
    if failure.clear_session:
        _clear_session_cookies(response, settings)
    return response


def _context(
    service: GraphQLService, caller: Caller, uploads: dict[str, UploadedFile]
) -> GraphQLContext:
    return GraphQLContext(
        caller=caller,
        settings=service.settings,
        db=service.db,
        backends=service.backends,
        loaders=RequestLoaders(service.pool),
        redis=service.redis,
        client_ip=request.remote_addr or "",
        uploads=uploads,
        wants_cookie_session=request.headers.get(COOKIE_SESSION_HEADER, "").lower() == "cookie",
    )


def _read_payload(service: GraphQLService) -> tuple[Any, dict[str, UploadedFile]]:
    settings = service.settings
    if request.method == "GET":
        variables = request.args.get("variables")
        try:
            parsed_variables = json.loads(variables) if variables else None
        except ValueError as exc:
            raise BadUserInput("'variables' must be JSON.") from exc
        return {
            "query": request.args.get("query"),
            "variables": parsed_variables,
            "operationName": request.args.get("operationName"),
        }, {}
    if request.mimetype == "multipart/form-data":
        request.max_content_length = settings.upload_max_bytes + 64 * 1024
        files = {
            name: UploadedFile(
                filename=storage.filename or "upload",
                content_type=storage.mimetype or None,
                stream=storage.stream,
                size=_size_of(storage.stream),
            )
            for name, storage in request.files.items()
        }
        if any(upload.size > settings.upload_max_bytes for upload in files.values()):
            raise RequestEntityTooLarge()
        return operations_with_files(request.form, files, max_files=1), files
    if request.mimetype != "application/json":
        raise BadUserInput(
            "Send GraphQL as application/json (or multipart/form-data for an upload)."
        )
    if (request.content_length or 0) > settings.graphql_max_query_bytes * 4:
        raise RequestEntityTooLarge()
    payload = request.get_json(silent=True)
    if payload is None:
        raise BadUserInput("The body is not valid JSON.")
    return payload, {}


def _size_of(stream: Any) -> int:
    position = stream.tell()
    stream.seek(0, 2)
    size = int(stream.tell())
    stream.seek(position)
    return size


def _wants_html(req: Request) -> bool:
    best = req.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def _graphiql(settings: GatewaySettings) -> Response:
    html = (
        get_graphql_ide_html("graphiql")
        .replace("{{query}}", "undefined")
        .replace("{{variables}}", "undefined")
        .replace("{{operation_name}}", "undefined")
        # The portal's CSRF cookie and header, so GraphiQL works with a cookie session.
        .replace(
            'Cookies.get("csrftoken")',
            json.dumps(settings.csrf_cookie_name).join(("Cookies.get(", ")")),
        )
        .replace('"x-csrftoken"', '"X-CSRF-Token"')
    )
    return Response(html, mimetype="text/html")


def _apply_actions(response: Response, actions: dict[str, Any], service: GraphQLService) -> None:
    settings = service.settings
    if "retry_after" in actions:
        response.headers["Retry-After"] = str(actions["retry_after"])
    session_token = actions.get("set_session")
    if session_token:
        common: dict[str, Any] = {
            "max_age": settings.token_ttl_seconds,
            "secure": settings.secure_cookies,
            "samesite": "Lax",
            "path": "/",
        }
        response.set_cookie(settings.session_cookie_name, session_token, httponly=True, **common)
        # Readable by the portal's JavaScript, which echoes it in X-CSRF-Token.
        response.set_cookie(
            settings.csrf_cookie_name,
            service.authenticator.csrf_token(hash_secret(session_token)),
            httponly=False,
            **common,
        )
    if actions.get("clear_session"):
        _clear_session_cookies(response, settings)


def _clear_session_cookies(response: Response, settings: GatewaySettings) -> None:
    for name in (settings.session_cookie_name, settings.csrf_cookie_name):
        response.delete_cookie(name, path="/", secure=settings.secure_cookies, samesite="Lax")


def _as_response(status: int, code: str, message: str) -> OperationResponse:
    return OperationResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status
    )


def _error_response(status: int, code: str, message: str) -> Response:
    return _json(status, _as_response(status, code, message).body)


def _json(status: int, body: Any) -> Response:
    return Response(encode_json(body), status=status, mimetype="application/json")


def encode_json(body: Any) -> bytes:
    """Compact JSON: orjson (a tenth of the standard library's time on a page of packs),
    or the standard library for what orjson refuses (integers past 64 bits)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":")).encode()

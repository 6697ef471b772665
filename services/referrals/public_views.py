"""The public face: ``/r/<code>`` redirects, preview pages and QR codes (no internal token).

``GET``/``HEAD /r/<code>`` is the hot path: :class:`RedirectFastPath` answers it
as plain WSGI in front of Flask (no request context, no per-request hooks), with
the same :func:`answer_link` the Flask view below uses; the Flask view documents
the endpoint and serves it wherever the fast path is not mounted.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, NamedTuple

from flask import Blueprint, Flask, Response, current_app, render_template, request
from jinja2 import Environment

from services.common.internal_auth import public
from services.common.metrics import HTTP_LATENCY, HTTP_REQUESTS
from services.referrals.apidoc import Operation, documented
from services.referrals.codes import is_valid_code
from services.referrals.components import ReferralsComponents, get_components
from services.referrals.packs import PackView
from services.referrals.qr import PNG, SVG, qr_image
from services.referrals.redirect import Outcome, decide_redirect

log = logging.getLogger(__name__)

public_pages = Blueprint("referrals_public", __name__, template_folder="templates")

_NO_STORE = "private, no-store"
_REFERRER_POLICY = "strict-origin-when-cross-origin"
_QR_CACHE = "public, max-age=86400, immutable"
_HTML = "text/html; charset=utf-8"
_STATUS_LINES = {
    200: "200 OK",
    302: "302 Found",
    404: "404 Not Found",
    410: "410 Gone",
    500: "500 Internal Server Error",
}
_REDIRECT_RULE = "/r/<code>"


class LinkAnswer(NamedTuple):
    """Status, headers and body of a ``/r/<code>`` answer (built on every request)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def answer_link(
    components: ReferralsComponents,
    templates: Environment,
    *,
    code: str,
    counted: bool,
    user_agent: str,
    client_ip: str,
) -> LinkAnswer:
    """What ``/r/<code>`` answers; a counted click goes to the click buffer."""
    decision = decide_redirect(
        components.directory,
        components.hasher,
        code=code,
        counted=counted,
        user_agent=user_agent,
        client_ip=client_ip,
    )
    if decision.click is not None:
        components.buffer.add(decision.click)
    common = [("Cache-Control", _NO_STORE), ("Referrer-Policy", _REFERRER_POLICY)]
    if decision.outcome is Outcome.REDIRECT:
        assert decision.location is not None
        return LinkAnswer(
            302, [("Location", decision.location), ("Content-Length", "0"), *common], b""
        )
    if decision.outcome is Outcome.PREVIEW:
        assert decision.pack is not None
        assert decision.location is not None
        encoded = _preview_body(
            templates, decision.pack, components.short_url(code), decision.location
        )
        status = 200
    elif decision.outcome is Outcome.GONE:
        encoded = _status_page_body(
            templates, "This link has ended", "The content it pointed to is no longer shared."
        )
        status = 410
    else:
        encoded = _status_page_body(
            templates, "Link not found", "Check the address: no link has this code."
        )
        status = 404
    headers = [("Content-Type", _HTML), ("Content-Length", str(len(encoded))), *common]
    headers.append(("X-Robots-Tag", "noindex"))
    return LinkAnswer(status, headers, encoded)


@lru_cache(maxsize=4096)
def _preview_body(
    templates: Environment, pack: PackView, short_url: str, destination: str
) -> bytes:
    """A link's card for preview crawlers, rendered once per link and version of its pack.

    Preview crawlers are a sizeable share of a shared link's fetches (every chat that
    shows the link fetches it), and rendering the page cost about as much as the rest of
    the redirect. A pack that changes is a new ``PackView``, so a new key.
    """
    page = templates.get_template("preview.html")
    return page.render(pack=pack, short_url=short_url, destination=destination).encode()


@lru_cache(maxsize=8)
def _status_page_body(templates: Environment, heading: str, message: str) -> bytes:
    """The 404 and 410 pages never vary: rendered once per app, not on every unknown code."""
    page = templates.get_template("link_status.html")
    return page.render(heading=heading, message=message).encode()


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class RedirectFastPath:
    """Answers ``GET``/``HEAD /r/<code>`` before Flask; passes everything else on."""

    def __init__(self, inner: WsgiApp, app: Flask, components: ReferralsComponents) -> None:
        self.inner = inner
        self.templates = app.jinja_env
        self.components = components
        self.service = components.settings.service_name
        self._counters: dict[tuple[str, int], Any] = {}
        self._latency = HTTP_LATENCY.labels(self.service, _REDIRECT_RULE)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO") or ""
        method: str = environ.get("REQUEST_METHOD") or ""
        if not path.startswith("/r/") or method not in ("GET", "HEAD") or "/" in path[3:]:
            return self.inner(environ, start_response)
        started = time.perf_counter()
        try:
            answer = answer_link(
                self.components,
                self.templates,
                code=path[3:],
                counted=method == "GET",
                user_agent=environ.get("HTTP_USER_AGENT") or "",
                client_ip=environ.get("REMOTE_ADDR") or "",
            )
        except Exception:
            log.exception("redirect of %r failed", path)
            answer = LinkAnswer(500, [("Content-Type", "text/plain"), ("Content-Length", "0")], b"")
        start_response(_STATUS_LINES[answer.status], answer.headers)
        self._count(method, answer.status, time.perf_counter() - started)
        return [] if method == "HEAD" else [answer.body]

    def _count(self, method: str, status: int, seconds: float) -> None:
        counter = self._counters.get((method, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(self.service, _REDIRECT_RULE, method, str(status))
            self._counters[(method, status)] = counter
        counter.inc()
        self._latency.observe(seconds)


@public_pages.route(_REDIRECT_RULE, methods=["GET", "HEAD"])
@public
@documented(
    Operation(
        summary="Redirect a person (302), show a preview crawler the pack's card (200); "
        "404 for an unknown code, 410 once the pack is archived or expired.",
        responses={302: None, 200: None, 404: None, 410: None},
        public=True,
        content_type="text/html",
        tags=("redirect",),
    )
)
def follow_link(code: str) -> Response:
    answer = answer_link(
        get_components(),
        current_app.jinja_env,
        code=code,
        counted=request.method == "GET",
        user_agent=request.headers.get("User-Agent", ""),
        client_ip=request.remote_addr or "",
    )
    response = Response(answer.body, status=answer.status)
    for name, value in answer.headers:
        response.headers[name] = value
    response.autocorrect_location_header = False
    return response


def _status_page(status: int, heading: str, message: str) -> Response:
    body = render_template("link_status.html", heading=heading, message=message)
    return Response(body, status=status, mimetype="text/html")


def _qr(code: str, kind: str, mimetype: str) -> Response:
    components = get_components()
    if not is_valid_code(code) or components.directory.link(code) is None:
        response = _status_page(404, "Link not found", "No link has this code.")
        response.headers["Cache-Control"] = _NO_STORE
        return response
    image = qr_image(components.short_url(code), kind)
    response = Response(image, mimetype=mimetype)
    response.headers["Cache-Control"] = _QR_CACHE
    response.set_etag(hashlib.sha256(image).hexdigest()[:32])
    response.make_conditional(request)
    return response


@public_pages.route("/r/<code>/qr.svg", methods=["GET", "HEAD"])
@public
@documented(
    Operation(
        summary="The link's QR code as SVG (cached).",
        responses={200: None, 304: None, 404: None},
        public=True,
        content_type=SVG,
        tags=("redirect",),
    )
)
def qr_svg(code: str) -> Response:
    return _qr(code, "svg", SVG)


@public_pages.route("/r/<code>/qr.png", methods=["GET", "HEAD"])
@public
@documented(
    Operation(
        summary="The link's QR code as PNG (cached).",
        responses={200: None, 304: None, 404: None},
        public=True,
        content_type=PNG,
        tags=("redirect",),
    )
)
def qr_png(code: str) -> Response:
    return _qr(code, "png", PNG)

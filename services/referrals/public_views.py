"""The public face: ``/r/<code>`` redirects, preview pages and QR codes (no internal token)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, render_template, request

from services.common.internal_auth import public
from services.referrals.apidoc import Operation, documented
from services.referrals.codes import is_valid_code
from services.referrals.components import get_components
from services.referrals.qr import PNG, SVG, qr_image
from services.referrals.redirect import Outcome, decide_redirect

public_pages = Blueprint("referrals_public", __name__, template_folder="templates")

_NO_STORE = "private, no-store"
_REFERRER_POLICY = "strict-origin-when-cross-origin"
_QR_CACHE = "public, max-age=86400, immutable"


@public_pages.route("/r/<code>", methods=["GET", "HEAD"])
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
    components = get_components()
    decision = decide_redirect(
        components.directory,
        components.hasher,
        code=code,
        counted=request.method == "GET",
        user_agent=request.headers.get("User-Agent", ""),
        client_ip=request.remote_addr or "",
    )
    if decision.click is not None:
        components.buffer.add(decision.click)
    if decision.outcome is Outcome.REDIRECT:
        assert decision.location is not None
        response = Response(status=302)
        response.headers["Location"] = decision.location
    elif decision.outcome is Outcome.PREVIEW:
        response = Response(
            render_template(
                "preview.html",
                pack=decision.pack,
                short_url=components.short_url(code),
                destination=decision.location,
            ),
            mimetype="text/html",
        )
    elif decision.outcome is Outcome.GONE:
        response = _status_page(
            410, "This link has ended", "The content it pointed to is no longer shared."
        )
    else:
        response = _status_page(404, "Link not found", "Check the address: no link has this code.")
    response.headers["Cache-Control"] = _NO_STORE
    response.headers["Referrer-Policy"] = _REFERRER_POLICY
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

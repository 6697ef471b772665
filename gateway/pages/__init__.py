"""The fan portal (``/``) and the marketer console (``/console``): static pages over GraphQL.

The pages are plain HTML, CSS and JavaScript modules served from this package;
everything they show comes from ``POST /graphql`` with the browser's cookie
session, so they hold no privileges the public API does not grant.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response

PAGES_DIR = Path(__file__).parent
STATIC_DIR = PAGES_DIR / "static"
TEMPLATES_DIR = PAGES_DIR / "templates"

# Scripts and styles only from the gateway itself (no CDN, no inline code);
# images also from the content service's media URLs, which live on another origin.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: http: https:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)

pages_blueprint = Blueprint(
    "pages",
    __name__,
    static_folder=str(STATIC_DIR),
    static_url_path="/pages/static",
)


def _page(filename: str) -> Response:
    # The shells are a few hundred bytes; read whole, they leave no file handle behind.
    response = Response((TEMPLATES_DIR / filename).read_bytes(), mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@pages_blueprint.route("/", methods=["GET"])
def portal() -> Response:
    """The fan portal: one page, its views chosen by the URL fragment."""
    return _page("portal.html")


@pages_blueprint.route("/console", methods=["GET"])
@pages_blueprint.route("/console/", methods=["GET"])
def console() -> Response:
    """The marketer console: one page, its views chosen by the URL fragment."""
    return _page("console.html")


@pages_blueprint.after_request
def _protect(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def register_pages(app: Flask) -> None:
    """Serve the portal and the console from ``app`` (the gateway)."""
    app.register_blueprint(pages_blueprint)

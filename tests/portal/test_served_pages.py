"""The gateway serves the portal and the console itself: no CDN, strict headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.gateway.conftest import build_gateway, gateway_settings

ASSET = re.compile(r'(?:src|href)="([^"#]+)"')


def status_of(client: FlaskClient, path: str) -> int:
    with client.get(path) as response:
        return response.status_code


@pytest.fixture
def client(database_url: str, redis_url: str) -> Iterator[FlaskClient]:
    app = build_gateway(gateway_settings(database_url, redis_url))
    yield app.test_client()
    app.extensions["fanfare"].db.dispose()


@pytest.mark.parametrize("path", ["/", "/console"])
def test_each_page_and_everything_it_loads_comes_from_the_gateway(
    client: FlaskClient, path: str
) -> None:
    # when a browser asks for the page
    page = client.get(path)

    # then it is HTML that allows scripts from the gateway only and cannot be framed
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"

    # and every script and stylesheet it names is served by the gateway itself
    assets = ASSET.findall(page.get_data(as_text=True))
    assert assets
    for asset in assets:
        assert asset.startswith("/"), asset
        assert status_of(client, asset) == 200, asset


def test_the_modules_a_page_imports_are_served_too(client: FlaskClient) -> None:
    # given the portal's and the console's scripts
    for entry in ("portal.js", "console.js"):
        with client.get(f"/pages/static/js/{entry}") as response:
            script = response.get_data(as_text=True)

        # then each module they import is there, and none comes from another origin
        for module in re.findall(r'from "\./([\w.]+)"', script):
            assert status_of(client, f"/pages/static/js/{module}") == 200, module
        assert "http://" not in script.replace("http://www.w3.org/2000/svg", "")
        assert "https://cdn" not in script

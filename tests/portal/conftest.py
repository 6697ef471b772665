"""Fixtures for the browser tests: the assembled platform, the demo, and Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from fanfare.demo import DemoReport, seed_demo
from tests.portal.stack import PortalStack, running_stack
from tests.support.postgres import PostgresHarness
from tests.support.smtp import SmtpServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Browser tests are skipped only where Debian's chromium is absent (CI installs it).
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def stack(
    postgres: PostgresHarness,
    redis_server_url: str,
    smtp_server: SmtpServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PortalStack]:
    """The four apps and three workers, for the tests of one module."""
    databases = {
        name: postgres.create_database(f"portal_{name}")
        for name in ("gateway", "content", "referrals", "rewards")
    }
    try:
        with running_stack(
            databases=databases,
            redis_server_url=redis_server_url,
            smtp_url=smtp_server.url,
            base=tmp_path_factory.mktemp("portal-stack"),
        ) as platform:
            yield platform
    finally:
        for url in databases.values():
            postgres.drop_database(url)


@pytest.fixture(scope="module")
def demo(stack: PortalStack) -> DemoReport:
    """The demo, seeded once per module through the platform's APIs."""
    return seed_demo(
        gateway_url=stack.gateway_url,
        rewards_url=stack.urls["rewards"],
        internal_token_secret=stack.envs["gateway"]["INTERNAL_TOKEN_SECRET"],
        gateway_database_url=stack.envs["gateway"]["DATABASE_URL"],
        ready_timeout=60,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()

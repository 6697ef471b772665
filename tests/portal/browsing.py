"""Helpers for browser tests: contexts that look like people, screenshots, axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, BrowserContext, Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"

# Headless Chromium names itself "HeadlessChrome", which the referrals service rightly
# counts as a bot; people's browsers say this instead.
DESKTOP_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)
PHONE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)
PHONE_VIEWPORT = {"width": 390, "height": 844}
DESKTOP_VIEWPORT = {"width": 1280, "height": 900}
SERIOUS = frozenset({"serious", "critical"})

_axe = Axe()


def person(browser: Browser, base_url: str, *, phone: bool = False) -> BrowserContext:
    """A browser context as a person would have it, on a desktop or a phone."""
    context = browser.new_context(
        base_url=base_url,
        user_agent=PHONE_USER_AGENT if phone else DESKTOP_USER_AGENT,
        viewport=PHONE_VIEWPORT if phone else DESKTOP_VIEWPORT,  # type: ignore[arg-type]
        is_mobile=phone,
        has_touch=phone,
    )
    context.set_default_timeout(15_000)
    return context


def screenshot(page: Page, name: str) -> Path:
    """Write a full-page screenshot to test-artifacts/portal/<name>.png, to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    results = _axe.run(page)
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]

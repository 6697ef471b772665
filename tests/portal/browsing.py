"""Helpers for browser tests: contexts that look like people, signing up and logging in,
screenshots, axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, BrowserContext, Page, expect

from fanfare.demo import DemoReport

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
PASSWORD = "a long fan password"

_axe = Axe()


def person(
    browser: Browser, base_url: str, *, phone: bool = False, width: int | None = None
) -> BrowserContext:
    """A browser context as a person would have it, on a desktop or a phone (``width`` pixels
    wide where given: 375 is the narrowest phone the pages are made for)."""
    viewport = dict(PHONE_VIEWPORT if phone else DESKTOP_VIEWPORT)
    if width is not None:
        viewport["width"] = width
    context = browser.new_context(
        base_url=base_url,
        user_agent=PHONE_USER_AGENT if phone else DESKTOP_USER_AGENT,
        viewport=viewport,  # type: ignore[arg-type]
        is_mobile=phone,
        has_touch=phone,
    )
    context.set_default_timeout(15_000)
    return context


def slug_of(title: str) -> str:
    """The address of a pack in the portal, as content makes it from the title."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def sign_up(page: Page, name: str, email: str) -> None:
    """Sign up in the portal as a fan and wait until the portal greets them."""
    page.goto("/#/signup")
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name=f"Log out ({name})")).to_be_visible()


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill the log-in form the page shows and send it."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_in_to_console(page: Page, demo: DemoReport) -> None:
    """Log in to the console as the demo's marketer and wait for the packs list."""
    assert demo.marketer_password is not None
    page.goto("/console")
    log_in(page, demo.marketer_email, demo.marketer_password)
    expect(page.get_by_role("heading", name="Packs", exact=True)).to_be_visible()


def new_fan(
    browser: Browser,
    base_url: str,
    name: str,
    email: str,
    *,
    phone: bool = False,
    width: int | None = None,
    clipboard: bool = False,
) -> tuple[BrowserContext, Page]:
    """A fan just signed up in a browser of their own; ``clipboard``: it lets the portal copy
    to (and the test read) the clipboard."""
    context = person(browser, base_url, phone=phone, width=width)
    if clipboard:
        context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_up(page, name, email)
    return context, page


def marketer_in_console(
    browser: Browser,
    base_url: str,
    demo: DemoReport,
    *,
    phone: bool = False,
    width: int | None = None,
) -> tuple[BrowserContext, Page]:
    """The demo's marketer, logged in to the console in a browser of their own."""
    context = person(browser, base_url, phone=phone, width=width)
    page = context.new_page()
    log_in_to_console(page, demo)
    return context, page


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

"""Focused page tests: server errors beside fields, outages kept to their section,
keyboard use, partner keys, the demo, and axe-core's accessibility check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect

from fanfare.cli import main
from fanfare.demo import DEMO_PACKS, DemoReport, seed_demo
from fanfare.embedded import free_port
from tests.portal.browsing import (
    PASSWORD,
    log_in_to_console,
    marketer_in_console,
    new_fan,
    person,
    screenshot,
    serious_violations,
    sign_up,
)
from tests.portal.conftest import needs_chromium
from tests.portal.stack import PortalStack, served

pytestmark = [pytest.mark.browser, needs_chromium]

INSIDER_PACK = next(pack for pack in DEMO_PACKS if pack.min_tier == "INSIDER")
OPEN_PACK = DEMO_PACKS[0]


def tab_to(page: Page, text: str, presses: int = 40) -> None:
    """Press Tab until the element with ``text`` has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"{text!r} cannot be reached with Tab")


def error_of(page: Page, label: str) -> str:
    """The error message shown inside the field labelled ``label``."""
    field = page.locator(".field", has=page.get_by_label(label, exact=True))
    return field.locator(".field-error").inner_text()


@contextmanager
def gateway_without_rewards(stack: PortalStack) -> Iterator[str]:
    """Another gateway on the same users, whose rewards service is not running."""
    with served() as server:
        server.app.target = stack.gateway_with(rewards_url=f"http://127.0.0.1:{free_port()}")
        yield server.url


def test_forms_show_the_servers_errors_beside_the_fields_they_concern(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    context = person(browser, stack.gateway_url)
    page = context.new_page()

    # given a fan account
    sign_up(page, "Ada", "ada@fans.example")
    page.get_by_role("button", name="Log out (Ada)").click()
    expect(page.get_by_role("heading", name="Share the stories you love")).to_be_visible()

    # when someone signs up again with that email and a short password
    page.goto("/#/signup")
    page.get_by_label("Display name").fill("Ada again")
    page.get_by_label("Email").fill("ada@fans.example")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()

    # then the password's error sits under the password field, which is marked invalid
    expect(page.locator(".field-error")).to_have_count(1)
    assert "at least 8 characters" in error_of(page, "Password")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Password")).to_be_focused()

    # when the password is fixed, the email's error takes its place beside the email
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".field-error")).to_have_count(1)
    assert "already exists" in error_of(page, "Email")
    screenshot(page, "portal-signup-errors")

    # when a marketer creates a pack whose links would lead to a site not allowed
    console = context.new_page()
    log_in_to_console(console, demo)
    console.get_by_role("link", name="New pack").first.click()
    console.get_by_label("Title").fill("A pack with a bad destination")
    console.get_by_label("Summary").fill("Summary.")
    console.get_by_label("Behind-the-scenes story").fill("Story.")
    console.get_by_label("Where links lead").fill("https://elsewhere.test/page")
    console.get_by_role("button", name="Create draft").click()

    # then the error names the allowed hosts beside that field, and nothing is created
    expect(console.locator(".field-error")).to_have_count(1)
    assert "example.com" in error_of(console, "Where links lead")
    expect(console.get_by_role("heading", name="New pack", exact=True)).to_be_visible()
    screenshot(console, "console-pack-errors")

    # when the destination is fixed, the draft is made; and an edit is kept
    console.get_by_label("Where links lead").fill("https://shop.example.com/page")
    console.get_by_role("button", name="Create draft").click()
    expect(console.locator("#pack-status")).to_have_text("Draft")
    console.get_by_label("Summary").fill("A better summary.")
    console.get_by_role("button", name="Save changes").click()
    expect(console.locator(".saved")).to_have_text("Saved.")
    console.reload()
    expect(console.get_by_label("Summary")).to_have_value("A better summary.")
    expect(console.get_by_text("Publishing needs at least one image")).to_be_visible()
    context.close()


def test_fanfare_seed_demo_says_what_exists_without_secrets(
    stack: PortalStack, demo: DemoReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the platform's settings in the environment, as on its servers
    for name in ("DATABASE_URL", "REWARDS_URL", "INTERNAL_TOKEN_SECRET", "FANFARE_ENV"):
        monkeypatch.setenv(name, stack.envs["gateway"][name])

    # when `fanfare seed-demo` runs after the demo was seeded
    result = CliRunner().invoke(main, ["seed-demo", "--gateway-url", stack.gateway_url])

    # then it adds nothing and says so, without a password or a key
    assert result.exit_code == 0, result.output
    assert "marketer@fanfare.local (created earlier" in result.output
    assert "'Demo partner shop' exists" in result.output
    assert "Packs created now: 0; published now: 0" in result.output
    assert demo.partner_key_secret
    assert demo.partner_key_secret not in result.output


def test_a_service_that_is_down_costs_only_its_sections(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a fan signed in on a gateway whose rewards service is down
    with gateway_without_rewards(stack) as gateway_url:
        context, page = new_fan(browser, gateway_url, "Grace", "grace@fans.example")

        # when they open their page
        page.goto("/#/me")

        # then the points section says rewards are unavailable, and their links still show
        standing = page.get_by_role("region", name="Points and tier")
        expect(standing).to_contain_text("Rewards and points is unavailable right now")
        expect(page.get_by_role("heading", name="My links")).to_be_visible()
        screenshot(page, "portal-me-rewards-down")

        # and packs still browse, while the catalog says it is unavailable
        page.goto("/#/")
        expect(page.get_by_role("link", name=OPEN_PACK.title)).to_be_visible()
        page.goto("/#/rewards")
        expect(page.locator(".notice.unavailable").first).to_be_visible()
        context.close()


def test_a_fan_shares_with_the_keyboard_alone(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    context, page = new_fan(browser, stack.gateway_url, "Kay", "kay@fans.example", clipboard=True)

    # given the list of packs, freshly loaded, and the skip link as the first stop
    page.goto("/#/")
    page.reload()
    expect(page.get_by_role("link", name=OPEN_PACK.title)).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")

    # when the fan tabs to the pack and opens it, then tabs to "Copy my link" and presses Enter
    tab_to(page, OPEN_PACK.title)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=OPEN_PACK.title, level=1)).to_be_focused()
    tab_to(page, "Copy my link")
    page.keyboard.press("Enter")

    # then their link is copied, and the focus ring is visible on the button
    expect(page.locator(".share-status")).to_contain_text("copied")
    assert page.evaluate("navigator.clipboard.readText()").startswith(stack.urls["referrals"])
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    context.close()


def test_a_marketer_creates_a_partner_key_sees_its_secret_once_and_revokes_it(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    context, page = marketer_in_console(browser, stack.gateway_url, demo)
    page.get_by_role("link", name="Partner API keys").click()

    # when a key is asked for without a scope, the refusal sits beside the scopes
    page.get_by_label("What the key is for").fill("Checkout of shop.example")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator(".field-error, .form-error")).to_have_count(1)
    expect(page.locator("[data-field=scopes] .field-error")).to_be_visible()

    # when it is made with a scope
    page.get_by_label("Record and reverse conversions").check()
    page.get_by_role("button", name="Create key").click()

    # then its secret is shown once, and the key is listed by its prefix
    secret = page.locator(".api-secret").inner_text()
    assert secret.startswith("ffk_")
    row = page.locator("tr", has_text="Checkout of shop.example")
    expect(row).to_contain_text("Conversions Write")
    screenshot(page, "console-keys")
    page.reload()
    expect(page.locator(".api-secret")).to_have_count(0)
    expect(page.get_by_text(secret)).to_have_count(0)

    # when it is revoked
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke Checkout of shop.example").click()

    # then it is listed as revoked, and the focus is on that news, not back at the top
    expect(row).to_contain_text("Revoked")
    expect(page.locator(":focus")).to_contain_text("Revoked")
    context.close()


def test_the_demo_is_seeded_once_and_its_insider_pack_is_locked_for_a_new_fan(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given the demo seeded once (the fixture), when it is seeded again
    again = seed_demo(
        gateway_url=stack.gateway_url,
        rewards_url=stack.urls["rewards"],
        internal_token_secret=stack.envs["gateway"]["INTERNAL_TOKEN_SECRET"],
        gateway_database_url=stack.envs["gateway"]["DATABASE_URL"],
    )

    # then the first run made everything, and the second nothing, printing no secret
    assert demo.marketer_password
    assert demo.partner_key_secret
    assert len(demo.packs_published) == len(DEMO_PACKS)
    assert demo.rules_added
    assert demo.catalog_added
    assert demo.codes_added == 50
    assert (again.packs_created, again.packs_published, again.rules_added) == ([], [], [])
    assert (again.catalog_added, again.codes_added) == ([], 0)
    assert again.marketer_password is None
    assert again.partner_key_secret is None
    assert "(created earlier" in again.lines()[0]

    # and a new fan sees the demo's packs, the insider one locked with what unlocks it
    context, page = new_fan(browser, stack.gateway_url, "Nia", "nia@fans.example", phone=True)
    page.goto("/#/")
    for pack in DEMO_PACKS:
        expect(page.get_by_role("link", name=pack.title)).to_be_visible()
    insider = page.locator(".pack-card", has_text=INSIDER_PACK.title)
    expect(insider).to_contain_text("Locked: for Insider fans and above. Earn 500 lifetime points")

    # and filtering by purpose shows only that purpose
    page.get_by_label("Purpose").select_option("LAUGH")
    page.get_by_role("button", name="Show packs").click()
    expect(page.locator(".pack-card")).to_have_count(
        sum(1 for pack in DEMO_PACKS if pack.purpose == "LAUGH")
    )
    context.close()


PORTAL_PAGES = ("#/", "#/leaderboard", "#/me", "#/rewards", "#/account")


def test_the_main_pages_pass_axe_core_without_serious_violations(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}

    # given an anonymous visitor, a signed-in fan on a phone, and a marketer
    visitor = person(browser, stack.gateway_url).new_page()
    visitor.goto("/")
    expect(visitor.get_by_role("heading", name="Share the stories you love")).to_be_visible()
    found["welcome"] = serious_violations(visitor)
    screenshot(visitor, "portal-welcome")
    visitor.get_by_role("link", name="Sign up").first.click()
    expect(visitor.get_by_role("heading", name="Join Fanfare")).to_be_visible()
    found["sign up"] = serious_violations(visitor)

    fan_context, fan = new_fan(browser, stack.gateway_url, "Lin", "lin@fans.example", phone=True)
    for hash_path in PORTAL_PAGES:
        fan.goto(f"/{hash_path}")
        fan.wait_for_load_state("networkidle")
        expect(fan.locator(".loading")).to_have_count(0)
        found[f"portal {hash_path}"] = serious_violations(fan)
    fan.get_by_role("link", name="Packs").first.click()
    fan.get_by_role("link", name=OPEN_PACK.title).click()
    expect(fan.get_by_role("heading", name=OPEN_PACK.title, level=1)).to_be_visible()
    found["portal pack"] = serious_violations(fan)
    screenshot(fan, "portal-pack-phone")

    marketer_context, console = marketer_in_console(browser, stack.gateway_url, demo)
    found["console packs"] = serious_violations(console)
    console.get_by_role("link", name=OPEN_PACK.title).click()
    expect(console.get_by_role("heading", name="Funnel")).to_be_visible()
    found["console pack"] = serious_violations(console)
    screenshot(console, "console-pack-funnel")
    console.get_by_role("link", name="Partner API keys").click()
    expect(console.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
    found["console keys"] = serious_violations(console)

    # then none of them has a serious or critical violation
    assert {page: issues for page, issues in found.items() if issues} == {}
    for context in (visitor.context, fan_context, marketer_context):
        context.close()

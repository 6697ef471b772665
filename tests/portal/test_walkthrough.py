"""The portal and the console walked as their users meet them, on a desktop and a phone:
no page errors, no raw values, links that bring a visitor back, captions copied with the
fan's own link, locked packs that say what unlocks them, and a fan's account from
preference to deletion."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect

from fanfare.demo import DEMO_PACKS, DemoReport
from tests.portal.browsing import person, screenshot, serious_violations
from tests.portal.conftest import needs_chromium
from tests.portal.stack import PortalStack
from tests.portal.test_pages import INSIDER_PACK, PASSWORD, log_in_to_console, sign_up

pytestmark = [pytest.mark.browser, needs_chromium]

CAPTIONED_PACK = next(pack for pack in DEMO_PACKS if "INSTAGRAM" in pack.captions)
PORTAL_VIEWS = (
    "#/",
    "#/me",
    "#/rewards",
    "#/leaderboard",
    "#/leaderboard?period=ALL_TIME",
    "#/account",
)
CONSOLE_VIEWS = (
    "#/packs",
    "#/packs/new",
    "#/rules",
    "#/code-banks",
    "#/queues",
    "#/leaderboard",
    "#/keys",
)
# Text a person should never read: values the page failed to turn into words.
RAW_VALUES = re.compile(r"\bnull\b|\bundefined\b|\bNaN\b|\[object \w+\]")


def slug_of(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@dataclass
class Trouble:
    """What went wrong on a page as a person browsed it."""

    seen: list[str] = field(default_factory=list)
    inaccessible: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def watch(self, page: Page) -> None:
        page.on("console", self._logged)
        page.on("pageerror", lambda error: self.seen.append(f"script error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)

    def _logged(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console: {message.text}")

    def _failed(self, request: Request) -> None:
        failure = request.failure or ""
        # A navigation away cancels images still loading; that is the browser, not the page.
        if "ERR_ABORTED" not in failure:
            self.seen.append(f"request failed: {request.url} {failure}")

    def _answered(self, response: Response) -> None:
        if response.status >= 400:
            self.seen.append(f"HTTP {response.status}: {response.url}")

    def look_at(self, page: Page, where: str, *, phone: bool) -> None:
        """Wait for the view to settle, then note raw values and (on a phone) sideways scrolling."""
        page.wait_for_load_state("networkidle")
        expect(page.locator("main .loading")).to_have_count(0)
        text = page.locator("body").inner_text()
        raw = RAW_VALUES.search(text)
        if raw:
            context = text[max(0, raw.start() - 60) : raw.end()]
            self.seen.append(f"{where}: shows {raw.group(0)!r} in …{context}")
        if phone:
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 1:
                self.seen.append(f"{where}: {wide}px wider than the phone's screen")
        violations = serious_violations(page)
        if violations:
            self.inaccessible[where] = violations


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_every_page_loads_without_errors_raw_values_or_sideways_scrolling(
    stack: PortalStack, demo: DemoReport, browser: Browser, phone: bool
) -> None:
    trouble = Trouble()
    device = "phone" if phone else "desktop"

    # given a visitor, then a fan, on a desktop or a phone
    fan_context = person(browser, stack.gateway_url, phone=phone)
    fan = fan_context.new_page()
    trouble.watch(fan)
    for view in ("/", "/#/signup", "/#/login"):
        fan.goto(view)
        trouble.look_at(fan, f"visitor {view}", phone=phone)
    sign_up(fan, f"Walker {device}", f"walker-{device}@fans.example")

    # when the fan opens every view and every demo pack
    titles = set()
    for view in PORTAL_VIEWS:
        fan.goto(f"/{view}")
        trouble.look_at(fan, f"portal {view}", phone=phone)
        titles.add(fan.title())
    for pack in DEMO_PACKS:
        fan.goto(f"/#/packs/{slug_of(pack.title)}")
        expect(fan.get_by_role("heading", name=pack.title, level=1)).to_be_visible()
        trouble.look_at(fan, f"pack {pack.title}", phone=phone)
    screenshot(fan, f"walk-pack-{device}")

    # and a marketer opens every view of the console and a pack's page with its funnel
    marketer_context = person(browser, stack.gateway_url, phone=phone)
    console = marketer_context.new_page()
    trouble.watch(console)
    log_in_to_console(console, demo)
    for view in CONSOLE_VIEWS:
        console.goto(f"/console{view}")
        trouble.look_at(console, f"console {view}", phone=phone)
    console.goto("/console#/packs")
    console.get_by_role("link", name=DEMO_PACKS[0].title).click()
    expect(console.get_by_role("heading", name="Funnel")).to_be_visible()
    trouble.look_at(console, "console pack", phone=phone)
    # (and the funnel chart's labels are drawn at a readable size on either screen)
    smallest_label = console.evaluate(
        "Math.min(...[...document.querySelectorAll('.funnel-chart text')]"
        ".map((label) => label.getBoundingClientRect().height))"
    )
    assert smallest_label >= 12
    screenshot(console, f"walk-console-pack-{device}")

    # then no page failed a request, logged an error, showed a raw value or scrolled sideways
    assert trouble.seen == []
    # and axe-core finds no serious or critical accessibility violation on any of them
    assert trouble.inaccessible == {}

    # and each view names itself in the browser's tab (both leaderboard periods are one view)
    assert len(titles) == len(PORTAL_VIEWS) - 1
    assert "Rewards · Fanfare" in titles
    assert console.title() == f"{DEMO_PACKS[0].title} · Fanfare console"
    fan_context.close()
    marketer_context.close()


def test_a_visitor_sent_a_pack_comes_back_to_it_after_logging_in(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a fan with an account, logged out, who is sent a pack's page
    context = person(browser, stack.gateway_url, phone=True)
    page = context.new_page()
    sign_up(page, "Rui", "rui@fans.example")
    page.get_by_role("button", name="Log out (Rui)").click()
    expect(page.locator("main").get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"/#/packs/{slug_of(CAPTIONED_PACK.title)}")

    # then the portal says why it asks them to log in
    expect(
        page.get_by_text("Log in or sign up to see this pack; you will come back to it.")
    ).to_be_visible()

    # when they log in from there
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill("rui@fans.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # then they are on that pack, not the list of packs
    expect(page.get_by_role("heading", name=CAPTIONED_PACK.title, level=1)).to_be_visible()
    assert page.url.endswith(f"#/packs/{slug_of(CAPTIONED_PACK.title)}")

    # and logging out and in from the home page lands on the packs list, as before
    page.get_by_role("button", name="Log out (Rui)").click()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill("rui@fans.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Stories worth sharing")).to_be_visible()
    context.close()


def test_a_fan_copies_a_caption_with_their_own_link_for_that_network(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    context = person(browser, stack.gateway_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_up(page, "Ines", "ines@fans.example")

    # given a pack with an Instagram caption (Instagram has no share link to open)
    page.goto(f"/#/packs/{slug_of(CAPTIONED_PACK.title)}")
    captions = page.locator("section", has=page.get_by_role("heading", name="Captions"))
    expect(captions).to_contain_text(CAPTIONED_PACK.captions["INSTAGRAM"])

    # when the fan copies the Instagram caption with their link
    copy = page.get_by_role("button", name="Copy with my link (Instagram)")
    copy.click()

    # then the clipboard holds the caption, its disclosure and the fan's own short link
    expect(captions.locator("dd", has=copy).locator(".caption-status")).to_have_text(
        "Copied with your link; paste it in your post."
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(CAPTIONED_PACK.captions["INSTAGRAM"])
    short_url = copied.rsplit(" ", 1)[1]
    assert short_url.startswith(f"{stack.urls['referrals']}/r/")
    assert serious_violations(page) == []

    # and after a reload their links list that Instagram link, and the share is counted
    page.goto("/#/me")
    page.reload()
    row = page.locator("tr", has_text=short_url)
    expect(row).to_contain_text("Instagram")
    expect(page.locator(".stats dt:text-is('Shares') + dd")).to_have_text("1")
    context.close()


def test_a_locked_pack_says_what_unlocks_it_and_shows_no_empty_story(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a new fan on a phone
    context = person(browser, stack.gateway_url, phone=True)
    page = context.new_page()
    sign_up(page, "Ola", "ola@fans.example")

    # when they open the insider pack
    page.goto(f"/#/packs/{slug_of(INSIDER_PACK.title)}")
    expect(page.get_by_role("heading", name=INSIDER_PACK.title, level=1)).to_be_visible()

    # then it says what unlocks it, links to their points, and offers no empty story or sharing
    lock = page.locator(".notice.lock")
    expect(lock).to_contain_text("Locked: for Insider fans and above. Earn 500 lifetime points")
    expect(page.get_by_role("heading", name="Behind the scenes")).to_have_count(0)
    expect(page.get_by_role("button", name="Copy my link")).to_have_count(0)
    lock.get_by_role("link", name="See my points").click()
    expect(page.get_by_role("heading", name="Points and tier")).to_be_visible()
    context.close()


def test_a_fan_keeps_a_preference_exports_their_data_and_deletes_their_account(
    stack: PortalStack, demo: DemoReport, browser: Browser, tmp_path: Path
) -> None:
    context = person(browser, stack.gateway_url)
    page = context.new_page()
    sign_up(page, "Teo", "teo@fans.example")

    # given the fan asks for handwritten notes under a new name
    page.get_by_role("link", name="Account").click()
    page.get_by_label("Display name").fill("Teodor")
    page.get_by_label("A handwritten note by post").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    # then after a reload the choice and the name are kept
    page.reload()
    expect(page.get_by_label("A handwritten note by post")).to_be_checked()
    expect(page.get_by_role("button", name="Log out (Teodor)")).to_be_visible()

    # when they export their data, they download a JSON file with what was just saved
    page.get_by_role("button", name="Export my data").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="download fanfare-my-data.json").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text())
    assert exported["gateway"]["email"] == "teo@fans.example"
    assert exported["gateway"]["thank_you_channel"] == "HANDWRITTEN_NOTE"

    # when they press "Delete my account" without ticking the box, the page says so beside it
    page.get_by_role("button", name="Delete my account").click()
    delete_form = page.get_by_role("form", name="Delete my account")
    expect(delete_form.locator(".field-error")).to_have_text("Tick the box to confirm.")

    # when they tick it and delete
    page.get_by_label("I understand; delete my account").check()
    page.get_by_role("button", name="Delete my account").click()

    # then the portal says the account is gone, and the old password no longer logs in
    expect(page.locator("main").get_by_text("Your account is deleted.")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/#/login")
    page.get_by_label("Email").fill("teo@fans.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("The email or password is not right.")).to_be_visible()
    context.close()


def test_a_marketer_sees_the_fans_leaderboard_in_the_console_on_a_phone(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a fan who shares a pack, and so earns the share rule's points
    fan_context = person(browser, stack.gateway_url)
    fan_context.grant_permissions(["clipboard-read", "clipboard-write"])
    fan = fan_context.new_page()
    sign_up(fan, "Lea", "lea@fans.example")
    fan.goto(f"/#/packs/{slug_of(CAPTIONED_PACK.title)}")
    fan.get_by_role("button", name="Copy my link").click()
    expect(fan.locator(".share-status")).to_contain_text("copied")

    # when a marketer on a phone opens the console's leaderboard for all time
    marketer_context = person(browser, stack.gateway_url, phone=True)
    console = marketer_context.new_page()
    log_in_to_console(console, demo)
    console.get_by_role("link", name="Leaderboard").click()
    console.get_by_label("Period", exact=True).select_option("ALL_TIME")
    console.get_by_role("button", name="Show").click()

    # then the fan is listed with their points (once rewards has applied the share)
    row = console.locator("table.leaderboard tr", has_text="Lea")
    for _ in range(20):
        if row.count():
            break
        console.wait_for_timeout(500)
        console.reload()
    expect(row.locator("td[data-label='Points']")).to_have_text(re.compile(r"^[1-9]\d*$"))
    leaderboard_link = console.get_by_role("link", name="Leaderboard")
    expect(leaderboard_link).to_have_attribute("aria-current", "page")
    assert console.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert serious_violations(console) == []
    console.get_by_role("link", name="Reward rules").click()
    expect(console.get_by_role("heading", name="Rules", exact=True)).to_be_visible()
    first_rule = console.locator("table.stack tbody tr").first
    expect(first_rule.get_by_role("button", name=re.compile("^Edit"))).to_be_in_viewport()
    assert serious_violations(console) == []
    screenshot(console, "console-rules-phone")
    fan_context.close()
    marketer_context.close()


def test_the_catalog_says_what_an_item_still_needs_and_a_marketer_can_look_too(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a new fan, with no points yet
    context = person(browser, stack.gateway_url, phone=True)
    page = context.new_page()
    sign_up(page, "Uma", "uma@fans.example")

    # when they open the rewards page
    page.get_by_role("link", name="Rewards").click()

    # then each item they cannot afford says how many points it still needs
    cheapest = page.locator("form.catalog-item").first
    expect(cheapest).to_contain_text(re.compile(r"· (\d+) points"))
    cost = int(re.findall(r"· (\d+) points", cheapest.inner_text())[0])
    expect(cheapest.locator(".points-needed")).to_have_text(f"{cost} more points needed.")
    context.close()

    # given a marketer who opens the portal to see what fans see
    trouble = Trouble()
    marketer_context = person(browser, stack.gateway_url)
    console = marketer_context.new_page()
    trouble.watch(console)
    log_in_to_console(console, demo)
    console.get_by_role("link", name="Open the fan portal").click()

    # when they open the rewards page, then it works, says why there is no history,
    # and the portal offers the way back to the console
    console.get_by_role("link", name="Rewards").click()
    expect(console.get_by_role("heading", name="What I redeemed")).to_be_visible()
    expect(console.get_by_text("Redemptions are kept for fans' accounts")).to_be_visible()
    trouble.look_at(console, "portal rewards as a marketer", phone=False)
    assert trouble.seen == []
    console.get_by_role("navigation").get_by_role("link", name="Console").click()
    expect(console.get_by_role("heading", name="Packs", exact=True)).to_be_visible()
    marketer_context.close()

"""The portal and the console walked as their users meet them, on a desktop and a phone:
no page errors, no raw values, links that bring a visitor back, captions copied with the
fan's own link, locked packs that say what unlocks them, and a fan's account from
preference to deletion."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect

from fanfare.demo import DEMO_PACKS, DemoReport, RewardsClient
from tests.portal.browsing import (
    log_in,
    log_in_to_console,
    marketer_in_console,
    new_fan,
    person,
    screenshot,
    serious_violations,
    sign_up,
    slug_of,
)
from tests.portal.conftest import needs_chromium
from tests.portal.stack import PortalStack
from tests.portal.test_pages import INSIDER_PACK
from tests.support.workers import wait_until

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
    context, page = new_fan(browser, stack.gateway_url, "Rui", "rui@fans.example", phone=True)
    page.get_by_role("button", name="Log out (Rui)").click()
    expect(page.locator("main").get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"/#/packs/{slug_of(CAPTIONED_PACK.title)}")

    # then the portal says why it asks them to log in
    expect(
        page.get_by_text("Log in or sign up to see this pack; you will come back to it.")
    ).to_be_visible()

    # when they log in from there
    page.get_by_role("link", name="Log in").first.click()
    log_in(page, "rui@fans.example")

    # then they are on that pack, not the list of packs
    expect(page.get_by_role("heading", name=CAPTIONED_PACK.title, level=1)).to_be_visible()
    assert page.url.endswith(f"#/packs/{slug_of(CAPTIONED_PACK.title)}")

    # and logging out and in from the home page lands on the packs list, as before
    page.get_by_role("button", name="Log out (Rui)").click()
    page.get_by_role("link", name="Log in").first.click()
    log_in(page, "rui@fans.example")
    expect(page.get_by_role("heading", name="Stories worth sharing")).to_be_visible()
    context.close()


def test_a_fan_copies_a_caption_with_their_own_link_for_that_network(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    context, page = new_fan(browser, stack.gateway_url, "Ines", "ines@fans.example", clipboard=True)

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
    context, page = new_fan(browser, stack.gateway_url, "Ola", "ola@fans.example", phone=True)

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
    context, page = new_fan(browser, stack.gateway_url, "Teo", "teo@fans.example")

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
    log_in(page, "teo@fans.example")
    expect(page.get_by_text("The email or password is not right.")).to_be_visible()
    context.close()


def shown_again_until_listed(page: Page, name: str) -> Callable[[], bool]:
    """Press the leaderboard's "Show" (period unchanged) and say whether ``name`` is listed."""

    def listed() -> bool:
        page.get_by_role("button", name="Show").click()
        expect(page.locator("main .loading")).to_have_count(0)
        return page.locator("main table tr", has_text=name).count() > 0

    return listed


def test_leaderboards_show_a_fans_new_points_when_show_is_pressed_again(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a marketer on a phone with the console's leaderboard open for all time
    marketer_context, console = marketer_in_console(browser, stack.gateway_url, demo, phone=True)
    console.get_by_role("link", name="Leaderboard").click()
    console.get_by_label("Period", exact=True).select_option("ALL_TIME")
    console.get_by_role("button", name="Show").click()
    expect(console.locator("main .loading")).to_have_count(0)
    # and a fan with the portal's leaderboard open for all time
    watcher_context, watcher = new_fan(browser, stack.gateway_url, "Wim", "wim@fans.example")
    watcher.goto("/#/leaderboard?period=ALL_TIME")
    expect(watcher.locator("main .loading")).to_have_count(0)

    # when another fan shares a pack, and so earns the share rule's points
    fan_context, fan = new_fan(
        browser, stack.gateway_url, "Lea", "lea@fans.example", clipboard=True
    )
    fan.goto(f"/#/packs/{slug_of(CAPTIONED_PACK.title)}")
    fan.get_by_role("button", name="Copy my link").click()
    expect(fan.locator(".share-status")).to_contain_text("copied")

    # then pressing "Show" again (once rewards has applied the share) lists them, in the
    # console with their points, and in the portal
    wait_until(shown_again_until_listed(console, "Lea"), timeout=60, interval=0.5)
    wait_until(shown_again_until_listed(watcher, "Lea"), timeout=30, interval=0.5)
    row = console.locator("table.leaderboard tr", has_text="Lea")
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
    for context in (fan_context, marketer_context, watcher_context):
        context.close()


def test_the_catalog_says_what_an_item_still_needs_and_a_marketer_can_look_too(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a new fan, with no points yet
    context, page = new_fan(browser, stack.gateway_url, "Uma", "uma@fans.example", phone=True)

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


def test_the_consoles_packs_read_as_cards_on_a_phone_and_as_a_table_on_a_desktop(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a marketer on a phone 375 pixels wide
    phone_context, console = marketer_in_console(
        browser, stack.gateway_url, demo, phone=True, width=375
    )

    # when they look at the packs list
    packs = console.get_by_role("region", name="Packs table")
    first = packs.locator("tr", has=console.get_by_role("link", name=DEMO_PACKS[0].title))
    expect(first).to_be_visible()

    # then neither the page nor the list scrolls sideways
    assert console.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert packs.evaluate("(box) => box.scrollWidth - box.clientWidth") <= 1
    # and every figure of a pack is on the screen, named by its column
    for cell in first.locator("td").all()[1:]:
        box = cell.bounding_box()
        assert box is not None
        assert 0 <= box["x"] <= box["x"] + box["width"] <= 375
    rewards = first.locator("td[data-label='Rewards']")
    label = rewards.evaluate("(cell) => getComputedStyle(cell, '::before').content")
    assert label == '"Rewards"'
    assert serious_violations(console) == []
    screenshot(console, "console-packs-phone")
    phone_context.close()

    # and on a desktop the list is a table whose columns have headings
    desktop_context, console = marketer_in_console(browser, stack.gateway_url, demo)
    table = console.get_by_role("table", name="Packs, newest first")
    for heading in ("Title", "Human clicks", "Conversions", "Rewards"):
        expect(table.get_by_role("columnheader", name=heading, exact=True)).to_be_visible()
    row = table.get_by_role("row", name=re.compile(re.escape(DEMO_PACKS[0].title)))
    expect(row.get_by_role("cell")).to_have_count(9)
    desktop_context.close()


def test_the_catalog_offers_redeem_only_where_it_can_and_keeps_rewards_refusal(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a sticker for 10 points (two in stock) and a poster with none left
    rewards = RewardsClient(stack.urls["rewards"], stack.envs["rewards"]["INTERNAL_TOKEN_SECRET"])
    try:
        for name, cost, stock in (("A sticker", 10, 2), ("A signed poster", 5000, 0)):
            rewards.call(
                "POST",
                "/v1/catalog",
                json={"name": name, "kind": "MERCH", "cost_points": cost, "stock": stock},
            )
    finally:
        rewards.close()

    # and a fan whose shared link earned the share rule's 10 points
    context, tab = new_fan(browser, stack.gateway_url, "Noa", "noa@fans.example", clipboard=True)
    tab.goto(f"/#/packs/{slug_of(CAPTIONED_PACK.title)}")
    tab.get_by_role("button", name="Copy my link").click()
    expect(tab.locator(".share-status")).to_contain_text("copied")
    tab.get_by_role("link", name="Rewards").click()

    def points_arrived() -> bool:
        tab.reload()
        tab.locator(".catalog-balance").wait_for()
        return tab.locator(".catalog-balance").inner_text() == "10"

    wait_until(points_arrived, timeout=60, interval=1, message=stack.worker_logs())

    # then only the sticker offers "Redeem"; the others say why not on a disabled button
    sticker = tab.get_by_role("form", name="A sticker")
    discount = tab.get_by_role("form", name="15% off your next order")
    poster = tab.get_by_role("form", name="A signed poster")
    expect(sticker.get_by_role("button", name="Redeem for 10 points")).to_be_enabled()
    expect(discount.get_by_role("button", name="Redeem for 50 points")).to_be_disabled()
    expect(discount.locator(".points-needed")).to_have_text("40 more points needed.")
    expect(poster.get_by_role("button", name="Out of stock")).to_be_disabled()
    expect(poster.locator(".points-needed")).to_have_text("None left right now.")

    # when, in a second tab, the fan spends the 10 points on the sticker
    other = context.new_page()
    other.goto("/#/rewards")
    other_sticker = other.get_by_role("form", name="A sticker")
    other_sticker.get_by_role("button", name="Redeem for 10 points").click()

    # then that tab shows the redemption, focused, and no longer offers a sticker it cannot pay
    expect(other_sticker.locator(".redeemed")).to_contain_text("Redeemed: A sticker.")
    expect(other_sticker.locator(".redeemed")).to_be_focused()
    expect(other_sticker.get_by_role("button", name="Redeem for 10 points")).to_be_disabled()
    expect(other_sticker.locator(".points-needed")).to_have_text("10 more points needed.")
    expect(other_sticker).to_contain_text("1 left")

    # when the first tab, still showing 10 points, redeems the sticker as well
    sticker.get_by_role("button", name="Redeem for 10 points").click()

    # then rewards' refusal is shown on the item, with the balance brought up to date
    refusal = sticker.locator(".form-error")
    expect(refusal).to_have_text("This item costs 10 points and the balance is 0.")
    expect(refusal).to_be_focused()
    expect(tab.locator(".catalog-balance")).to_have_text("0")
    expect(sticker.get_by_role("button", name="Redeem for 10 points")).to_be_disabled()
    expect(sticker.locator(".points-needed")).to_have_text("10 more points needed.")
    assert serious_violations(tab) == []
    screenshot(tab, "portal-catalog-refused")
    context.close()


def test_show_lists_the_packs_made_since_even_with_the_filter_unchanged(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a marketer looking at all packs
    context, console = marketer_in_console(browser, stack.gateway_url, demo)
    console.goto("/console#/packs")
    expect(console.get_by_role("region", name="Packs table")).to_be_visible()

    # when a draft is made in another tab
    other = context.new_page()
    other.goto("/console#/packs/new")
    other.get_by_label("Title").fill("Made in the other tab")
    other.get_by_label("Summary").fill("Summary.")
    other.get_by_label("Behind-the-scenes story").fill("Story.")
    other.get_by_label("Where links lead").fill("https://shop.example.com/other-tab")
    other.get_by_role("button", name="Create draft").click()
    expect(other.locator("#pack-status")).to_have_text("Draft")

    # and the first tab presses "Show" with the status filter as it was
    console.get_by_role("button", name="Show").click()

    # then the list is read again: the new draft is in it, and the focus is on its heading
    expect(console.get_by_role("link", name="Made in the other tab")).to_be_visible()
    expect(console.get_by_role("heading", name="Packs", exact=True)).to_be_focused()
    context.close()


def test_choices_keep_their_full_size_beside_labels_that_wrap_on_a_phone(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a fan on a phone 375 pixels wide, on their account page, whose longer choices wrap
    context, page = new_fan(
        browser, stack.gateway_url, "Pia", "pia@fans.example", phone=True, width=375
    )
    page.get_by_role("link", name="Account").click()
    wrapped = page.get_by_label("A public shout-out on the thank-you wall")
    short = page.get_by_label("A personal email")

    # then each radio button and check box is as large as any other, wrapped label or not
    sizes = {
        (round(box["width"]), round(box["height"]))
        for control in (wrapped, short, page.get_by_label("I understand; delete my account"))
        if (box := control.bounding_box()) is not None
    }
    assert len(sizes) == 1
    ((width, height),) = sizes
    assert width >= 19
    assert height >= 19
    context.close()

"""The console's rewards pages in a real browser: rules, code banks, the manual queues,
a pack's feedback list, and what fans see of tiers and redemptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from fanfare.demo import DemoReport
from tests.portal.browsing import marketer_in_console, new_fan, screenshot, serious_violations
from tests.portal.conftest import needs_chromium
from tests.portal.stack import PortalStack
from tests.portal.test_pages import OPEN_PACK, error_of, gateway_without_rewards, tab_to
from tests.support.workers import wait_until

pytestmark = [pytest.mark.browser, needs_chromium]

RULE = "Handwritten thanks for sharing"
GIFT_RULE = "A gift card for sharing"
NOTE = "Thank you for sharing our story!"
BANK = "Summer 20% off"
EDITED_RULE = "Points for approved conversions"


def create_rule(console: Page) -> None:
    console.get_by_role("button", name="Create rule").click()


def bank_cell(console: Page, column: int) -> Any:
    return console.locator("tr", has_text=BANK).locator("td").nth(column)


def rule_changes_sent(request: Request) -> dict[str, Any]:
    """The input of the rule update the page sent."""
    body = request.post_data_json
    assert isinstance(body, dict), body
    assert "mutation UpdateRule" in body["query"], body
    changes: dict[str, Any] = body["variables"]["input"]
    return changes


def is_rule_update(request: Request) -> bool:
    return request.method == "POST" and "UpdateRule" in (request.post_data or "")


def test_a_marketer_runs_rules_code_banks_and_the_note_queue(
    stack: PortalStack, demo: DemoReport, browser: Browser, tmp_path: Path
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    marketer, console = marketer_in_console(browser, stack.gateway_url, demo)

    # when the marketer creates a note rule without its note
    console.get_by_role("link", name="Reward rules").click()
    expect(console.get_by_role("heading", name="Reward rules", level=1)).to_be_visible()
    console.get_by_label("Name", exact=True).fill(RULE)
    console.get_by_label("Kind", exact=True).select_option("THANK_YOU_NOTE")
    create_rule(console)

    # then the server's refusal sits beside the note, and no rule is made
    expect(console.locator(".field-error")).to_have_count(1)
    assert "Required" in error_of(console, "Note")
    expect(console.get_by_label("Note", exact=True)).to_be_focused()
    expect(console.locator("tr", has_text=RULE)).to_have_count(0)

    # when the note, a daily cap and a budget are given
    console.get_by_label("Note", exact=True).fill(NOTE)
    console.get_by_label("Per fan per day").fill("2")
    console.get_by_label("Budget", exact=True).fill("100")
    create_rule(console)

    # then the rule is listed live with its limits, and pauses and resumes
    row = console.locator("tr", has_text=RULE)
    expect(row).to_contain_text("Live")
    expect(row).to_contain_text("2/day")
    expect(row).to_contain_text("0 of 100")
    found["console rules"] = serious_violations(console)
    screenshot(console, "console-rules")
    row.get_by_role("button", name=f"Pause {RULE}").click()
    expect(row).to_contain_text("Paused")
    # (the keyboard's focus stays on the rule, now on its "Resume", not back at the top)
    expect(row.get_by_role("button", name=f"Resume {RULE}")).to_be_focused()
    row.get_by_role("button", name=f"Resume {RULE}").click()
    expect(row).to_contain_text("Live")
    expect(row.get_by_role("button", name=f"Pause {RULE}")).to_be_focused()

    # when a gift-card rule is made with a currency written the wrong way
    console.get_by_label("Name", exact=True).fill(GIFT_RULE)
    console.get_by_label("Kind", exact=True).select_option("GIFT_CARD")
    console.get_by_label("Gift card value in cents").fill("500")
    console.get_by_label("Currency").fill("euro")
    create_rule(console)

    # then the currency's error sits beside it; fixed, the rule is made
    expect(console.locator(".field-error")).to_have_count(1)
    assert "ISO 4217" in error_of(console, "Currency")
    console.get_by_label("Currency").fill("EUR")
    create_rule(console)
    expect(console.locator("tr", has_text=GIFT_RULE)).to_contain_text("gift card")

    # when the marketer opens a code bank, then tries to open another with its name
    console.get_by_role("link", name="Code banks").click()
    console.get_by_label("Bank name").fill(BANK)
    console.get_by_role("button", name="Create bank").click()
    expect(bank_cell(console, 1)).to_have_text("0")
    console.get_by_label("Bank name").fill(BANK)
    console.get_by_role("button", name="Create bank").click()
    expect(console.locator(".field-error")).to_have_count(1)
    assert "exists already" in error_of(console, "Bank name")

    # and previews a CSV with one bad row
    csv_file = tmp_path / "summer.csv"
    # (2,100 codes: more than one slice of the console's, with a repeat across slices)
    codes = [f"SUMMER-{n}" for n in range(1, 2101)]
    codes[1] = "SUMMER 2"
    codes[2050] = "SUMMER-1"
    csv_file.write_text("code\n" + "\n".join(codes) + "\n")
    console.get_by_label("Into bank").select_option(label=BANK)
    console.get_by_label("CSV file", exact=True).set_input_files(csv_file)
    console.get_by_role("button", name="Preview").click()

    # then the preview names each bad row's line and problem, and nothing is imported
    expect(console.locator(".preview-summary")).to_contain_text("2098 codes will be imported")
    bad_rows = console.locator(".rejected-row")
    expect(bad_rows).to_have_count(2)
    expect(bad_rows.nth(0).locator("td")).to_have_text(
        ["3", "SUMMER 2", "the code contains spaces or control characters"]
    )
    expect(bad_rows.nth(1).locator("td")).to_have_text(
        ["2052", "SUMMER-1", "the code appears earlier in this file"]
    )
    expect(bank_cell(console, 1)).to_have_text("0")
    found["console code banks"] = serious_violations(console)
    screenshot(console, "console-code-bank-preview")

    # when the marketer imports it
    console.get_by_role("button", name="Import 2098 codes").click()

    # then the good codes are in the bank, as the preview said
    expect(console.locator(".imported")).to_contain_text("Imported 2098 codes")
    expect(bank_cell(console, 1)).to_have_text("2098")

    # given a fan who likes handwritten notes, who shares a pack and says what they think
    fan_context, fan = new_fan(
        browser, stack.gateway_url, "Noor", "noor@fans.example", phone=True, clipboard=True
    )
    fan.goto("/#/account")
    fan.get_by_label("A handwritten note by post").check()
    fan.get_by_role("button", name="Save", exact=True).click()
    expect(fan.locator(".saved")).to_have_text("Saved.")
    fan.goto("/#/")
    fan.get_by_role("link", name=OPEN_PACK.title).click()
    fan.get_by_role("button", name="Copy my link").click()
    expect(fan.locator(".share-status")).to_contain_text("copied")
    fan.get_by_label("I have an idea").check()
    fan.get_by_label("Anything to add? (optional)").fill("Show us the night shift")
    fan.get_by_role("button", name="Send feedback").click()
    expect(fan.locator(".feedback-status")).to_contain_text("Thank you")

    # when the marketer opens the manual queues, once the note and the card are owed
    console.get_by_role("link", name="Manual queues").click()
    note = console.locator(".queue-item", has_text=NOTE)
    card = console.locator(".queue-item", has_text="Earned by a reward rule")

    def both_arrived() -> bool:
        console.reload()
        expect(console.get_by_role("heading", name="Notes to write by hand")).to_be_visible()
        expect(console.get_by_role("heading", name="Gift cards to send")).to_be_visible()
        return note.count() == 1 and card.count() == 1

    wait_until(both_arrived, timeout=60, interval=1, message=stack.worker_logs())
    expect(note).to_contain_text("For Noor")
    expect(card).to_contain_text("5.00")
    found["console queues"] = serious_violations(console)
    screenshot(console, "console-queues")

    # and marks the note written, and sends the card without its code, then with it
    note.get_by_role("button", name="Mark written for Noor").click()
    expect(note).to_have_count(0)
    # (the focus goes to the queue's heading, not back to the top of the page)
    expect(console.get_by_role("heading", name="Notes to write by hand")).to_be_focused()
    card.get_by_role("button", name="Mark fulfilled").click()
    expect(card.locator(".field-error")).to_have_text("Type the code of the card you bought.")
    card.get_by_label("Card code").fill("GIFT-5-EUR-0001")
    card.get_by_role("button", name="Mark fulfilled").click()

    # then both leave their queue
    expect(card).to_have_count(0)
    expect(console.get_by_text("Nothing to send.")).to_be_visible()
    expect(console.get_by_role("heading", name="Gift cards to send")).to_be_focused()

    # and the pack's page lists the fan's idea under what fans said
    console.get_by_role("link", name="Packs", exact=True).click()
    console.get_by_role("link", name=OPEN_PACK.title).click()
    said = console.get_by_role("region", name="What fans said")
    expect(said).to_contain_text("Show us the night shift")
    expect(said).to_contain_text("Idea")
    found["console pack feedback"] = serious_violations(console)
    screenshot(console, "console-pack-feedback")

    # and no new page has a serious accessibility violation
    assert {page: issues for page, issues in found.items() if issues} == {}
    for context in (marketer, fan_context):
        context.close()


def test_a_marketer_edits_a_rules_caps_and_budget(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a points rule with daily and weekly caps and a budget
    context, console = marketer_in_console(browser, stack.gateway_url, demo)
    console.get_by_role("link", name="Reward rules").click()
    console.get_by_label("Name", exact=True).fill(EDITED_RULE)
    console.get_by_label("Trigger", exact=True).select_option("CONVERSION_APPROVED")
    console.get_by_label("Points", exact=True).fill("50")
    console.get_by_label("Per fan per day").fill("3")
    console.get_by_label("Per fan per week").fill("5")
    console.get_by_label("Budget", exact=True).fill("1000")
    create_rule(console)
    row = console.locator("tr", has_text=EDITED_RULE)
    expect(row).to_contain_text("3/day, 5/week")
    rule_id = row.get_attribute("data-rule-id")

    # when the marketer opens it for editing
    row.get_by_role("button", name=f"Edit {EDITED_RULE}").click()

    # then the same form shows the rule, its name focused
    expect(console.get_by_role("heading", name=f"Edit rule “{EDITED_RULE}”")).to_be_visible()
    expect(console.get_by_label("Name", exact=True)).to_be_focused()
    expect(console.get_by_label("Name", exact=True)).to_have_value(EDITED_RULE)
    expect(console.get_by_label("Trigger", exact=True)).to_have_value("CONVERSION_APPROVED")
    expect(console.get_by_label("Kind", exact=True)).to_have_value("POINTS")
    expect(console.get_by_label("Points", exact=True)).to_have_value("50")
    expect(console.get_by_label("Per fan per day")).to_have_value("3")
    expect(console.get_by_label("Per fan per week")).to_have_value("5")
    expect(console.get_by_label("Budget", exact=True)).to_have_value("1000")
    expect(console.get_by_label("Start paused")).to_be_hidden()
    violations = serious_violations(console)
    screenshot(console, "console-rule-edit")

    # when they raise the daily cap and the budget and save
    console.get_by_label("Per fan per day").fill("4")
    console.get_by_label("Budget", exact=True).fill("2000")
    with console.expect_request(is_rule_update) as saving:
        console.get_by_role("button", name="Save changes").click()

    # then only those two fields were sent, and the list shows the new limits
    assert rule_changes_sent(saving.value) == {"id": rule_id, "capPerDay": 4, "budget": 2000}
    expect(row).to_contain_text("4/day, 5/week")
    expect(row).to_contain_text("0 of 2000")
    expect(console.locator(".rule-form .saved")).to_have_text(f"Rule “{EDITED_RULE}” saved.")
    expect(console.get_by_role("heading", name="New rule")).to_be_visible()
    expect(row.get_by_role("button", name=f"Edit {EDITED_RULE}")).to_be_focused()

    # when, with the keyboard only, they open it again, empty the daily cap and press Enter
    console.get_by_role("heading", name="Reward rules", level=1).focus()
    tab_to(console, f"Edit {EDITED_RULE}", presses=120)
    console.keyboard.press("Enter")
    expect(console.get_by_label("Per fan per day")).to_have_value("4")
    console.get_by_label("Per fan per day").focus()
    console.keyboard.press("Control+A")
    console.keyboard.press("Delete")
    with console.expect_request(is_rule_update) as clearing:
        console.keyboard.press("Enter")

    # then the cap is sent as null, and the rule has no daily cap any more
    assert rule_changes_sent(clearing.value) == {"id": rule_id, "capPerDay": None}
    expect(row).not_to_contain_text("/day")
    expect(row).to_contain_text("5/week")
    expect(row).to_contain_text("0 of 2000")

    # when they give the rule more points than rewards allows
    row.get_by_role("button", name=f"Edit {EDITED_RULE}").click()
    expect(console.get_by_label("Per fan per day")).to_have_value("")
    console.get_by_label("Points", exact=True).fill("2000000")
    console.get_by_role("button", name="Save changes").click()

    # then rewards' refusal sits beside the points, focused, and the rule is unchanged
    expect(console.locator(".field-error")).to_have_count(1)
    assert "1000000" in error_of(console, "Points")
    expect(console.get_by_label("Points", exact=True)).to_be_focused()
    expect(console.get_by_label("Points", exact=True)).to_have_attribute("aria-invalid", "true")
    violations += serious_violations(console)
    screenshot(console, "console-rule-edit-error")

    # and cancelling leaves the form for a new rule, the rule as it was
    console.get_by_role("button", name="Cancel editing").click()
    expect(console.get_by_role("heading", name="New rule")).to_be_visible()
    expect(console.get_by_label("Points", exact=True)).to_have_value("")
    expect(console.locator(".field-error")).to_have_count(0)
    expect(row).to_contain_text("50 points")
    expect(row.get_by_role("button", name=f"Edit {EDITED_RULE}")).to_be_focused()

    # and neither the edit form nor its errors has a serious accessibility violation
    assert violations == []
    context.close()


def test_fans_see_tier_progress_from_the_configured_thresholds(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given a new fan
    context, page = new_fan(browser, stack.gateway_url, "Ivo", "ivo@fans.example")

    # when they open their page and their rewards
    page.goto("/#/me")

    # then progress aims at the next tier at rewards' configured threshold
    expect(page.get_by_text("Progress to Advocate (100 lifetime points)")).to_be_visible()
    expect(page.locator(".progress-text")).to_have_text("0 of 100 points; 100 to go.")
    page.goto("/#/rewards")
    redeemed = page.get_by_role("region", name="What I redeemed")
    expect(redeemed).to_contain_text("Nothing yet")
    context.close()


def test_with_rewards_down_the_rewards_pages_say_so_and_packs_still_work(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given the marketer on a gateway whose rewards service is down
    with gateway_without_rewards(stack) as gateway_url:
        context, console = marketer_in_console(browser, gateway_url, demo)

        # when they open the rules, the code banks and the queues
        for link, section in (
            ("Reward rules", "Rules"),
            ("Code banks", "Banks"),
            ("Manual queues", "Notes to write by hand"),
        ):
            console.get_by_role("link", name=link).click()

            # then each section says rewards is unavailable, under its own heading
            region = console.get_by_role("region", name=section)
            expect(region).to_contain_text("Rewards and points is unavailable right now")

        # and a failed create says so on the form, while packs still list
        console.get_by_role("link", name="Code banks").click()
        console.get_by_label("Bank name").fill("Winter")
        console.get_by_role("button", name="Create bank").click()
        expect(console.locator(".form-error")).to_contain_text("unavailable")
        screenshot(console, "console-code-banks-rewards-down")
        console.get_by_role("link", name="Packs", exact=True).click()
        expect(console.get_by_role("link", name=OPEN_PACK.title)).to_be_visible()
        context.close()

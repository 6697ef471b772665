"""The whole journey in a real browser, on the real platform with its real workers."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, expect

from fanfare.demo import DemoReport
from tests.portal.browsing import marketer_in_console, new_fan, person, screenshot
from tests.portal.conftest import needs_chromium
from tests.portal.stack import PortalStack
from tests.support.smtp import SmtpServer
from tests.support.workers import wait_until

pytestmark = [pytest.mark.browser, needs_chromium]

FAN_EMAIL = "robin@fans.example"
PREVIEW_CRAWLER = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
RECORD_CONVERSION = """
mutation ($input: RecordConversionInput!) {
  recordConversion(input: $input) { conversion { id status } errors { field message code } }
}
"""


def photo(path: Path) -> Path:
    image = Image.new("RGB", (1600, 1200), "#2d6a4f")
    for x in range(0, 1600, 40):
        image.paste((240, 200, 80), (x, 0, x + 12, 1200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def partner_graphql(stack: PortalStack, key: str, query: str, variables: dict[str, Any]) -> Any:
    response = requests.post(
        f"{stack.gateway_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"X-API-Key": key},
        timeout=10,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_a_pack_travels_from_the_console_to_a_fan_and_comes_back_as_points_and_a_code(
    stack: PortalStack, demo: DemoReport, browser: Browser, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.clear()
    assert demo.partner_key_secret is not None

    # given the demo's marketer in the console
    marketer, console = marketer_in_console(browser, stack.gateway_url, demo)
    screenshot(console, "console-packs")

    # when they create a pack
    console.get_by_role("link", name="New pack").first.click()
    console.get_by_label("Title").fill("Inside the spring sale")
    console.get_by_label("Summary").fill("How the team picked this year's spring offers.")
    console.get_by_label("Behind-the-scenes story").fill(
        "We tasted **forty** recipes.\n\n- Ten made the cut\n- One is *secret*"
    )
    console.get_by_label("Purpose").select_option("LEARN")
    console.get_by_label("Where links lead").fill(f"{stack.shop_url}/spring-sale")
    console.get_by_label("Tags", exact=True).fill("spring, sale")
    console.get_by_label("Hashtags").fill("SpringSale")
    console.get_by_label("X", exact=True).fill("Spring is here, and so are the offers.")
    console.get_by_role("button", name="Create draft").click()

    # and upload an image and wait for its renditions
    expect(console.get_by_role("heading", name="Inside the spring sale")).to_be_visible()
    console.get_by_label("Image (JPEG, PNG or WebP)").set_input_files(photo(tmp_path / "a.jpg"))
    console.get_by_label("Text for people who cannot see it").fill("Green and gold stripes")
    console.get_by_role("button", name="Upload").click()
    expect(console.locator(".asset-status")).to_have_text("Ready", timeout=60_000)
    expect(console.get_by_role("link", name="social_card 1200\u00d7630")).to_be_visible()
    screenshot(console, "console-pack")

    # and publish it
    console.get_by_role("button", name="Publish").click()
    expect(console.locator("#pack-status")).to_have_text("Published")

    # when a fan signs up on their phone, opens the pack and copies their link
    fan_context, fan = new_fan(
        browser, stack.gateway_url, "Robin", FAN_EMAIL, phone=True, clipboard=True
    )
    screenshot(fan, "portal-packs")
    fan.get_by_role("link", name="Inside the spring sale").click()
    expect(fan.get_by_role("heading", name="Inside the spring sale", level=1)).to_be_visible()
    expect(fan.get_by_role("img", name="Green and gold stripes").first).to_be_visible()
    fan.get_by_role("button", name="Copy my link").click()
    expect(fan.locator(".share-status")).to_contain_text("copied")
    link = fan.locator("#my-link").input_value()
    assert re.fullmatch(rf"{re.escape(stack.urls['referrals'])}/r/\w+", link), link
    assert fan.evaluate("navigator.clipboard.readText()") == link
    screenshot(fan, "portal-pack")

    # and a friend follows the link in their browser, and a link preview fetches it
    friend = person(browser, stack.gateway_url, phone=True).new_page()
    friend.goto(link)
    expect(friend.get_by_role("heading", name="Partner shop: spring-sale")).to_be_visible()
    click_id = friend.locator("#click-id").inner_text()
    assert click_id
    preview = requests.get(link, headers={"User-Agent": PREVIEW_CRAWLER}, timeout=10)
    assert preview.status_code == 200

    # then the fan sees the click counted and the preview apart
    fan.goto("/#/me")
    row = fan.locator("tr", has_text="Inside the spring sale")

    def clicks_counted() -> bool:
        fan.reload()
        row.locator(".human-clicks").wait_for()
        return (
            row.locator(".human-clicks").inner_text() == "1"
            and row.locator(".previews").inner_text() == "1"
        )

    wait_until(clicks_counted, timeout=30, interval=0.5, message=stack.worker_logs())
    expect(row.locator(".unique-visitors")).to_have_text("1")
    expect(row.locator(".conversions")).to_have_text("0")

    # and the partner shop records the friend's purchase with its API key
    recorded = partner_graphql(
        stack,
        demo.partner_key_secret,
        RECORD_CONVERSION,
        {
            "input": {
                "externalId": "order-1001",
                "clickId": click_id,
                "amountCents": 4999,
                "currency": "EUR",
                "customerRef": "friend@people.example",
            }
        },
    )["recordConversion"]
    assert recorded["errors"] == [], recorded
    assert recorded["conversion"]["status"] == "APPROVED"

    # then the fan sees the conversion and the points on their page
    def points_arrived() -> bool:
        fan.reload()
        fan.locator(".points-balance").wait_for()
        return fan.locator(".points-balance").inner_text() == "110"

    wait_until(points_arrived, timeout=60, interval=1, message=stack.worker_logs())
    expect(row.locator(".human-clicks")).to_have_text("1")
    expect(row.locator(".unique-visitors")).to_have_text("1")
    expect(row.locator(".conversions")).to_have_text("1")
    expect(row.locator(".previews")).to_have_text("1")
    expect(fan.locator(".tier")).to_have_text("Advocate")
    expect(fan.get_by_text("First conversion")).to_be_visible()
    screenshot(fan, "portal-me")

    # and the thank-you reaches them by email, the channel they prefer by default
    (mail,) = smtp_server.wait_for(1, timeout=30)
    assert mail.rcpt_tos == (FAN_EMAIL,)
    assert "Robin" in mail.message.get_content()

    # when they redeem the catalog's discount
    fan.goto("/#/rewards")
    item = fan.get_by_role("form", name="15% off your next order")
    item.get_by_role("button", name="Redeem for 50 points").click()

    # then they see their code, and what they have left
    expect(item.locator(".redeemed-code")).to_have_text(re.compile(r"SPRING15-[0-9A-F]{8}"))
    expect(fan.locator(".catalog-balance")).to_have_text("60")
    expect(fan.get_by_text("100 points per approved conversion")).to_be_visible()
    history = fan.get_by_role("region", name="What I redeemed")
    expect(history.locator(".redemption")).to_have_count(1)
    expect(history).to_contain_text("15% off your next order")
    expect(history.locator(".reward-code")).to_have_text(re.compile(r"SPRING15-[0-9A-F]{8}"))
    screenshot(fan, "portal-rewards")

    # and when the marketer archives the pack, its funnel shows the journey
    console.reload()
    funnel = console.locator(".funnel-table")
    expect(funnel.locator("[data-step='Shares']")).to_have_text("1")
    expect(funnel.locator("[data-step='Human clicks']")).to_have_text("1")
    expect(funnel.locator("[data-step='Conversions']")).to_have_text("1")
    expect(funnel.locator("[data-step='Previews']")).to_have_text("1")
    # and its last step, from rewards: the share's 10 points and first-share badge, the
    # conversion's 100 points and first-conversion badge (the demo's default rules)
    expect(funnel.locator("[data-step='Rewards']")).to_have_text("4")
    expect(funnel.locator("[data-step='Points']")).to_have_text("110")
    expect(console.locator(".funnel-chart title")).to_contain_text("Rewards 4")
    screenshot(console, "console-funnel")
    console.get_by_role("button", name="Archive").click()
    expect(console.locator("#pack-status")).to_have_text("Archived")
    for context in (marketer, fan_context, friend.context):
        context.close()

"""The console's packs list past its first page, in a module of its own: the drafts it makes
would push the demo's packs off the first page that other modules' tests open."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from fanfare.demo import DEMO_PACKS, DemoReport
from tests.portal.browsing import log_in_to_console, person, serious_violations
from tests.portal.conftest import needs_chromium
from tests.portal.stack import PortalStack

pytestmark = [pytest.mark.browser, needs_chromium]

PAGE_SIZE = 50
# The console's own API client, so the drafts are made by the marketer's session.
MAKE_DRAFTS = """async (count) => {
  const { graphql } = await import("/pages/static/js/graphql.js");
  const mutation = `mutation ($input: CreateContentPackInput!) {
    createContentPack(input: $input) { errors { message } } }`;
  for (let n = 1; n <= count; n += 1) {
    const result = await graphql(mutation, { input: {
      title: `Bulk draft ${n}`, summary: "Summary.", story: "Story.", purpose: "LEARN",
      destinationUrl: "https://shop.example.com/bulk" } });
    const payload = result.data && result.data.createContentPack;
    if (!payload || payload.errors.length) return JSON.stringify(result);
  }
  return "made";
}"""


def test_a_marketer_with_more_packs_than_a_page_shows_the_rest(
    stack: PortalStack, demo: DemoReport, browser: Browser
) -> None:
    # given the demo's packs and a page's worth of newer drafts
    context = person(browser, stack.gateway_url)
    console = context.new_page()
    log_in_to_console(console, demo)
    assert console.evaluate(MAKE_DRAFTS, PAGE_SIZE) == "made"
    total = PAGE_SIZE + len(DEMO_PACKS)

    # when the marketer opens the packs list
    console.goto("/console#/packs")
    console.reload()
    table = console.get_by_role("table", name="Packs, newest first")

    # then it says how many there are, shows the newest page, and offers the rest
    expect(console.get_by_text(f"{total} packs", exact=True)).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(PAGE_SIZE)
    expect(table.get_by_role("link", name=DEMO_PACKS[0].title)).to_have_count(0)

    # when they press "Show more packs" from the keyboard
    more = console.get_by_role("button", name="Show more packs")
    more.focus()
    console.keyboard.press("Enter")

    # then the older packs join the same table, the button goes, and the focus is on the
    # first pack added (not back at the top of the page)
    expect(table.locator("tbody tr")).to_have_count(total)
    expect(table.get_by_role("link", name=DEMO_PACKS[0].title)).to_be_visible()
    expect(more).to_have_count(0)
    expect(table.locator("tbody tr").nth(PAGE_SIZE).get_by_role("link")).to_be_focused()
    assert serious_violations(console) == []
    context.close()

"""The packs lists past their first page, in the console (50 a page) and the portal (12),
in a module of its own: the packs it makes would push the demo's packs off the first page
that other modules' tests open."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from fanfare.demo import DEMO_PACKS, DemoReport
from tests.portal.browsing import marketer_in_console, new_fan, serious_violations
from tests.portal.conftest import needs_chromium
from tests.portal.stack import PortalStack

pytestmark = [pytest.mark.browser, needs_chromium]

CONSOLE_PAGE = 50
PORTAL_PAGE = 12
DRAFTS = CONSOLE_PAGE
# Enough newer published packs, with the demo's, to fill the portal's first page and more.
PUBLISHED = PORTAL_PAGE + 1 - len(DEMO_PACKS)

# The pages' own API client, so the packs are made by the marketer's session as the console
# makes them: a draft, an image (drawn on a canvas), its renditions awaited, then publishing.
MAKE_PACKS = """async ({ drafts, published }) => {
  const { graphql, graphqlUpload } = await import("/pages/static/js/graphql.js");
  const create = `mutation ($input: CreateContentPackInput!) {
    createContentPack(input: $input) { contentPack { id } errors { message } } }`;
  const upload = `mutation ($input: UploadAssetInput!) {
    uploadAsset(input: $input) { asset { id } errors { message } } }`;
  const assets = `query ($id: ID!) { contentPack(id: $id) { assets { status } } }`;
  const publish = `mutation ($id: ID!) { publishContentPack(id: $id) { errors { message } } }`;
  const made = async (title) => {
    const result = await graphql(create, { input: { title, summary: "Summary.", story: "Story.",
      purpose: "LEARN", destinationUrl: "https://shop.example.com/many" } });
    const payload = result.data && result.data.createContentPack;
    if (!payload || payload.errors.length) throw new Error(JSON.stringify(result));
    return payload.contentPack.id;
  };
  const canvas = document.createElement("canvas");
  canvas.width = 320;
  canvas.height = 200;
  canvas.getContext("2d").fillRect(0, 0, 320, 200);
  const poster = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const ids = [];
  for (let n = 1; n <= published; n += 1) {
    const id = await made(`Published ${n}`);
    const file = new File([poster], "poster.png", { type: "image/png" });
    const input = { packId: id, file: null, altText: "A dark square" };
    const sent = await graphqlUpload(upload, { input }, "input.file", file);
    if (!sent.data || sent.data.uploadAsset.errors.length) throw new Error(JSON.stringify(sent));
    ids.push(id);
  }
  for (const id of ids) {
    for (let round = 0; ; round += 1) {
      const pack = (await graphql(assets, { id })).data.contentPack;
      if (pack.assets.every((asset) => asset.status === "READY")) break;
      if (round > 240) throw new Error(`the renditions of ${id} were never made`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const result = await graphql(publish, { id });
    if (result.data.publishContentPack.errors.length) throw new Error(JSON.stringify(result));
  }
  for (let n = 1; n <= drafts; n += 1) await made(`Bulk draft ${n}`);
  return "made";
}"""


@pytest.fixture(scope="module")
def many_packs(stack: PortalStack, demo: DemoReport, browser: Browser) -> int:
    """The demo's packs, ``PUBLISHED`` newer published packs and ``DRAFTS`` drafts: how many."""
    context, console = marketer_in_console(browser, stack.gateway_url, demo)
    try:
        made = console.evaluate(MAKE_PACKS, {"drafts": DRAFTS, "published": PUBLISHED})
    finally:
        context.close()
    assert made == "made"
    return len(DEMO_PACKS) + PUBLISHED + DRAFTS


def test_a_marketer_with_more_packs_than_a_page_shows_the_rest(
    stack: PortalStack, demo: DemoReport, browser: Browser, many_packs: int
) -> None:
    # given more packs than the console's page holds
    context, console = marketer_in_console(browser, stack.gateway_url, demo)

    # when the marketer opens the packs list
    table = console.get_by_role("table", name="Packs, newest first")

    # then it says how many there are, shows the newest page, and offers the rest
    expect(console.get_by_text(f"{many_packs} packs", exact=True)).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(CONSOLE_PAGE)
    expect(table.get_by_role("link", name=DEMO_PACKS[0].title)).to_have_count(0)

    # when they press "Show more packs" from the keyboard
    more = console.get_by_role("button", name="Show more packs")
    more.focus()
    console.keyboard.press("Enter")

    # then the older packs join the same table, the button goes, and the focus is on the
    # first pack added (not back at the top of the page)
    expect(table.locator("tbody tr")).to_have_count(many_packs)
    expect(table.get_by_role("link", name=DEMO_PACKS[0].title)).to_be_visible()
    expect(more).to_have_count(0)
    expect(table.locator("tbody tr").nth(CONSOLE_PAGE).get_by_role("link")).to_be_focused()
    assert serious_violations(console) == []
    context.close()


def test_a_fan_shows_more_packs_and_the_focus_goes_to_the_first_new_one(
    stack: PortalStack, demo: DemoReport, browser: Browser, many_packs: int
) -> None:
    # given more published packs than the portal's page holds, and a fan on a phone
    context, fan = new_fan(browser, stack.gateway_url, "Max", "max@fans.example", phone=True)
    cards = fan.locator("main .pack-card")
    expect(cards).to_have_count(PORTAL_PAGE)

    # when they press "Show more packs" from the keyboard
    more = fan.get_by_role("button", name="Show more packs")
    more.focus()
    fan.keyboard.press("Enter")

    # then the older packs follow, and the focus is on the first of them, not the page's top
    expect(cards).to_have_count(len(DEMO_PACKS) + PUBLISHED)
    expect(more).to_have_count(0)
    expect(cards.nth(PORTAL_PAGE).get_by_role("link")).to_be_focused()
    context.close()

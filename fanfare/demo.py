"""``fanfare seed-demo``: a living demo, made through the platform's own APIs.

Packs, images, publishing and the partner key go through the public GraphQL
API as a marketer; reward rules, the code bank and the catalog go through the
rewards service's REST API with a ``system`` principal (the GraphQL API has no
fields for them). Only the marketer account and a short-lived token for it are
made in the gateway's own database, as ``fanfare create-user`` does.

Safe to run twice: whatever exists already (by title, name or rule key) is
left as it is, and an interrupted run is finished by the next one.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from gateway.identity.errors import DuplicateEmail
from gateway.identity.users import create_user, issue_token, revoke_token
from gateway.models import User
from services.common.db import Database
from services.common.internal_auth import Principal, issue_internal_token
from services.rewards.seed import DEFAULT_RULES

DEMO_MARKETER_EMAIL = "marketer@fanfare.local"
DEMO_MARKETER_NAME = "Demo Marketer"
DEMO_PARTNER_KEY_NAME = "Demo partner shop"
DEMO_PARTNER_SCOPES = ("CONVERSIONS_WRITE", "STATS_READ", "CONTENT_READ")
DEMO_CODE_BANK_NAME = "Demo: 15% off codes"
DEMO_CODE_COUNT = 50
SEED_TOKEN_TTL_SECONDS = 3600
READY_TIMEOUT_SECONDS = 120.0
HTTP_TIMEOUT_SECONDS = 30.0


class DemoSeedError(Exception):
    """The demo could not be seeded; the message says what to check."""


@dataclass(frozen=True)
class DemoPack:
    title: str
    summary: str
    story: str
    purpose: str
    tags: tuple[str, ...]
    hashtags: tuple[str, ...]
    captions: dict[str, str]
    colors: tuple[str, str]
    min_tier: str = "FAN"
    destination_url: str = "https://example.com/"
    alt_text: str = ""


DEMO_PACKS: tuple[DemoPack, ...] = (
    DemoPack(
        title="The cat who runs quality control",
        summary="Meet Biscuit, who inspects every parcel before it leaves the workshop.",
        story=(
            "Biscuit arrived as a kitten three winters ago and **never left**.\n\n"
            "Every morning she walks the packing line, sniffs each box and sits on the "
            "one she likes best. We ship that one first.\n\n"
            "- Boxes inspected: all of them\n- Boxes approved: the comfy ones"
        ),
        purpose="LAUGH",
        tags=("workshop", "team"),
        hashtags=("BehindTheScenes", "ShopCat"),
        captions={
            "X": "Our head of quality control takes her job very seriously.",
            "INSTAGRAM": "Every parcel passes Biscuit's inspection first.",
        },
        colors=("#f9a03f", "#7b2cbf"),
        destination_url="https://example.com/workshop",
        alt_text="An orange and purple poster reading: The cat who runs quality control",
    ),
    DemoPack(
        title="How we roast the beans",
        summary="Twelve minutes, three cracks and one very loud drum: our roast, step by step.",
        story=(
            "## Green to brown\n\n"
            "We roast in small batches so every bag is *days* old, not months.\n\n"
            "The first crack tells us the sugars are caramelising; we stop a minute after it "
            "for a sweet, bright cup."
        ),
        purpose="LEARN",
        tags=("coffee", "craft"),
        hashtags=("HowItsMade", "Coffee"),
        captions={
            "X": "Ever wondered what the first crack sounds like? Here is our roast, step by step.",
            "LINKEDIN": "Small-batch roasting, explained by the people who do it every day.",
        },
        colors=("#3a1f0b", "#c77d3a"),
        destination_url="https://example.com/coffee",
        alt_text="A brown poster reading: How we roast the beans",
    ),
    DemoPack(
        title="Letters from our first customers",
        summary="Ten years on, we still keep every letter. Here are our favourites.",
        story=(
            "Our first order came with a handwritten note: *good luck, you will need it*.\n\n"
            "We framed it. These are the letters that kept us going."
        ),
        purpose="LOVE",
        tags=("community", "anniversary"),
        hashtags=("ThankYou", "TenYears"),
        captions={"FACEBOOK": "Ten years of letters from the people who believed in us first."},
        colors=("#d62c5b", "#ffd6e0"),
        destination_url="https://example.com/story",
        alt_text="A pink poster reading: Letters from our first customers",
    ),
    DemoPack(
        title="Sneak peek: the spring collection",
        summary="Insiders see it first: the colours, the fabrics and the one we almost cut.",
        story=(
            "Before anyone else, a look at what we have been making all winter.\n\n"
            "Tell us which one you would pick; insiders' votes decide the launch order."
        ),
        purpose="LOVE",
        tags=("insiders", "preview"),
        hashtags=("SpringPreview",),
        captions={"X": "I got an early look at the spring collection. Guess which one I picked."},
        colors=("#2d6a4f", "#b7e4c7"),
        min_tier="INSIDER",
        destination_url="https://example.com/spring",
        alt_text="A green poster reading: Sneak peek: the spring collection",
    ),
)


@dataclass
class DemoReport:
    """What a run made; only the first run of each part carries its secret."""

    marketer_email: str = DEMO_MARKETER_EMAIL
    marketer_password: str | None = None
    packs_created: list[str] = field(default_factory=list)
    packs_published: list[str] = field(default_factory=list)
    rules_added: list[str] = field(default_factory=list)
    catalog_added: list[str] = field(default_factory=list)
    codes_added: int = 0
    partner_key_secret: str | None = None

    def lines(self) -> list[str]:
        """What to print, secrets included once."""
        login = (
            f"{self.marketer_email} / {self.marketer_password}"
            if self.marketer_password
            else f"{self.marketer_email} (created earlier; its password was printed then)"
        )
        key = (
            f"{self.partner_key_secret}  (shown once: store it now)"
            if self.partner_key_secret
            else f"'{DEMO_PARTNER_KEY_NAME}' exists (its secret was printed when it was made)"
        )
        return [
            f"Marketer login: {login}",
            f"Partner API key: {key}",
            f"Packs created now: {len(self.packs_created)}; published now: "
            f"{len(self.packs_published)}",
            f"Reward rules added: {len(self.rules_added)}; catalog items added: "
            f"{len(self.catalog_added)}; codes added: {self.codes_added}",
        ]


def demo_image(pack: DemoPack, size: tuple[int, int] = (1600, 1000)) -> bytes:
    """A poster for ``pack``: a diagonal gradient, a few circles and the title."""
    width, height = size
    start, end = (_rgb(color) for color in pack.colors)
    image = Image.new("RGB", size)
    pixels = ImageDraw.Draw(image)
    for x in range(0, width + height, 4):
        share = x / (width + height)
        color = tuple(round(a + (b - a) * share) for a, b in zip(start, end, strict=True))
        pixels.line([(x, 0), (x - height, height)], fill=color, width=5)
    light = (255, 255, 255)
    for index in range(5):
        radius = 60 + 35 * index
        centre = (width - 260 - 140 * index, 180 + 120 * index)
        pixels.ellipse(
            [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius],
            outline=light,
            width=6,
        )
    font = ImageFont.load_default(size=88)
    small = ImageFont.load_default(size=44)
    words = pack.title.split()
    lines, line = [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if pixels.textlength(candidate, font=font) > width - 240 and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    y = height - 140 - 110 * len(lines)
    for text in lines:
        pixels.text((100, y + 3), text, font=font, fill=(0, 0, 0))
        pixels.text((100, y), text, font=font, fill=light)
        y += 110
    pixels.text((100, height - 110), f"Fanfare · {pack.purpose.title()}", font=small, fill=light)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class GraphQLClient:
    """The gateway's public API with a bearer token."""

    def __init__(self, gateway_url: str, token: str) -> None:
        self.url = gateway_url.rstrip("/") + "/graphql"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.session.post(
                self.url, json={"query": query, "variables": variables or {}}, timeout=30
            )
        except requests.RequestException as exc:
            raise DemoSeedError(f"the gateway at {self.url} cannot be reached: {exc}") from exc
        return self._data(response)

    def upload(self, query: str, variables: dict[str, Any], path: str, image: bytes) -> Any:
        operations = json.dumps({"query": query, "variables": variables})
        try:
            response = self.session.post(
                self.url,
                data={"operations": operations, "map": json.dumps({"0": [f"variables.{path}"]})},
                files={"0": ("poster.jpg", image, "image/jpeg")},
                timeout=60,
            )
        except requests.RequestException as exc:
            raise DemoSeedError(f"the gateway at {self.url} cannot be reached: {exc}") from exc
        return self._data(response)

    @staticmethod
    def _data(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise DemoSeedError(
                f"the gateway answered {response.status_code} without JSON"
            ) from exc
        if body.get("errors"):
            raise DemoSeedError(f"the gateway refused: {body['errors'][0].get('message')}")
        data: dict[str, Any] = body["data"]
        return data

    def close(self) -> None:
        self.session.close()


class RewardsClient:
    """The rewards service's REST API as the ``system`` principal."""

    def __init__(self, rewards_url: str, secret: str) -> None:
        self.url = rewards_url.rstrip("/")
        self.secret = secret
        self.session = requests.Session()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        token = issue_internal_token(
            Principal(role="system"), audience="rewards", secret=self.secret
        )
        try:
            response = self.session.request(
                method,
                f"{self.url}{path}",
                headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
                timeout=HTTP_TIMEOUT_SECONDS,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise DemoSeedError(f"the rewards service at {self.url} cannot be reached") from exc
        if response.status_code >= 400:
            raise DemoSeedError(
                f"rewards refused {method} {path} ({response.status_code}): {response.text[:300]}"
            )
        return response.json()

    def close(self) -> None:
        self.session.close()


def seed_demo(
    *,
    gateway_url: str,
    rewards_url: str,
    internal_token_secret: str,
    gateway_database_url: str,
    ready_timeout: float = READY_TIMEOUT_SECONDS,
) -> DemoReport:
    """Seed the demo on a running platform; returns what was made (secrets once)."""
    report = DemoReport()
    rewards = RewardsClient(rewards_url, internal_token_secret)
    try:
        report.rules_added = _install_rules(rewards)
        report.codes_added, report.catalog_added = _install_catalog(rewards)
    finally:
        rewards.close()
    with _marketer_token(gateway_database_url, report) as token:
        client = GraphQLClient(gateway_url, token)
        try:
            _publish_packs(client, report, ready_timeout)
            report.partner_key_secret = _partner_key(client)
        finally:
            client.close()
    return report


def _install_rules(rewards: RewardsClient) -> list[str]:
    existing = {rule["key"] for rule in rewards.call("GET", "/v1/rules")["items"] if rule["key"]}
    added = []
    for rule in DEFAULT_RULES:
        if rule["key"] not in existing:
            rewards.call("POST", "/v1/rules", json=dict(rule))
            added.append(str(rule["key"]))
    return added


def _install_catalog(rewards: RewardsClient) -> tuple[int, list[str]]:
    banks = {bank["name"]: bank for bank in rewards.call("GET", "/v1/code-banks")["items"]}
    bank = banks.get(DEMO_CODE_BANK_NAME) or rewards.call(
        "POST", "/v1/code-banks", json={"name": DEMO_CODE_BANK_NAME, "low_stock_threshold": 10}
    )
    codes_added = 0
    if not bank.get("remaining"):
        codes = "\n".join(
            f"SPRING15-{secrets.token_hex(4).upper()}" for _ in range(DEMO_CODE_COUNT)
        )
        upload = rewards.call(
            "POST",
            f"/v1/code-banks/{bank['id']}/codes",
            data=f"code\n{codes}\n".encode(),
            headers={"Content-Type": "text/csv"},
        )
        codes_added = int(upload["accepted"])
    items = {
        item["name"]
        for item in rewards.call("GET", "/v1/catalog", params={"include_inactive": "true"})["items"]
    }
    wanted: list[dict[str, Any]] = [
        {
            "name": "15% off your next order",
            "description": "A one-time discount code for the shop.",
            "kind": "CODE",
            "cost_points": 50,
            "code_bank_id": bank["id"],
        },
        {
            "name": "A 10 EUR gift card",
            "description": "Sent by the team within a few days.",
            "kind": "GIFT_CARD",
            "cost_points": 1000,
            "stock": 20,
            "gift_card_amount_cents": 1000,
            "gift_card_currency": "EUR",
        },
    ]
    added = []
    for item in wanted:
        if item["name"] not in items:
            rewards.call("POST", "/v1/catalog", json=item)
            added.append(str(item["name"]))
    return codes_added, added


@contextmanager
def _marketer_token(database_url: str, report: DemoReport) -> Iterator[str]:
    """A short-lived bearer token of the demo marketer (created on the first run)."""
    database = Database(database_url)
    password = secrets.token_urlsafe(12)
    try:
        with database.transaction() as session:
            try:
                user = create_user(
                    session,
                    email=DEMO_MARKETER_EMAIL,
                    password=password,
                    display_name=DEMO_MARKETER_NAME,
                    role="marketer",
                )
                report.marketer_password = password
            except DuplicateEmail:
                user = session.scalars(select(User).where(User.email == DEMO_MARKETER_EMAIL)).one()
            token = issue_token(
                session, user=user, kind="bearer", ttl_seconds=SEED_TOKEN_TTL_SECONDS
            )
        try:
            yield token
        finally:
            with database.transaction() as session:
                revoke_token(session, token)
    finally:
        database.dispose()


PACKS_QUERY = """
query DemoPacks { contentPacks(first: 100) { edges { node {
  id title status assets { id status } } } } }
"""
CREATE_PACK = """
mutation ($input: CreateContentPackInput!) {
  createContentPack(input: $input) { contentPack { id title status assets { id status } }
    errors { field message } }
}
"""
UPLOAD = """
mutation ($input: UploadAssetInput!) {
  uploadAsset(input: $input) { asset { id status } errors { field message } }
}
"""
ASSETS = "query ($id: ID!) { contentPack(id: $id) { id assets { id status } } }"
PUBLISH = """
mutation ($id: ID!) { publishContentPack(id: $id) { contentPack { id status } errors { message } } }
"""


def _publish_packs(client: GraphQLClient, report: DemoReport, ready_timeout: float) -> None:
    existing = {
        edge["node"]["title"]: edge["node"]
        for edge in client.run(PACKS_QUERY)["contentPacks"]["edges"]
    }
    for spec in DEMO_PACKS:
        pack = existing.get(spec.title)
        if pack is None:
            pack = _created(
                client.run(
                    CREATE_PACK,
                    {
                        "input": {
                            "title": spec.title,
                            "summary": spec.summary,
                            "story": spec.story,
                            "purpose": spec.purpose,
                            "destinationUrl": spec.destination_url,
                            "minTier": spec.min_tier,
                            "tags": list(spec.tags),
                            "hashtags": list(spec.hashtags),
                            "captions": [
                                {"channel": channel, "text": text}
                                for channel, text in spec.captions.items()
                            ],
                        }
                    },
                )["createContentPack"],
                spec.title,
            )
            report.packs_created.append(spec.title)
        if pack["status"] != "DRAFT":
            continue
        if not any(asset["status"] in ("READY", "PROCESSING") for asset in pack["assets"]):
            uploaded = client.upload(
                UPLOAD,
                {"input": {"packId": pack["id"], "file": None, "altText": spec.alt_text}},
                "input.file",
                demo_image(spec),
            )["uploadAsset"]
            if uploaded["errors"]:
                raise DemoSeedError(f"{spec.title}: {uploaded['errors'][0]['message']}")
        _wait_for(
            partial(_has_ready_asset, client, str(pack["id"])),
            timeout=ready_timeout,
            failure=f"{spec.title}: its image was not processed within {ready_timeout:.0f}s; "
            "is the content worker running?",
        )
        published = client.run(PUBLISH, {"id": pack["id"]})["publishContentPack"]
        if published["errors"]:
            raise DemoSeedError(f"{spec.title}: {published['errors'][0]['message']}")
        report.packs_published.append(spec.title)


def _has_ready_asset(client: GraphQLClient, pack_id: str) -> bool:
    assets = client.run(ASSETS, {"id": pack_id})["contentPack"]["assets"]
    return any(asset["status"] == "READY" for asset in assets)


def _created(payload: dict[str, Any], title: str) -> dict[str, Any]:
    if payload["errors"]:
        error = payload["errors"][0]
        raise DemoSeedError(f"{title}: {error['message']} ({'.'.join(error['field'] or [])})")
    pack: dict[str, Any] = payload["contentPack"]
    return pack


def _wait_for(predicate: Callable[[], bool], *, timeout: float, failure: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise DemoSeedError(failure)
        time.sleep(0.5)


API_KEYS = "query { apiKeys { id name revokedAt } }"
CREATE_KEY = """
mutation ($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret errors { message } }
}
"""


def _partner_key(client: GraphQLClient) -> str | None:
    keys = client.run(API_KEYS)["apiKeys"]
    if any(key["name"] == DEMO_PARTNER_KEY_NAME and not key["revokedAt"] for key in keys):
        return None
    created = client.run(
        CREATE_KEY,
        {"input": {"name": DEMO_PARTNER_KEY_NAME, "scopes": list(DEMO_PARTNER_SCOPES)}},
    )["createApiKey"]
    if created["errors"]:
        raise DemoSeedError(f"partner key: {created['errors'][0]['message']}")
    secret: str = created["secret"]
    return secret

"""The marketer console's GraphQL: rules, code banks, the manual queues, and what fans see.

Over the real content, referrals and rewards services; events reach rewards
through its own consumer, and thank-yous are delivered by its own function.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from graphql import GraphQLObjectType
from PIL import Image
from sqlalchemy import select

from gateway.core.ids import global_id, raw_id_of
from gateway.identity.users import create_user
from gateway.schema import graphql_schema
from services.common.events import Event
from services.common.internal_auth import Principal, issue_internal_token
from services.rewards import deliveries
from services.rewards.models import deliveries as deliveries_table
from tests.gateway.conftest import (
    PASSWORD,
    SECRET,
    bearer,
    build_gateway,
    gateway_settings,
    log_in,
    post_graphql,
    sign_up,
    unreachable_url,
)
from tests.gateway.platform import Services, assembled_platform, running_services

N_CODES = 300
RULE_FIELDS = "id name trigger triggerClicks rewardKind points capPerDay budget paused issuedCount"
CREATE_RULE = f"""
mutation ($input: CreateRewardRuleInput!) {{
  createRewardRule(input: $input) {{ rule {{ {RULE_FIELDS} }} errors {{ field code message }} }}
}}
"""
UPDATE_RULE = f"""
mutation ($input: UpdateRewardRuleInput!) {{
  updateRewardRule(input: $input) {{ rule {{ {RULE_FIELDS} }} errors {{ field code message }} }}
}}
"""
RULES = f"query {{ rewardRules {{ {RULE_FIELDS} }} }}"
CREATE_BANK = """
mutation ($input: CreateCodeBankInput!) {
  createCodeBank(input: $input) {
    codeBank { id name lowStockThreshold remaining handedOut }
    errors { field code message }
  }
}
"""
UPLOAD_CODES = """
mutation ($input: UploadCodesInput!) {
  uploadCodes(input: $input) {
    report { accepted dryRun waitingRewardsServed rejected { line code error } }
    codeBank { id remaining }
    errors { field code message }
  }
}
"""
BANKS = "query { codeBanks { id name remaining handedOut } }"
GIFT_CARDS = """
query ($status: QueueStatus) {
  giftCardOrders(status: $status) { id amountCents currency status reason createdAt fulfilledAt }
}
"""
FULFIL = """
mutation ($input: FulfilGiftCardOrderInput!) {
  fulfilGiftCardOrder(input: $input) { order { id status } errors { field code message } }
}
"""
NOTES = """
query ($status: QueueStatus) {
  handwrittenNotes(status: $status) { id displayName message status writtenAt }
}
"""
MARK_WRITTEN = """
mutation ($id: ID!) {
  markNoteWritten(input: {id: $id}) { note { id status writtenAt } errors { field code message } }
}
"""
REDEEM = """
mutation ($id: ID!) {
  redeemReward(input: {catalogItemId: $id}) { reward { title } errors { code message } }
}
"""
CATALOG = "query { rewardCatalog { id title kind } }"
FAN_VIEW = """
query {
  tierThresholds { tier lifetimePoints }
  viewerRedemptions { itemName costPoints code giftCardStatus createdAt }
}
"""
PREFERENCES = """
mutation { updatePreferences(input: {thankYouChannel: HANDWRITTEN_NOTE}) { errors { code } } }
"""
VIEWER_ID = "query { viewer { user { id } } }"


@dataclass
class Console:
    services: Services
    gateway: Flask
    client: FlaskClient
    marketer: str
    fan: str

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, as_: str) -> Any:
        response = post_graphql(self.client, query, variables, headers=bearer(as_))
        assert response.status_code == 200, response.json
        return response.json

    def data(self, query: str, variables: dict[str, Any] | None = None, *, as_: str) -> Any:
        body = self.graphql(query, variables, as_=as_)
        assert "errors" not in body, body
        return body["data"]

    def fan_id(self) -> str:
        user_id = self.data(VIEWER_ID, as_=self.fan)["viewer"]["user"]["id"]
        raw = raw_id_of(user_id, "User")
        assert raw is not None
        return raw

    def share(self, fan_id: str, share_id: str) -> None:
        """A share recorded by referrals, as rewards' consumer receives it."""
        rewards = self.services.apps["rewards"].extensions["fanfare"]
        event = Event.new(
            type="referrals.share_recorded",
            producer="referrals",
            payload={"share_id": share_id, "fan_id": fan_id, "pack_id": "1", "channel": "X"},
        )
        with self.services.apps["rewards"].app_context():
            rewards.consumer.apply(rewards.db, event)

    def deliver_thank_yous(self) -> None:
        """Deliver every pending thank-you with rewards' own function, as its worker does."""
        app = self.services.apps["rewards"]
        db = app.extensions["fanfare"].db
        with db.transaction() as session:
            ids = list(session.scalars(select(deliveries_table.c.id)))
        with app.app_context():
            mail = app.extensions["rewards"].mail
            for delivery_id in ids:
                deliveries.deliver_reward(
                    db, delivery_id=delivery_id, mail=mail, today=date.today()
                )

    def rewards_rest(self, method: str, path: str, json: Any) -> Any:
        token = issue_internal_token(Principal(role="system"), audience="rewards", secret=SECRET)
        response = requests.request(
            method,
            self.services.urls["rewards"] + path,
            json=json,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code < 300, response.text
        return response.json()


# A capped, budgeted points rule, as a marketer would fill in the form.
TEN_CLICKS_RULE = {
    "name": "Ten clicks",
    "trigger": "HUMAN_CLICKS_REACHED",
    "triggerClicks": 10,
    "rewardKind": "POINTS",
    "points": 25,
    "capPerDay": 2,
    "budget": 1000,
}


@pytest.fixture
def console(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Console]:
    """The assembled platform (a marketer and a fan, Ann), without packs: the console's
    queues and rules need none."""
    with assembled_platform(database_url, redis_url, tmp_path, packs=0) as platform:
        yield Console(
            platform.services, platform.gateway, platform.client, platform.marketer, platform.fan
        )


def test_a_marketer_creates_pauses_and_resumes_a_rule(console: Console) -> None:
    # when a marketer creates a capped, budgeted rule
    created = console.data(
        CREATE_RULE,
        {"input": TEN_CLICKS_RULE},
        as_=console.marketer,
    )["createRewardRule"]

    # then it is stored live, and listed
    assert created["errors"] == []
    rule = created["rule"]
    assert {k: rule[k] for k in ("name", "trigger", "triggerClicks", "points", "paused")} == {
        "name": "Ten clicks",
        "trigger": "HUMAN_CLICKS_REACHED",
        "triggerClicks": 10,
        "points": 25,
        "paused": False,
    }
    listed = console.data(RULES, as_=console.marketer)["rewardRules"]
    assert [r["id"] for r in listed] == [rule["id"]]

    # when it is paused, then resumed
    paused = console.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "paused": True}}, as_=console.marketer
    )["updateRewardRule"]
    resumed = console.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "paused": False}}, as_=console.marketer
    )["updateRewardRule"]

    # then each change shows, and the rest of the rule stays
    assert (paused["rule"]["paused"], resumed["rule"]["paused"]) == (True, False)
    assert resumed["rule"]["capPerDay"] == 2


def test_a_rule_missing_what_its_kind_needs_names_the_field(console: Console) -> None:
    # when a points rule without points, and a code rule from an unknown bank, are created
    no_points = console.data(
        CREATE_RULE,
        {"input": {"name": "Share", "trigger": "SHARE_RECORDED", "rewardKind": "POINTS"}},
        as_=console.marketer,
    )["createRewardRule"]
    bad_bank = console.data(
        CREATE_RULE,
        {
            "input": {
                "name": "Code",
                "trigger": "SHARE_RECORDED",
                "rewardKind": "DISCOUNT_CODE",
                "codeBankId": "not-an-id",
            }
        },
        as_=console.marketer,
    )["createRewardRule"]
    unknown_rule = console.data(
        UPDATE_RULE,
        {"input": {"id": global_id("RewardRule", "999"), "paused": True}},
        as_=console.marketer,
    )["updateRewardRule"]

    # then each error is in the payload, on the field to fix
    assert no_points["rule"] is None
    assert [(e["field"], e["code"]) for e in no_points["errors"]] == [
        (["input", "points"], "INVALID")
    ]
    assert [(e["field"], e["code"]) for e in bad_bank["errors"]] == [
        (["input", "codeBankId"], "NOT_FOUND")
    ]
    assert [e["code"] for e in unknown_rule["errors"]] == ["NOT_FOUND"]
    assert console.data(RULES, as_=console.marketer)["rewardRules"] == []


def test_a_rule_update_clears_what_is_sent_as_null_and_keeps_what_is_left_out(
    console: Console,
) -> None:
    # given a rule with a daily cap and a budget
    rule = console.data(
        CREATE_RULE,
        {"input": TEN_CLICKS_RULE},
        as_=console.marketer,
    )["createRewardRule"]["rule"]

    # when a marketer changes only the budget (the cap left out)
    rebudgeted = console.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "budget": 500}}, as_=console.marketer
    )["updateRewardRule"]
    # and then sends the cap as an explicit null, in variables and in the query text
    cleared = console.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "capPerDay": None}}, as_=console.marketer
    )["updateRewardRule"]
    inline = console.data(
        f'mutation {{ updateRewardRule(input: {{id: "{rule["id"]}", budget: null}}) '
        f"{{ rule {{ {RULE_FIELDS} }} errors {{ field code message }} }} }}",
        as_=console.marketer,
    )["updateRewardRule"]

    # then the left-out cap is kept, and each null clears its value (and only that one)
    assert rebudgeted["errors"] == []
    assert (rebudgeted["rule"]["capPerDay"], rebudgeted["rule"]["budget"]) == (2, 500)
    assert (cleared["rule"]["capPerDay"], cleared["rule"]["budget"]) == (None, 500)
    assert (inline["rule"]["capPerDay"], inline["rule"]["budget"]) == (None, None)
    listed = console.data(RULES, as_=console.marketer)["rewardRules"]
    assert [(r["capPerDay"], r["budget"], r["points"]) for r in listed] == [(None, None, 25)]


def test_a_rule_update_refuses_null_for_what_a_rule_cannot_lack(console: Console) -> None:
    # given a points rule
    rule = console.data(
        CREATE_RULE,
        {
            "input": {
                "name": "Share",
                "trigger": "SHARE_RECORDED",
                "rewardKind": "POINTS",
                "points": 5,
            }
        },
        as_=console.marketer,
    )["createRewardRule"]["rule"]

    # when a marketer sends null for its name, and for the points its kind needs
    no_name = console.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "name": None}}, as_=console.marketer
    )["updateRewardRule"]
    no_points = console.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "points": None}}, as_=console.marketer
    )["updateRewardRule"]

    # then each is refused on its field, and the rule is unchanged
    assert [(e["field"], e["code"]) for e in no_name["errors"]] == [(["input", "name"], "INVALID")]
    assert [(e["field"], e["code"]) for e in no_points["errors"]] == [
        (["input", "points"], "INVALID")
    ]
    listed = console.data(RULES, as_=console.marketer)["rewardRules"]
    assert [(r["name"], r["points"]) for r in listed] == [("Share", 5)]


def test_a_marketer_previews_then_imports_a_csv_of_codes(console: Console) -> None:
    # given a new code bank
    bank = console.data(
        CREATE_BANK, {"input": {"name": "Spring", "lowStockThreshold": 1}}, as_=console.marketer
    )["createCodeBank"]["codeBank"]
    assert (bank["remaining"], bank["handedOut"], bank["lowStockThreshold"]) == (0, 0, 1)
    csv_text = "code\nSPRING-1\nSPRING 2\nSPRING-3\n"

    # when the marketer previews a CSV with a bad row
    preview = console.data(
        UPLOAD_CODES,
        {"input": {"codeBankId": bank["id"], "csv": csv_text, "dryRun": True}},
        as_=console.marketer,
    )["uploadCodes"]

    # then the bad row is named, and nothing is imported
    assert preview["report"] == {
        "accepted": 2,
        "dryRun": True,
        "waitingRewardsServed": 0,
        "rejected": [
            {
                "line": 3,
                "code": "SPRING 2",
                "error": "the code contains spaces or control characters",
            }
        ],
    }
    assert preview["codeBank"]["remaining"] == 0

    # when the same file is imported
    imported = console.data(
        UPLOAD_CODES, {"input": {"codeBankId": bank["id"], "csv": csv_text}}, as_=console.marketer
    )["uploadCodes"]

    # then the good rows are in the bank
    assert (imported["report"]["accepted"], imported["report"]["dryRun"]) == (2, False)
    assert console.data(BANKS, as_=console.marketer)["codeBanks"] == [
        {"id": bank["id"], "name": "Spring", "remaining": 2, "handedOut": 0}
    ]


def upload_csv_file(console: Console, bank_id: str, text: str, *, dry_run: bool) -> Any:
    """uploadCodes with the CSV as a file, as the console sends it (GraphQL multipart)."""
    variables = {"input": {"codeBankId": bank_id, "file": None, "dryRun": dry_run}}
    response = console.client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": UPLOAD_CODES, "variables": variables}),
            "map": json.dumps({"0": ["variables.input.file"]}),
            "0": (io.BytesIO(text.encode()), "codes.csv", "text/csv"),
        },
        content_type="multipart/form-data",
        headers=bearer(console.marketer),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "errors" not in body, body
    return body["data"]["uploadCodes"]


def test_a_csv_sent_as_a_file_is_previewed_and_imported(console: Console) -> None:
    # given a bank, and a file of 300 codes with one bad row
    bank_id = console.data(CREATE_BANK, {"input": {"name": "Big"}}, as_=console.marketer)[
        "createCodeBank"
    ]["codeBank"]["id"]
    rows = [f"BIG-{n:08d}" for n in range(N_CODES)]
    rows[123] = "BAD CODE"
    text = "code\n" + "\n".join(rows) + "\n"

    # when it is previewed, then imported, as files
    preview = upload_csv_file(console, bank_id, text, dry_run=True)
    after_preview = preview["codeBank"]["remaining"]
    imported = upload_csv_file(console, bank_id, text, dry_run=False)

    # then the preview named the bad row and wrote nothing; the import took the rest
    assert preview["errors"] == []
    assert preview["report"]["accepted"] == N_CODES - 1
    assert preview["report"]["rejected"] == [
        {
            "line": 125,
            "code": "BAD CODE",
            "error": "the code contains spaces or control characters",
        }
    ]
    assert after_preview == 0
    assert (imported["report"]["accepted"], imported["codeBank"]["remaining"]) == (
        N_CODES - 1,
        N_CODES - 1,
    )


def test_five_thousand_codes_are_previewed_and_imported_in_one_request_each(
    console: Console,
) -> None:
    # given a bank, and a file of 5,000 codes (the gateway waits 1.5 s for rewards)
    bank_id = console.data(CREATE_BANK, {"input": {"name": "Bulk"}}, as_=console.marketer)[
        "createCodeBank"
    ]["codeBank"]["id"]
    text = "code\n" + "".join(f"BULK-{n:05d}\n" for n in range(5000))

    # when the marketer previews it, then imports it, each as one GraphQL request
    preview = upload_csv_file(console, bank_id, text, dry_run=True)
    imported = upload_csv_file(console, bank_id, text, dry_run=False)

    # then neither timed out: the preview counted every code and the import stored them all
    assert (preview["errors"], preview["report"]["accepted"]) == ([], 5000)
    assert (imported["errors"], imported["report"]["accepted"]) == ([], 5000)
    assert imported["report"]["rejected"] == []
    assert imported["codeBank"]["remaining"] == 5000


def test_code_bank_mistakes_come_back_on_their_fields(console: Console) -> None:
    # given a bank named Spring
    first = console.data(CREATE_BANK, {"input": {"name": "Spring"}}, as_=console.marketer)
    bank_id = first["createCodeBank"]["codeBank"]["id"]

    # when a second bank takes the name, an empty file is sent, and an unknown bank is named
    taken = console.data(CREATE_BANK, {"input": {"name": "Spring"}}, as_=console.marketer)
    empty = console.data(
        UPLOAD_CODES, {"input": {"codeBankId": bank_id, "csv": " \n"}}, as_=console.marketer
    )
    unknown = console.data(
        UPLOAD_CODES,
        {"input": {"codeBankId": global_id("CodeBank", "999"), "csv": "A-1\n"}},
        as_=console.marketer,
    )

    # then each says what to fix, on its field
    assert [(e["field"], e["code"]) for e in taken["createCodeBank"]["errors"]] == [
        (["input", "name"], "NAME_TAKEN")
    ]
    assert [(e["field"], e["code"]) for e in empty["uploadCodes"]["errors"]] == [
        (["input", "csv"], "INVALID")
    ]
    empty_file = upload_csv_file(console, bank_id, "", dry_run=True)
    assert [(e["field"], e["code"]) for e in empty_file["errors"]] == [
        (["input", "file"], "INVALID")
    ]
    assert [e["code"] for e in unknown["uploadCodes"]["errors"]] == ["NOT_FOUND"]


def test_a_marketer_fulfils_a_gift_card_a_fan_redeemed(console: Console) -> None:
    # given a fan with points from shares, who redeems a gift card from the catalog
    console.data(
        CREATE_RULE,
        {
            "input": {
                "name": "Shared",
                "trigger": "SHARE_RECORDED",
                "rewardKind": "POINTS",
                "points": 60,
            }
        },
        as_=console.marketer,
    )
    console.rewards_rest(
        "POST",
        "/v1/catalog",
        {
            "name": "10 EUR card",
            "kind": "GIFT_CARD",
            "cost_points": 50,
            "gift_card_amount_cents": 1000,
            "gift_card_currency": "EUR",
        },
    )
    fan_id = console.fan_id()
    console.share(fan_id, "share-1")
    item = console.data(CATALOG, as_=console.fan)["rewardCatalog"][0]
    redeemed = console.data(REDEEM, {"id": item["id"]}, as_=console.fan)["redeemReward"]
    assert redeemed["errors"] == [], redeemed

    # when the marketer opens the queue and fulfils the order
    queue = console.data(GIFT_CARDS, as_=console.marketer)["giftCardOrders"]
    assert [(o["amountCents"], o["currency"], o["status"], o["reason"]) for o in queue] == [
        (1000, "EUR", "PENDING", "Redeemed from the catalog")
    ]
    order_id = queue[0]["id"]
    fulfilled = console.data(
        FULFIL, {"input": {"id": order_id, "cardCode": " CARD-123 "}}, as_=console.marketer
    )["fulfilGiftCardOrder"]
    again = console.data(
        FULFIL, {"input": {"id": order_id, "cardCode": "CARD-456"}}, as_=console.marketer
    )["fulfilGiftCardOrder"]

    # then it leaves the pending queue, a second fulfilment is refused, and the fan sees it
    assert fulfilled == {"order": {"id": order_id, "status": "DONE"}, "errors": []}
    assert [e["code"] for e in again["errors"]] == ["ALREADY_DONE"]
    assert console.data(GIFT_CARDS, as_=console.marketer)["giftCardOrders"] == []
    done = console.data(GIFT_CARDS, {"status": "DONE"}, as_=console.marketer)["giftCardOrders"]
    assert [o["id"] for o in done] == [order_id]
    assert done[0]["fulfilledAt"] is not None
    mine = console.data(FAN_VIEW, as_=console.fan)["viewerRedemptions"]
    assert [(r["itemName"], r["costPoints"], r["giftCardStatus"]) for r in mine] == [
        ("10 EUR card", 50, "FULFILLED")
    ]


def test_a_marketer_writes_a_note_a_fan_asked_for(console: Console) -> None:
    # given a fan who likes handwritten notes, thanked by a note rule for a share
    console.data(PREFERENCES, as_=console.fan)
    console.data(
        CREATE_RULE,
        {
            "input": {
                "name": "Note",
                "trigger": "SHARE_RECORDED",
                "rewardKind": "THANK_YOU_NOTE",
                "noteTemplate": "Thank you for sharing!",
            }
        },
        as_=console.marketer,
    )
    console.share(console.fan_id(), "share-1")
    console.deliver_thank_yous()

    # when the marketer opens the queue and marks the note written
    queue = console.data(NOTES, as_=console.marketer)["handwrittenNotes"]
    assert [(n["displayName"], n["status"]) for n in queue] == [("Ann", "PENDING")]
    written = console.data(MARK_WRITTEN, {"id": queue[0]["id"]}, as_=console.marketer)
    again = console.data(MARK_WRITTEN, {"id": queue[0]["id"]}, as_=console.marketer)

    # then it is done once, and the pending queue is empty
    assert written["markNoteWritten"]["note"]["status"] == "DONE"
    assert [e["code"] for e in again["markNoteWritten"]["errors"]] == ["ALREADY_DONE"]
    assert console.data(NOTES, as_=console.marketer)["handwrittenNotes"] == []


def test_fans_cannot_see_or_run_the_console(console: Console) -> None:
    # when a fan asks for each marketer field and mutation
    fields = ("rewardRules", "codeBanks", "giftCardOrders", "handwrittenNotes")
    reads = {
        name: console.graphql(f"query {{ {name} {{ id }} }}", as_=console.fan) for name in fields
    }
    write = console.graphql(
        CREATE_RULE,
        {"input": {"name": "Mine", "trigger": "SHARE_RECORDED", "rewardKind": "POINTS"}},
        as_=console.fan,
    )
    anonymous = post_graphql(console.client, "query { codeBanks { id } }").json

    # then every one is refused at the top level, and nothing was created
    for name, body in reads.items():
        assert body["data"] is None
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            ([name], "FORBIDDEN")
        ]
    assert [e["extensions"]["code"] for e in write["errors"]] == ["FORBIDDEN"]
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert console.data(RULES, as_=console.marketer)["rewardRules"] == []


def test_a_fan_reads_the_configured_tiers_and_only_their_own_redemptions(
    console: Console,
) -> None:
    # when a fan and a marketer read the tiers, and the marketer asks for "their" redemptions
    fan_view = console.data(FAN_VIEW, as_=console.fan)
    marketer_tiers = console.data("query { tierThresholds { tier } }", as_=console.marketer)
    marketer_redemptions = console.graphql(
        "query { viewerRedemptions { id } }", as_=console.marketer
    )

    # then the tiers are rewards' thresholds, and redemptions are for fans
    assert fan_view["tierThresholds"] == [
        {"tier": "FAN", "lifetimePoints": 0},
        {"tier": "ADVOCATE", "lifetimePoints": 100},
        {"tier": "INSIDER", "lifetimePoints": 500},
        {"tier": "AMBASSADOR", "lifetimePoints": 2000},
    ]
    assert fan_view["viewerRedemptions"] == []
    assert len(marketer_tiers["tierThresholds"]) == 4
    assert [e["extensions"]["code"] for e in marketer_redemptions["errors"]] == ["FORBIDDEN"]


LEAVE_FEEDBACK = """
mutation ($input: LeaveFeedbackInput!) { leaveFeedback(input: $input) { errors { code } } }
"""
PACK_FEEDBACK = """
query ($id: ID!, $first: Int, $after: String) {
  node(id: $id) {
    ... on ContentPack {
      feedback(first: $first, after: $after) {
        totalCount
        edges { node { sentiment text createdAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""


CREATE_PACK = """
mutation ($input: CreateContentPackInput!) {
  createContentPack(input: $input) { contentPack { id } errors { code } }
}
"""
UPLOAD = """
mutation ($input: UploadAssetInput!) { uploadAsset(input: $input) { errors { code } } }
"""
PUBLISH = "mutation ($id: ID!) { publishContentPack(id: $id) { errors { code } } }"


def publish_pack(console: Console) -> str:
    """A published pack with one image, made through GraphQL as the console does."""
    created = console.data(
        CREATE_PACK,
        {
            "input": {
                "title": "Behind the scenes",
                "summary": "How the new shop was built.",
                "story": "It started with a *sketch*.",
                "purpose": "LEARN",
                "destinationUrl": "https://shop.example/new",
                "tags": ["shop"],
                "captions": [{"channel": "X", "text": "Look at this"}],
            }
        },
        as_=console.marketer,
    )["createContentPack"]
    pack_id: str = created["contentPack"]["id"]
    image = io.BytesIO()
    Image.new("RGB", (320, 240), "blue").save(image, "JPEG")
    image.seek(0)
    operations = {"query": UPLOAD, "variables": {"input": {"packId": pack_id, "file": None}}}
    uploaded = console.client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
            "0": (image, "photo.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
        headers=bearer(console.marketer),
    ).get_json()
    assert uploaded["data"]["uploadAsset"]["errors"] == [], uploaded
    console.services.process_uploads()
    published = console.data(PUBLISH, {"id": pack_id}, as_=console.marketer)
    assert published["publishContentPack"]["errors"] == []
    console.services.deliver_events()
    return pack_id


def test_a_marketer_reads_a_packs_feedback_newest_first(console: Console) -> None:
    # given a published pack on which two fans left feedback, one after the other
    pack_id = publish_pack(console)
    other_fan = sign_up(console.client, email="bo@example.com", display_name="Bo")
    other = other_fan.json["data"]["signUp"]["token"]
    for token, sentiment, text in (
        (console.fan, "POSITIVE", "Loved the sketches"),
        (other, "IDEA", "Show the night shift"),
    ):
        left = console.data(
            LEAVE_FEEDBACK,
            {"input": {"packId": pack_id, "sentiment": sentiment, "text": text}},
            as_=token,
        )
        assert left["leaveFeedback"]["errors"] == []

    # when the marketer reads it a page of one at a time, and a fan tries to
    first = console.data(PACK_FEEDBACK, {"id": pack_id, "first": 1}, as_=console.marketer)
    cursor = first["node"]["feedback"]["pageInfo"]["endCursor"]
    second = console.data(
        PACK_FEEDBACK, {"id": pack_id, "first": 1, "after": cursor}, as_=console.marketer
    )
    as_fan = console.data(PACK_FEEDBACK, {"id": pack_id}, as_=console.fan)

    # then it comes newest first with the words, and fans see none of it
    pages = [first["node"]["feedback"], second["node"]["feedback"]]
    assert [page["totalCount"] for page in pages] == [2, 2]
    assert [(e["node"]["sentiment"], e["node"]["text"]) for p in pages for e in p["edges"]] == [
        ("IDEA", "Show the night shift"),
        ("POSITIVE", "Loved the sketches"),
    ]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, False]
    assert as_fan["node"]["feedback"] is None


PACKS_FUNNEL = """
query {
  contentPacks(first: 10) {
    edges { node { id title stats { shares conversions rewards pointsIssued } } }
  }
}
"""


def reward_share(console: Console, *, fan_id: str, pack_id: str, share_id: str) -> None:
    """A share of a pack recorded by referrals, as rewards' consumer receives it."""
    rewards = console.services.apps["rewards"].extensions["fanfare"]
    event = Event.new(
        type="referrals.share_recorded",
        producer="referrals",
        payload={"share_id": share_id, "fan_id": fan_id, "pack_id": pack_id, "channel": "X"},
    )
    with console.services.apps["rewards"].app_context():
        rewards.consumer.apply(rewards.db, event)


def test_the_funnel_shows_rewards_per_pack_in_one_rewards_call(console: Console) -> None:
    # given a 15-point share rule, a published pack shared twice, and a draft never shared
    created = console.data(
        CREATE_RULE,
        {
            "input": {
                "name": "Share",
                "trigger": "SHARE_RECORDED",
                "rewardKind": "POINTS",
                "points": 15,
            }
        },
        as_=console.marketer,
    )
    assert created["createRewardRule"]["errors"] == []
    shared = publish_pack(console)
    draft = console.data(
        CREATE_PACK,
        {
            "input": {
                "title": "Not yet",
                "summary": "A draft.",
                "story": "Soon.",
                "purpose": "LAUGH",
                "destinationUrl": "https://shop.example/soon",
            }
        },
        as_=console.marketer,
    )["createContentPack"]["contentPack"]["id"]
    fan_id = console.fan_id()
    for share_id in ("s1", "s2"):
        raw_pack_id = raw_id_of(shared, "ContentPack")
        assert raw_pack_id is not None
        reward_share(console, fan_id=fan_id, pack_id=raw_pack_id, share_id=share_id)

    # when the marketer lists the packs with their funnel, and a fan asks the same
    console.services.reset_counts()
    packs = console.data(PACKS_FUNNEL, as_=console.marketer)["contentPacks"]["edges"]
    rewards_calls = dict(console.services.counters["rewards"].calls)
    as_fan = console.data(PACKS_FUNNEL, as_=console.fan)["contentPacks"]["edges"]

    # then each pack shows its rewards and points, asked of rewards once for the whole page
    stats = {edge["node"]["id"]: edge["node"]["stats"] for edge in packs}
    assert (stats[shared]["rewards"], stats[shared]["pointsIssued"]) == (2, 30)
    assert (stats[draft]["rewards"], stats[draft]["pointsIssued"]) == (0, 0)
    assert rewards_calls == {"GET /v1/pack-stats": 1}
    # and a fan sees no funnel at all
    assert [edge["node"]["stats"] for edge in as_fan] == [None]


def test_with_rewards_down_the_funnel_keeps_its_other_steps(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # given a gateway whose rewards service cannot be reached
    with running_services(tmp_path / "services", redis_url, SECRET) as services:
        gateway = build_gateway(
            gateway_settings(
                database_url,
                redis_url,
                content_url=services.urls["content"],
                referrals_url=services.urls["referrals"],
                rewards_url=unreachable_url(),
            )
        )
        client = gateway.test_client()
        with gateway.extensions["fanfare"].db.transaction() as session:
            create_user(
                session,
                email="mia@brand.example",
                password=PASSWORD,
                display_name="Mia",
                role="marketer",
            )
        marketer = log_in(client, "mia@brand.example", PASSWORD).json["data"]["logIn"]["token"]
        console = Console(services, gateway, client, marketer, fan="")
        publish_pack(console)

        # when the marketer reads the funnel
        body = console.graphql(PACKS_FUNNEL, as_=marketer)
        gateway.extensions["fanfare"].db.dispose()

    # then shares and conversions are there, the rewards steps are null and say why
    stats = body["data"]["contentPacks"]["edges"][0]["node"]["stats"]
    assert (stats["shares"], stats["conversions"]) == (0, 0)
    assert (stats["rewards"], stats["pointsIssued"]) == (None, None)
    failed = {tuple(e["path"][-1:]): e["extensions"]["code"] for e in body["errors"]}
    assert failed == {("rewards",): "SERVICE_UNAVAILABLE", ("pointsIssued",): "SERVICE_UNAVAILABLE"}


VIEWER_REDEMPTIONS = """
query {
  viewer { redemptions { id itemName costPoints code giftCardStatus createdAt } }
  viewerRedemptions { id itemName costPoints code giftCardStatus createdAt }
}
"""


def test_the_viewer_lists_their_redemptions_with_codes_and_others_get_null(
    console: Console,
) -> None:
    # given a fan who earned 60 points and redeemed a 50-point discount code
    console.data(
        CREATE_RULE,
        {
            "input": {
                "name": "Shared",
                "trigger": "SHARE_RECORDED",
                "rewardKind": "POINTS",
                "points": 60,
            }
        },
        as_=console.marketer,
    )
    bank = console.rewards_rest("POST", "/v1/code-banks", {"name": "Ten", "low_stock_threshold": 0})
    uploaded = requests.post(
        f"{console.services.urls['rewards']}/v1/code-banks/{bank['id']}/codes",
        data=b"TEN-OFF-1\n",
        headers={
            "Content-Type": "text/csv",
            "Authorization": "Bearer "
            + issue_internal_token(Principal(role="system"), audience="rewards", secret=SECRET),
        },
        timeout=10,
    )
    assert uploaded.json()["accepted"] == 1, uploaded.text
    console.rewards_rest(
        "POST",
        "/v1/catalog",
        {"name": "10% off", "kind": "CODE", "cost_points": 50, "code_bank_id": bank["id"]},
    )
    console.share(console.fan_id(), "share-1")
    item = console.data(CATALOG, as_=console.fan)["rewardCatalog"][0]
    redeemed = console.data(REDEEM, {"id": item["id"]}, as_=console.fan)["redeemReward"]
    assert redeemed["errors"] == [], redeemed

    # when the fan reads their redemptions on the viewer, and by the deprecated field
    mine = console.data(VIEWER_REDEMPTIONS, as_=console.fan)
    marketer = console.graphql("query { viewer { redemptions { id } } }", as_=console.marketer)

    # then the viewer's list has the item and its code, the same as the old field's
    listed = mine["viewer"]["redemptions"]
    assert [(r["itemName"], r["costPoints"], r["code"]) for r in listed] == [
        ("10% off", 50, "TEN-OFF-1")
    ]
    assert listed == mine["viewerRedemptions"]
    # and a marketer, who redeems nothing, gets null without an error
    assert marketer["data"] == {"viewer": {"redemptions": None}}
    assert "errors" not in marketer


def test_the_old_redemptions_field_is_deprecated_in_favour_of_the_viewers() -> None:
    # when the schema's two fields are read
    schema = graphql_schema()
    assert schema.query_type is not None
    old = schema.query_type.fields["viewerRedemptions"]
    viewer = schema.type_map["Viewer"]
    assert isinstance(viewer, GraphQLObjectType)
    new = viewer.fields["redemptions"]

    # then the old one says where to go, and the new one lists the same Redemption type
    assert old.deprecation_reason == "Use `viewer { redemptions }`, the same list on the viewer."
    assert new.deprecation_reason is None
    assert str(new.type) == "[Redemption!]"
    assert str(old.type) == "[Redemption!]!"

"""Code banks: CSV upload with per-row errors, each code once under concurrency, low stock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import select

from services.common.internal_auth import issue_internal_token
from services.rewards.models import event_tables
from tests.rewards.conftest import SECRET, RewardsDriver, fan
from tests.support.live import serve


def create_bank(driver: RewardsDriver, name: str = "Spring", threshold: int = 2) -> int:
    response = driver.call(
        "POST", "/v1/code-banks", json={"name": name, "low_stock_threshold": threshold}
    )
    assert response.status_code == 201, response.json
    return int(response.json["id"])


def upload(driver: RewardsDriver, bank_id: int, text: str) -> dict[str, object]:
    response = driver.call(
        "POST",
        f"/v1/code-banks/{bank_id}/codes",
        data=text.encode(),
        content_type="text/csv",
    )
    assert response.status_code == 200, response.json
    body: dict[str, object] = response.json
    return body


def low_stock_events(driver: RewardsDriver) -> list[dict[str, object]]:
    table = event_tables.outbox
    with driver.runtime.db.transaction() as session:
        rows = session.execute(
            select(table.c.payload).where(table.c.event_type == "rewards.code_bank_low")
        )
        return [dict(payload) for (payload,) in rows]


def test_a_csv_upload_takes_good_rows_and_names_each_bad_one(driver: RewardsDriver) -> None:
    # given a bank that already holds one code
    bank_id = create_bank(driver)
    upload(driver, bank_id, "OLD-1\n")

    # when a CSV with a header, good codes and bad rows is uploaded
    report = upload(
        driver,
        bank_id,
        "code\nGOOD-1\nGOOD-2\n\nHAS SPACE\nGOOD-1\nOLD-1\nA,B\n" + "X" * 201 + "\n",
    )

    # then the good codes are in and every bad row says what to fix
    assert report["accepted"] == 2
    assert report["rejected"] == [
        {"line": 4, "code": "", "error": "the row is empty; put one code in the first column"},
        {"line": 5, "code": "HAS SPACE", "error": "the code contains spaces or control characters"},
        {"line": 6, "code": "GOOD-1", "error": "the code appears earlier in this file"},
        {"line": 7, "code": "OLD-1", "error": "this code is in the bank already"},
        {
            "line": 8,
            "code": "A",
            "error": "the row has more than one value; put exactly one code per row",
        },
        {"line": 9, "code": "X" * 200, "error": "the code is longer than 200 characters"},
    ]
    bank = driver.call("GET", f"/v1/code-banks/{bank_id}").json
    assert (bank["remaining"], bank["handed_out"]) == (3, 0)


def test_an_empty_upload_is_refused_with_a_hint(driver: RewardsDriver) -> None:
    bank_id = create_bank(driver)
    response = driver.call("POST", f"/v1/code-banks/{bank_id}/codes", data=b"")
    assert response.status_code == 422
    assert "CSV" in response.json["error"]["message"]


def test_parallel_redemptions_each_get_a_different_code(driver: RewardsDriver) -> None:
    # given 8 codes behind a 1-point item, and 12 fans with points
    bank_id = create_bank(driver, threshold=3)
    upload(driver, bank_id, "\n".join(f"CODE-{n}" for n in range(8)))
    item = driver.call(
        "POST",
        "/v1/catalog",
        json={"name": "10% off", "kind": "CODE", "cost_points": 1, "code_bank_id": bank_id},
    ).json
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=5)
    fans = [f"fan-{n}" for n in range(12)]
    for fan_id in fans:
        driver.share(fan_id)

    # when all 12 redeem at once
    with serve(driver.app) as base_url:

        def redeem(fan_id: str) -> requests.Response:
            token = issue_internal_token(fan(fan_id), audience="rewards", secret=SECRET)
            return requests.post(
                f"{base_url}/v1/fans/{fan_id}/redemptions",
                json={"item_id": item["id"]},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )

        with ThreadPoolExecutor(max_workers=12) as pool:
            responses = list(pool.map(redeem, fans))

    # then 8 got 8 different codes, 4 were told it ran out and kept their points
    codes = [r.json()["code"] for r in responses if r.status_code == 201]
    assert sorted(codes) == sorted(f"CODE-{n}" for n in range(8))
    refused = [r for r in responses if r.status_code != 201]
    assert [r.json()["error"]["code"] for r in refused] == ["OUT_OF_STOCK"] * 4
    assert sum(driver.summary(f)["balance"] for f in fans) == 8 * 4 + 4 * 5
    # and the bank announced once that it ran under its threshold of 3
    assert low_stock_events(driver) == [
        {"bank_id": str(bank_id), "name": "Spring", "remaining": 2, "threshold": 3}
    ]


def test_a_discount_code_reward_waits_for_stock_and_is_served_on_upload(
    driver: RewardsDriver,
) -> None:
    # given a rule handing out codes from an empty bank
    bank_id = create_bank(driver, threshold=0)
    driver.rule(
        name="code",
        trigger="CONVERSION_APPROVED",
        reward_kind="DISCOUNT_CODE",
        code_bank_id=bank_id,
    )

    # when a conversion earns a code, then the marketer uploads codes
    driver.conversion("fan-1", "c1")
    waiting = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"][0]
    report = upload(driver, bank_id, "FRESH-1\nFRESH-2\n")

    # then the reward waited, then got the first code, which only its owner sees
    assert (waiting["status"], waiting["code"]) == ("AWAITING_STOCK", None)
    assert report["waiting_rewards_served"] == 1
    mine = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"][0]
    assert (mine["status"], mine["code"]) == ("ISSUED", "FRESH-1")
    staff_view = driver.call("GET", "/v1/fans/fan-1/rewards").json["items"][0]
    assert staff_view["code"] is None


def test_five_thousand_codes_go_in_with_one_call_and_old_ones_are_named_by_line(
    driver: RewardsDriver,
) -> None:
    # given a bank holding two codes
    bank_id = create_bank(driver, threshold=0)
    upload(driver, bank_id, "OLD-1\nOLD-2\n")

    # when one CSV brings 5,000 new codes, the two old ones, and a repeat of each kind
    new_codes = [f"BULK-{n:05d}" for n in range(5000)]
    lines = ["code", *new_codes[:2500], "OLD-1", *new_codes[2500:], "OLD-2", "BULK-00007", "OLD-1"]
    report = upload(driver, bank_id, "\n".join(lines) + "\n")

    # then every new code is in, and the others are named by their line in the file
    assert report["accepted"] == 5000
    assert report["rejected"] == [
        {"line": 2502, "code": "OLD-1", "error": "this code is in the bank already"},
        {"line": 5003, "code": "OLD-2", "error": "this code is in the bank already"},
        {"line": 5004, "code": "BULK-00007", "error": "the code appears earlier in this file"},
        {"line": 5005, "code": "OLD-1", "error": "this code is in the bank already"},
    ]
    bank = driver.call("GET", f"/v1/code-banks/{bank_id}").json
    assert (bank["remaining"], bank["handed_out"]) == (5002, 0)

    # and uploading the same file again adds nothing and names all 5,000 as already there
    again = upload(driver, bank_id, "\n".join(new_codes) + "\n")
    rejected_again = again["rejected"]
    assert isinstance(rejected_again, list)
    assert again["accepted"] == 0
    assert len(rejected_again) == 5000
    assert {entry["error"] for entry in rejected_again} == {"this code is in the bank already"}

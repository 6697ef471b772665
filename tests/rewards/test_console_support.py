"""What the marketer console needs from rewards: a dry-run code upload, and the tier thresholds."""

from __future__ import annotations

from flask import Flask

from services.rewards.app import create_app
from tests.rewards.conftest import RewardsDriver, fan, migrate, rewards_settings
from tests.rewards.test_code_banks import create_bank, upload


def preview(driver: RewardsDriver, bank_id: int, text: str) -> dict[str, object]:
    response = driver.call(
        "POST",
        f"/v1/code-banks/{bank_id}/codes?dry_run=true",
        data=text.encode(),
        content_type="text/csv",
    )
    assert response.status_code == 200, response.json
    body: dict[str, object] = response.json
    return body


def test_a_dry_run_reports_what_an_upload_would_do_and_writes_nothing(
    driver: RewardsDriver,
) -> None:
    # given a bank that already holds one code
    bank_id = create_bank(driver)
    upload(driver, bank_id, "OLD-1\n")
    csv_text = "code\nNEW-1\nNEW-2\nOLD-1\nNEW-1\nHAS SPACE\n"

    # when the marketer previews a CSV with good and bad rows
    report = preview(driver, bank_id, csv_text)

    # then the preview names every bad row as the upload would, and the bank is unchanged
    assert report["dry_run"] is True
    assert report["accepted"] == 2
    assert report["rejected"] == [
        {"line": 4, "code": "OLD-1", "error": "this code is in the bank already"},
        {"line": 5, "code": "NEW-1", "error": "the code appears earlier in this file"},
        {"line": 6, "code": "HAS SPACE", "error": "the code contains spaces or control characters"},
    ]
    bank = driver.call("GET", f"/v1/code-banks/{bank_id}").json
    assert bank["remaining"] == 1

    # and the real upload of the same file then does exactly what the preview said
    real = upload(driver, bank_id, csv_text)
    assert (real["accepted"], real["rejected"], real["dry_run"]) == (
        report["accepted"],
        report["rejected"],
        False,
    )
    assert driver.call("GET", f"/v1/code-banks/{bank_id}").json["remaining"] == 3


def test_a_dry_run_of_an_unknown_bank_or_empty_file_is_refused(driver: RewardsDriver) -> None:
    # when the marketer previews into a bank that does not exist, or sends nothing
    missing = driver.call(
        "POST", "/v1/code-banks/999/codes?dry_run=1", data=b"A-1\n", content_type="text/csv"
    )
    bank_id = create_bank(driver)
    empty = driver.call(
        "POST", f"/v1/code-banks/{bank_id}/codes?dry_run=1", data=b"", content_type="text/csv"
    )
    bad_flag = driver.call("POST", f"/v1/code-banks/{bank_id}/codes?dry_run=maybe", data=b"A-1\n")

    # then each gets a clear 4xx with a stable code
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "NOT_FOUND")
    assert (empty.status_code, empty.json["error"]["code"]) == (422, "INVALID")
    assert (bad_flag.status_code, bad_flag.json["error"]["code"]) == (422, "INVALID")
    assert "dry_run" in str(bad_flag.json["error"])


def test_any_signed_in_caller_reads_the_tier_thresholds(driver: RewardsDriver) -> None:
    # when a fan asks for the tiers
    response = driver.call("GET", "/v1/tiers", fan("fan-1"))

    # then every tier comes with the lifetime points it needs, lowest first
    assert response.status_code == 200
    assert response.json["items"] == [
        {"tier": "FAN", "lifetime_points": 0},
        {"tier": "ADVOCATE", "lifetime_points": 100},
        {"tier": "INSIDER", "lifetime_points": 500},
        {"tier": "AMBASSADOR", "lifetime_points": 2000},
    ]


def test_the_thresholds_shown_are_the_configured_ones(database_url: str, redis_url: str) -> None:
    # given rewards configured with other thresholds
    migrate(database_url)
    settings = rewards_settings(database_url, redis_url).model_copy(
        update={"tier_thresholds": "ADVOCATE=10,INSIDER=50,AMBASSADOR=90"}
    )
    app: Flask = create_app(settings)
    try:
        # when the tiers are read
        body = RewardsDriver(app).call("GET", "/v1/tiers", fan("fan-1")).json

        # then they are the configured ones
        assert [item["lifetime_points"] for item in body["items"]] == [0, 10, 50, 90]
    finally:
        app.extensions["fanfare"].db.dispose()

"""Thank-yous through the fan's channel: email (real SMTP), digest, wall, notes, silence."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.common.celery_app import send_event
from services.common.events import Event
from services.rewards import deliveries
from services.rewards.app import create_app
from services.rewards.deliveries import MailConfig
from services.rewards.mailers import SmtpMailer
from services.rewards.models import deliveries as deliveries_table
from tests.rewards.conftest import SECRET, RewardsDriver, fan, migrate, rewards_settings
from tests.support.smtp import SmtpServer
from tests.support.workers import CeleryWorker, wait_until

TODAY = date(2026, 11, 22)
SENDER = "Fanfare <thanks@fanfare.test>"


def profile(driver: RewardsDriver, fan_id: str, channel: str, name: str = "Ada") -> None:
    response = driver.call(
        "PUT",
        f"/v1/fans/{fan_id}",
        fan(fan_id),
        json={"email": f"{fan_id}@example.org", "display_name": name, "thank_you_channel": channel},
    )
    assert response.status_code == 200, response.json


def delivery_rows(driver: RewardsDriver) -> list[dict[str, object]]:
    with driver.runtime.db.transaction() as session:
        rows = session.execute(select(deliveries_table).order_by(deliveries_table.c.id))
        return [dict(row) for row in rows.mappings()]


def deliver_all(driver: RewardsDriver, mail: MailConfig, today: date = TODAY) -> list[str]:
    return [
        deliveries.deliver_reward(
            driver.runtime.db, delivery_id=int(str(row["id"])), mail=mail, today=today
        )
        for row in delivery_rows(driver)
    ]


@pytest.fixture
def smtp_mail(smtp_inbox: SmtpServer) -> MailConfig:
    return MailConfig(mailer=SmtpMailer(smtp_inbox.url), sender=SENDER)


def test_a_private_email_goes_out_once_a_day_and_the_rest_waits_for_the_digest(
    driver: RewardsDriver, smtp_inbox: SmtpServer, smtp_mail: MailConfig
) -> None:
    # given a fan who likes private emails, and two conversions earning points today
    profile(driver, "fan-1", "PRIVATE_EMAIL")
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)
    driver.conversion("fan-1", "c1")
    driver.conversion("fan-1", "c2")

    # when both thank-yous are delivered today
    statuses = deliver_all(driver, smtp_mail)

    # then one personal email arrived and the second waits for tomorrow's digest
    assert statuses == ["SENT", "DIGEST_PENDING"]
    [mail] = smtp_inbox.wait_for(1)
    assert mail.rcpt_tos == ("fan-1@example.org",)
    assert mail.message["Subject"] == "Thank you from Fanfare"
    assert "Hi Ada," in mail.message.get_content()
    assert "You earned 100 points" in mail.message.get_content()

    # when the digest runs today, nothing more is sent; tomorrow one digest carries the rest
    assert (
        deliveries.send_digest(driver.runtime.db, fan_id="fan-1", mail=smtp_mail, today=TODAY) == 0
    )
    tomorrow = TODAY + timedelta(days=1)
    with driver.runtime.db.transaction() as session:
        assert deliveries.fans_with_due_digests(session, today=tomorrow) == ["fan-1"]
    sent = deliveries.send_digest(driver.runtime.db, fan_id="fan-1", mail=smtp_mail, today=tomorrow)
    assert sent == 1
    messages = smtp_inbox.wait_for(2)
    assert messages[1].message["Subject"] == "Your thank-yous from Fanfare (1)"
    assert [row["status"] for row in delivery_rows(driver)] == ["SENT", "DIGESTED"]
    # and a second run of the digest sends nothing twice
    assert (
        deliveries.send_digest(driver.runtime.db, fan_id="fan-1", mail=smtp_mail, today=tomorrow)
        == 0
    )
    assert len(smtp_inbox.messages) == 2


def test_a_public_shoutout_puts_the_fan_on_the_wall_without_any_code(
    driver: RewardsDriver, smtp_mail: MailConfig
) -> None:
    # given a fan who likes public thanks and a discount code reward
    profile(driver, "fan-1", "PUBLIC_SHOUTOUT", name="Grace")
    bank = driver.call("POST", "/v1/code-banks", json={"name": "b", "low_stock_threshold": 0})
    driver.call(
        "POST", f"/v1/code-banks/{bank.json['id']}/codes", data=b"SECRET-1", content_type="text/csv"
    )
    driver.rule(
        name="code",
        trigger="SHARE_RECORDED",
        reward_kind="DISCOUNT_CODE",
        code_bank_id=bank.json["id"],
    )
    driver.apply(
        "content.pack_published",
        {"pack_id": "pack-1", "slug": "bts", "title": "Backstage", "tags": []},
    )

    # when the share's thank-you is delivered
    driver.share("fan-1")
    assert deliver_all(driver, smtp_mail) == ["ON_WALL"]

    # then anyone sees the fan's display name on the wall, and never the code
    wall = driver.call("GET", "/v1/thank-you-wall", fan("someone-else")).json
    assert [post["message"] for post in wall["items"]] == [
        "Thank you, Grace, for sharing “Backstage”!"
    ]
    assert "SECRET-1" not in str(wall)


def test_a_handwritten_note_is_queued_for_a_marketer(
    driver: RewardsDriver, smtp_mail: MailConfig
) -> None:
    # given a fan who likes handwritten notes
    profile(driver, "fan-1", "HANDWRITTEN_NOTE", name="Linus")
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)

    # when the thank-you is delivered, and the marketer writes it
    driver.conversion("fan-1", "c1")
    assert deliver_all(driver, smtp_mail) == ["NOTE_QUEUED"]
    queue = driver.call("GET", "/v1/handwritten-notes").json["items"]
    written = driver.call("POST", f"/v1/handwritten-notes/{queue[0]['id']}/written")
    again = driver.call("POST", f"/v1/handwritten-notes/{queue[0]['id']}/written")

    # then the queue showed the note with the name to write to, and it is done once
    assert [(n["display_name"], n["status"]) for n in queue] == [("Linus", "PENDING")]
    assert written.json["status"] == "WRITTEN"
    assert again.status_code == 409
    assert again.json["error"]["code"] == "ALREADY_DONE"
    assert driver.call("GET", "/v1/handwritten-notes").json["items"] == []


def test_none_records_the_reward_silently(driver: RewardsDriver, smtp_inbox: SmtpServer) -> None:
    # given a fan who wants no thank-you
    profile(driver, "fan-1", "NONE")
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)

    # when a conversion earns points
    driver.conversion("fan-1", "c1")

    # then the reward is there, its delivery recorded as silent, and no email went out
    assert driver.summary("fan-1")["balance"] == 100
    assert [row["status"] for row in delivery_rows(driver)] == ["SILENT"]
    assert smtp_inbox.messages == []


def test_the_channel_chosen_at_delivery_time_wins(
    driver: RewardsDriver, smtp_inbox: SmtpServer, smtp_mail: MailConfig
) -> None:
    # given a fan who chose email when the reward was issued
    profile(driver, "fan-1", "PRIVATE_EMAIL", name="Ada")
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)
    driver.conversion("fan-1", "c1")

    # when the fan switches to the public wall before the delivery runs
    switched = driver.call(
        "PATCH", "/v1/fans/fan-1", fan("fan-1"), json={"thank_you_channel": "PUBLIC_SHOUTOUT"}
    )
    assert switched.json["thank_you_channel"] == "PUBLIC_SHOUTOUT"
    statuses = deliver_all(driver, smtp_mail)

    # then the thank-you went to the wall, and no email was sent
    assert statuses == ["ON_WALL"]
    assert smtp_inbox.messages == []


def test_a_delivery_run_twice_thanks_once(
    driver: RewardsDriver, smtp_inbox: SmtpServer, smtp_mail: MailConfig
) -> None:
    # given a delivered email thank-you
    profile(driver, "fan-1", "PRIVATE_EMAIL")
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)
    driver.conversion("fan-1", "c1")
    deliver_all(driver, smtp_mail)

    # when the task runs again (a redelivered task)
    assert deliver_all(driver, smtp_mail) == ["SENT"]

    # then only one email exists
    smtp_inbox.wait_for(1)
    assert len(smtp_inbox.messages) == 1


def test_a_worker_issues_and_emails_a_thank_you_end_to_end(
    database_url: str, redis_url: str, smtp_inbox: SmtpServer, tmp_path: Path
) -> None:
    # given a running rewards worker that sends through a real SMTP server
    migrate(database_url)
    app = create_app(rewards_settings(database_url, redis_url))
    driver = RewardsDriver(app)
    profile(driver, "fan-1", "PRIVATE_EMAIL", name="Ada")
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)
    worker = CeleryWorker(
        "services.rewards.worker:celery",
        queue="rewards",
        env={
            "FANFARE_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "INTERNAL_TOKEN_SECRET": SECRET,
            "SMTP_URL": smtp_inbox.url,
            "MAIL_FROM": SENDER,
        },
        log_path=tmp_path / "worker.log",
        beat=False,
    ).start()
    try:
        # when referrals' conversion event reaches the rewards queue
        event = Event.new(
            type="referrals.conversion_approved",
            producer="referrals",
            payload={
                "conversion_id": "c1",
                "fan_id": "fan-1",
                "pack_id": "p",
                "amount_cents": 1,
                "currency": "EUR",
                "external_id": "o",
                "partner_id": "x",
                "link_id": "l",
            },
        )
        assert app.extensions["fanfare"].celery is not None
        send_event(app.extensions["fanfare"].celery, "rewards", event)

        # then the fan gets the email, sent by the delivery task after the reward committed
        [mail] = smtp_inbox.wait_for(1, timeout=30)
        assert mail.mail_from == "thanks@fanfare.test"
        assert "You earned 100 points" in mail.message.get_content()
        wait_until(
            lambda: [row["status"] for row in delivery_rows(driver)] == ["SENT"],
            timeout=10,
            message=worker.log_tail(),
        )
    finally:
        worker.stop()
        app.extensions["fanfare"].db.dispose()

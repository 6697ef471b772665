"""The rewards tasks in a real Celery worker (and its beat) on a real Redis.

A delivery that keeps failing ends in ``dead_letters`` after its bounded
retries; the digest and the stuck-delivery sweep run from beat's schedule,
with the short intervals a deployment can set through the settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from fanfare.embedded import free_port
from services.common.celery_app import send_event
from services.common.events import Event
from services.common.utc_time import utcnow
from services.rewards import deliveries
from services.rewards.app import create_app
from services.rewards.deliveries import MailConfig
from services.rewards.mailers import SmtpMailer
from services.rewards.models import deliveries as deliveries_table
from services.rewards.models import event_tables, wall_posts
from services.rewards.tasks import QUEUE
from tests.rewards.conftest import SECRET, RewardsDriver, fan, migrate, rewards_settings
from tests.support.smtp import SmtpServer
from tests.support.workers import CeleryWorker, wait_until

SENDER = "Fanfare <thanks@fanfare.test>"


@pytest.fixture
def rewards_app(database_url: str, redis_url: str) -> Iterator[Flask]:
    migrate(database_url)
    app = create_app(rewards_settings(database_url, redis_url))
    yield app
    app.extensions["fanfare"].db.dispose()


def worker_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    return {
        "FANFARE_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "MAIL_FROM": SENDER,
        **settings,
    }


def choose_channel(driver: RewardsDriver, fan_id: str, channel: str) -> None:
    response = driver.call(
        "PUT",
        f"/v1/fans/{fan_id}",
        fan(fan_id),
        json={
            "email": f"{fan_id}@example.org",
            "display_name": fan_id,
            "thank_you_channel": channel,
        },
    )
    assert response.status_code == 200, response.json


def delivery_statuses(driver: RewardsDriver, fan_id: str) -> list[str]:
    with driver.runtime.db.transaction() as session:
        return [
            str(status)
            for status in session.scalars(
                select(deliveries_table.c.status)
                .where(deliveries_table.c.fan_id == fan_id)
                .order_by(deliveries_table.c.id)
            )
        ]


def dead_letters(driver: RewardsDriver) -> list[dict[str, object]]:
    table = event_tables.dead_letters
    with driver.runtime.db.transaction() as session:
        return [dict(row) for row in session.execute(select(table)).mappings()]


def test_a_delivery_the_smtp_server_keeps_refusing_ends_in_dead_letters(
    rewards_app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # given a fan thanked by email, and a worker whose SMTP server refuses every connection
    driver = RewardsDriver(rewards_app)
    choose_channel(driver, "fan-1", "PRIVATE_EMAIL")
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    nobody_listens = f"smtp://127.0.0.1:{free_port()}"
    worker = CeleryWorker(
        "services.rewards.worker:celery",
        queue=QUEUE,
        env=worker_env(
            database_url,
            redis_url,
            SMTP_URL=nobody_listens,
            DELIVERY_MAX_RETRIES="2",
            DELIVERY_RETRY_BACKOFF_SECONDS="0.2",
        ),
        log_path=tmp_path / "worker.log",
        beat=False,
    ).start()
    try:
        # when the fan's share reaches the rewards queue
        event = Event.new(
            type="referrals.share_recorded",
            producer="referrals",
            payload={"share_id": "s1", "fan_id": "fan-1", "pack_id": "p", "channel": "x"},
        )
        celery = driver.runtime.celery
        assert celery is not None
        send_event(celery, QUEUE, event)

        # then the reward is issued, its email is tried three times, and then parked
        wait_until(
            lambda: delivery_statuses(driver, "fan-1") == ["FAILED"],
            timeout=60,
            message=worker.log_tail(),
        )
    finally:
        worker.stop()
    [letter] = dead_letters(driver)
    assert letter["kind"] == "task"
    assert letter["name"] == deliveries.DELIVER_TASK
    assert str(letter["reference"]).startswith(f"{deliveries.DELIVER_TASK}:")
    assert letter["attempts"] == 3
    assert "refused" in str(letter["error"]).lower() or "connect" in str(letter["error"]).lower()
    log = worker.log_text()
    assert "failed (attempt 1), retry in" in log
    assert "failed (attempt 2), retry in" in log
    # and the points stay: a failed thank-you takes nothing back
    assert driver.summary("fan-1")["balance"] == 10


def test_beat_sends_due_digests_and_re_sends_deliveries_whose_task_was_lost(
    rewards_app: Flask,
    database_url: str,
    redis_url: str,
    smtp_inbox: SmtpServer,
    tmp_path: Path,
) -> None:
    # given a fan thanked by email twice yesterday: one email went out, one waits for the digest
    driver = RewardsDriver(rewards_app)
    choose_channel(driver, "fan-1", "PRIVATE_EMAIL")
    choose_channel(driver, "fan-2", "PUBLIC_SHOUTOUT")
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.share("fan-1")
    driver.share("fan-1")
    mail = MailConfig(mailer=SmtpMailer(smtp_inbox.url), sender=SENDER)
    yesterday = utcnow().date() - timedelta(days=1)
    with driver.runtime.db.transaction() as session:
        ids = list(
            session.scalars(
                select(deliveries_table.c.id)
                .where(deliveries_table.c.fan_id == "fan-1")
                .order_by(deliveries_table.c.id)
            )
        )
    for delivery_id in ids:
        deliveries.deliver_reward(
            driver.runtime.db, delivery_id=int(delivery_id), mail=mail, today=yesterday
        )
    smtp_inbox.wait_for(1)
    assert delivery_statuses(driver, "fan-1") == ["SENT", "DIGEST_PENDING"]
    # and a shout-out whose task the broker lost (the queue is emptied)
    driver.share("fan-2")
    redis.Redis.from_url(redis_url).delete(QUEUE)
    assert delivery_statuses(driver, "fan-2") == ["PENDING"]

    # when a worker runs with beat, its digest and sweep due every second
    worker = CeleryWorker(
        "services.rewards.worker:celery",
        queue=QUEUE,
        env=worker_env(
            database_url,
            redis_url,
            SMTP_URL=smtp_inbox.url,
            DIGEST_INTERVAL_SECONDS="1",
            DELIVERY_SWEEP_INTERVAL_SECONDS="1",
            DELIVERY_SWEEP_GRACE_SECONDS="0",
        ),
        log_path=tmp_path / "worker.log",
        beat=True,
    ).start()
    try:
        # then the digest goes out by email, once
        wait_until(
            lambda: delivery_statuses(driver, "fan-1") == ["SENT", "DIGESTED"],
            timeout=60,
            message=worker.log_tail(),
        )
        # and the lost shout-out reaches the wall through the sweep
        wait_until(
            lambda: delivery_statuses(driver, "fan-2") == ["ON_WALL"],
            timeout=60,
            message=worker.log_tail(),
        )
    finally:
        worker.stop()
    messages = smtp_inbox.wait_for(2)
    assert len(messages) == 2
    assert all(message.rcpt_tos == ("fan-1@example.org",) for message in messages)
    with driver.runtime.db.transaction() as session:
        assert len(session.execute(select(wall_posts)).all()) == 1
    log = worker.log_text()
    assert "rewards.send_digests" in log
    assert "rewards.sweep_deliveries" in log

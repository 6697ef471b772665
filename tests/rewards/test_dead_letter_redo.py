"""A thank-you whose delivery failed all its retries is delivered once its cause is fixed.

The SMTP server is down longer than the delivery's backoff: the delivery ends
FAILED and its task in ``dead_letters``. Once the server is back, an operator's
``fanfare events dead-letters retry`` puts it back, and a real worker sends the
email through a real SMTP server, once.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from flask import Flask

from fanfare.cli import main
from fanfare.embedded import free_port
from services.common.celery_app import send_event
from services.common.events import Event
from services.rewards.tasks import QUEUE
from tests.rewards.conftest import RewardsDriver
from tests.rewards.test_tasks import (
    choose_channel,
    dead_letters,
    delivery_statuses,
    rewards_app,
    worker_env,
)
from tests.support.smtp import SmtpServer
from tests.support.workers import CeleryWorker, wait_until

__all__ = ["rewards_app"]  # the fixture, shared with test_tasks


def rewards_worker(env: dict[str, str], log_path: Path) -> CeleryWorker:
    return CeleryWorker(
        "services.rewards.worker:celery", queue=QUEUE, env=env, log_path=log_path, beat=False
    ).start()


def test_a_dead_lettered_thank_you_is_sent_once_after_the_smtp_server_is_back(
    rewards_app: Flask, database_url: str, redis_url: str, smtp_inbox: SmtpServer, tmp_path: Path
) -> None:
    # given a fan thanked by email while the SMTP server was down, parked after its retries
    driver = RewardsDriver(rewards_app)
    choose_channel(driver, "fan-1", "PRIVATE_EMAIL")
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    down = worker_env(
        database_url,
        redis_url,
        SMTP_URL=f"smtp://127.0.0.1:{free_port()}",
        DELIVERY_MAX_RETRIES="1",
        DELIVERY_RETRY_BACKOFF_SECONDS="0.1",
    )
    worker = rewards_worker(down, tmp_path / "down.log")
    try:
        event = Event.new(
            type="referrals.share_recorded",
            producer="referrals",
            payload={"share_id": "s1", "fan_id": "fan-1", "pack_id": "p", "channel": "x"},
        )
        assert driver.runtime.celery is not None
        send_event(driver.runtime.celery, QUEUE, event)
        wait_until(lambda: delivery_statuses(driver, "fan-1") == ["FAILED"], timeout=60)
        wait_until(lambda: len(dead_letters(driver)) == 1, timeout=10)
    finally:
        worker.stop()
    [letter] = dead_letters(driver)

    # when the server is back and an operator retries the letter
    back = {**down, "SMTP_URL": smtp_inbox.url}
    worker = rewards_worker(back, tmp_path / "back.log")
    try:
        result = CliRunner().invoke(
            main,
            ["events", "dead-letters", "retry", str(letter["id"]), "--service", "rewards"],
            env=back,
        )

        # then the fan gets their thank-you, once, and the delivery is SENT
        assert result.exit_code == 0, result.output
        assert "put back and rewards.deliver_reward sent again" in result.output
        [mail] = smtp_inbox.wait_for(1, timeout=30)
        assert mail.rcpt_tos == ("fan-1@example.org",)
        wait_until(lambda: delivery_statuses(driver, "fan-1") == ["SENT"], timeout=30)
        assert dead_letters(driver) == []

        # and retrying the same letter again sends nothing more
        again = CliRunner().invoke(
            main,
            ["events", "dead-letters", "retry", str(letter["id"]), "--service", "rewards"],
            env=back,
        )
        assert again.exit_code == 1
        assert f"no dead letter has id {letter['id']}" in again.output
    finally:
        worker.stop()
    assert len(smtp_inbox.messages) == 1
    assert driver.summary("fan-1")["balance"] == 10

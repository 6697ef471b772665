"""Exactly one reward per (rule, event), with a real Celery worker and a real Redis.

Each case runs on SQLite and PostgreSQL: an event delivered again after it
was applied, the same event delivered to two workers at once, and a worker
killed with SIGKILL while the reward is written but not yet committed (first
the pool process, then the whole worker, restarted afterwards).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from services.common.celery_app import send_event
from services.common.events import Event
from services.rewards.app import create_app
from tests.rewards import holding_worker
from tests.rewards.conftest import (
    SECRET,
    RewardsDriver,
    conversion_event,
    migrate,
    rewards_settings,
)
from tests.support.workers import CeleryWorker, wait_until


class WorkerStack:
    def __init__(self, driver: RewardsDriver, env: dict[str, str], workdir: Path) -> None:
        self.driver = driver
        self.env = env
        self.workdir = workdir
        self.workers: list[CeleryWorker] = []
        self.redis = driver.runtime.redis

    def start_worker(self, name: str) -> CeleryWorker:
        worker = CeleryWorker(
            "tests.rewards.holding_worker:celery",
            queue="rewards",
            env=self.env,
            log_path=self.workdir / f"{name}.log",
            name=name,
            beat=False,
        ).start()
        self.workers.append(worker)
        return worker

    def send(self, event: Event) -> None:
        celery = self.driver.runtime.celery
        assert celery is not None
        send_event(celery, "rewards", event)

    def logs(self) -> str:
        return "\n".join(worker.log_text() for worker in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def stack(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[WorkerStack]:
    migrate(database_url)
    app: Flask = create_app(rewards_settings(database_url, redis_url))
    driver = RewardsDriver(app)
    driver.rule(name="points", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)
    env = {
        "FANFARE_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "BROKER_VISIBILITY_TIMEOUT_SECONDS": "3",
        "EVENT_RETRY_BACKOFF_SECONDS": "0.05",
        "LOG_FORMAT": "json",
    }
    stack = WorkerStack(driver, env, tmp_path)
    try:
        yield stack
    finally:
        stack.stop()
        redis.Redis.from_url(redis_url).delete(holding_worker.HOLD_KEY)
        app.extensions["fanfare"].db.dispose()


def applied(stack: WorkerStack, event: Event) -> bool:
    return f"event {event.id} (referrals.conversion_approved) applied" in stack.logs()


def test_an_event_delivered_again_after_it_was_applied_gives_one_reward(
    stack: WorkerStack,
) -> None:
    # given a worker that applied a conversion
    worker = stack.start_worker("w1")
    event = conversion_event("fan-1", "c-redelivered")
    stack.send(event)
    wait_until(lambda: applied(stack, event), timeout=30, message=worker.log_tail())

    # when the broker delivers the same event three more times
    for _ in range(3):
        stack.send(event)
    wait_until(
        lambda: (
            stack.logs().count(f"event {event.id} (referrals.conversion_approved) already") >= 3
        ),
        timeout=30,
        message=worker.log_tail(),
    )

    # then the fan holds one reward and its points once
    assert stack.driver.reward_count(event_id=event.id) == 1
    assert stack.driver.summary("fan-1")["balance"] == 100


def test_two_workers_racing_on_the_same_event_give_one_reward(stack: WorkerStack) -> None:
    # given two workers, and the first delivery held open inside its transaction
    stack.start_worker("w1")
    stack.start_worker("w2")
    stack.redis.set(holding_worker.HOLD_KEY, "1")
    event = conversion_event("fan-1", "c-race")

    # when the same event is delivered twice at once and the first is let go
    stack.send(event)
    stack.send(event)
    wait_until(
        lambda: stack.redis.get(holding_worker.entered_key(event.id)) is not None,
        timeout=30,
        message=stack.logs()[-3000:],
    )
    stack.redis.set(holding_worker.HOLD_KEY, "0")
    wait_until(
        lambda: (
            applied(stack, event)
            and f"event {event.id} (referrals.conversion_approved) already applied" in stack.logs()
        ),
        timeout=30,
        message=stack.logs()[-3000:],
    )

    # then one delivery issued the reward and the other changed nothing
    assert stack.driver.reward_count(event_id=event.id) == 1
    assert stack.driver.summary("fan-1")["balance"] == 100


def test_a_pool_process_killed_mid_task_is_redelivered_and_rewards_once(
    stack: WorkerStack,
) -> None:
    # given a worker whose pool process has written the reward but not committed it
    worker = stack.start_worker("w1")
    stack.redis.set(holding_worker.HOLD_KEY, "1")
    event = conversion_event("fan-1", "c-killed-child")
    stack.send(event)
    wait_until(
        lambda: stack.redis.get(holding_worker.pid_key(event.id)) is not None,
        timeout=30,
        message=worker.log_tail(),
    )

    # when that process is killed with SIGKILL, and the redelivery is let through
    os.kill(int(stack.redis.get(holding_worker.pid_key(event.id)) or 0), signal.SIGKILL)
    wait_until(
        lambda: int(stack.redis.get(holding_worker.entered_key(event.id)) or 0) >= 2,
        timeout=30,
        message=worker.log_tail(),
    )
    stack.redis.set(holding_worker.HOLD_KEY, "0")
    wait_until(lambda: applied(stack, event), timeout=30, message=worker.log_tail())

    # then the worker noticed its lost process, and the event was rewarded once
    wait_until(
        lambda: "WorkerLostError" in worker.log_text(), timeout=15, message=worker.log_tail()
    )
    assert stack.driver.reward_count(event_id=event.id) == 1
    assert stack.driver.summary("fan-1")["balance"] == 100


def test_a_whole_worker_killed_mid_task_is_redelivered_to_a_restarted_worker(
    stack: WorkerStack,
) -> None:
    # given a worker holding an uncommitted reward
    first = stack.start_worker("w1")
    stack.redis.set(holding_worker.HOLD_KEY, "1")
    event = conversion_event("fan-1", "c-killed-worker")
    stack.send(event)
    wait_until(
        lambda: stack.redis.get(holding_worker.entered_key(event.id)) is not None,
        timeout=30,
        message=first.log_tail(),
    )

    # when the whole worker dies with SIGKILL and a new one starts after the hold is lifted
    assert first.process is not None
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait()
    first.process = None
    assert stack.driver.reward_count(event_id=event.id) == 0
    stack.redis.set(holding_worker.HOLD_KEY, "0")
    second = stack.start_worker("w2")

    # then the unacknowledged event comes back after the visibility timeout, rewarded once
    wait_until(lambda: applied(stack, event), timeout=60, message=second.log_tail())
    assert stack.driver.reward_count(event_id=event.id) == 1
    assert stack.driver.summary("fan-1")["balance"] == 100

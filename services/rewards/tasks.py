"""Celery tasks of the rewards queue: deliveries, gift-card purchases, digests, sweeps.

Every task takes ids, re-reads state and skips what is done; it is acked late,
has a time limit, retries a bounded number of times with exponential backoff
and jitter, and then lands in ``dead_letters`` (kind ``task``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery, Task

from services.common.celery_app import backoff_seconds
from services.common.runtime import ServiceRuntime
from services.common.utc_time import utcnow
from services.rewards import deliveries, gift_cards
from services.rewards.extension import RewardsExtension
from services.rewards.settings import RewardsSettings

log = logging.getLogger(__name__)

QUEUE = "rewards"
SEND_DIGESTS_TASK = "rewards.send_digests"
SWEEP_TASK = "rewards.sweep_deliveries"


class CeleryTaskQueue:
    """The domain's TaskQueue on Celery: every task goes to the rewards queue."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    def enqueue(self, task_name: str, *args: object) -> None:
        self.celery.send_task(task_name, args=list(args), queue=QUEUE, retry=False)


def register_tasks(
    celery: Celery, runtime: ServiceRuntime, settings: RewardsSettings, rewards: RewardsExtension
) -> None:
    options: dict[str, Any] = {
        "bind": True,
        "acks_late": True,
        "max_retries": None,
        "time_limit": settings.task_time_limit_seconds,
        "soft_time_limit": max(1, settings.task_time_limit_seconds - 10),
    }

    def with_retries(
        task: Task,  # type: ignore[type-arg]
        reference: str,
        payload: dict[str, Any],
        work: Callable[[], Any],
        give_up: Callable[[str, int], None] | None = None,
    ) -> Any:
        try:
            return work()
        except Exception as exc:
            retries = task.request.retries
            if retries >= settings.delivery_max_retries:
                error = "".join(traceback.format_exception(exc))
                assert runtime.consumer is not None
                runtime.consumer.dead_letter(
                    runtime.db,
                    kind="task",
                    name=str(task.name),
                    reference=reference,
                    payload=payload,
                    error=error,
                    attempts=retries + 1,
                )
                if give_up is not None:
                    give_up(error, retries + 1)
                log.error("%s dead-lettered after %d attempts: %s", reference, retries + 1, exc)
                return "dead_lettered"
            countdown = backoff_seconds(settings.delivery_retry_backoff_seconds, retries)
            log.warning(
                "%s failed (attempt %d), retry in %.1fs: %s", reference, retries + 1, countdown, exc
            )
            raise task.retry(exc=exc, countdown=countdown) from exc

    @celery.task(name=deliveries.DELIVER_TASK, **options)
    def deliver_reward(self: Task, delivery_id: int) -> Any:  # type: ignore[type-arg]
        """Thank the fan for one reward through their channel."""
        return with_retries(
            self,
            f"{deliveries.DELIVER_TASK}:{delivery_id}",
            {"delivery_id": delivery_id},
            lambda: deliveries.deliver_reward(
                runtime.db, delivery_id=delivery_id, mail=rewards.mail, today=utcnow().date()
            ),
            lambda error, attempts: deliveries.record_delivery_failure(
                runtime.db, delivery_id=delivery_id, error=error, attempts=attempts
            ),
        )

    @celery.task(name=gift_cards.PURCHASE_TASK, **options)
    def purchase_gift_card(self: Task, order_id: int) -> Any:  # type: ignore[type-arg]
        """Place one gift-card order with the provider, under its idempotency key."""
        return with_retries(
            self,
            f"{gift_cards.PURCHASE_TASK}:{order_id}",
            {"order_id": order_id},
            lambda: gift_cards.purchase_gift_card(
                runtime.db, order_id=order_id, provider=rewards.gift_cards
            ),
        )

    @celery.task(name=deliveries.DIGEST_TASK, **options)
    def send_digest(self: Task, fan_id: str, day: str) -> Any:  # type: ignore[type-arg]
        """One fan's digest of the thank-yous that waited."""
        from datetime import date

        return with_retries(
            self,
            f"{deliveries.DIGEST_TASK}:{fan_id}:{day}",
            {"fan_id": fan_id, "day": day},
            lambda: deliveries.send_digest(
                runtime.db, fan_id=fan_id, mail=rewards.mail, today=date.fromisoformat(day)
            ),
        )

    @celery.task(name=SEND_DIGESTS_TASK, acks_late=False, ignore_result=True)
    def send_digests() -> int:
        """Beat: start a digest task for every fan whose thank-yous are due."""
        today = utcnow().date()
        with runtime.db.transaction() as session:
            fan_ids = deliveries.fans_with_due_digests(session, today=today)
        for fan_id in fan_ids:
            send_digest.apply_async(args=[fan_id, today.isoformat()], queue=QUEUE)
        return len(fan_ids)

    @celery.task(name=SWEEP_TASK, acks_late=False, ignore_result=True)
    def sweep_deliveries() -> int:
        """Beat: re-send deliveries and gift-card orders whose task was lost."""
        grace = timedelta(seconds=settings.delivery_sweep_grace_seconds)
        with runtime.db.transaction() as session:
            stale = deliveries.stale_pending_deliveries(session, older_than=utcnow() - grace)
            orders = gift_cards.unsent_orders(session, older_than=utcnow() - grace)
        for delivery_id in stale:
            deliver_reward.apply_async(args=[delivery_id], queue=QUEUE)
        for order_id in orders:
            purchase_gift_card.apply_async(args=[order_id], queue=QUEUE)
        # Lost events (rewards.tier_changed included) are the common relay's
        # concern: delivery receipts send them again (services/common/delivery_receipts.py).
        return len(stale) + len(orders)


def beat_schedule(settings: RewardsSettings) -> dict[str, dict[str, Any]]:
    return {
        "rewards-send-digests": {
            "task": SEND_DIGESTS_TASK,
            "schedule": settings.digest_interval_seconds,
            "options": {"queue": QUEUE, "expires": settings.digest_interval_seconds},
        },
        "rewards-sweep-deliveries": {
            "task": SWEEP_TASK,
            "schedule": settings.delivery_sweep_interval_seconds,
            "options": {"queue": QUEUE, "expires": settings.delivery_sweep_interval_seconds},
        },
    }

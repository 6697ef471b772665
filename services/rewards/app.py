"""The rewards service's app factory."""

from __future__ import annotations

from flask import Flask

from services.common.app import create_service_app
from services.common.celery_app import create_celery
from services.common.runtime import ServiceRuntime
from services.rewards import views  # noqa: F401 - registers the endpoints on the blueprint
from services.rewards.api import api
from services.rewards.catalog import RedemptionContext
from services.rewards.consumers import register_event_handlers
from services.rewards.dead_letter_redo import TASK_REDOERS
from services.rewards.deliveries import MailConfig
from services.rewards.extension import RewardsExtension
from services.rewards.gift_card_providers import build_gift_card_provider
from services.rewards.interfaces import GiftCardProvider, Mailer
from services.rewards.issuance import IssuanceContext
from services.rewards.mailers import build_mailer
from services.rewards.models import event_tables
from services.rewards.settings import RewardsSettings
from services.rewards.tasks import CeleryTaskQueue, beat_schedule, register_tasks


def create_app(
    settings: RewardsSettings | None = None,
    *,
    mailer: Mailer | None = None,
    gift_card_provider: GiftCardProvider | None = None,
) -> Flask:
    """Build the rewards app from ``settings`` (read from the environment when omitted).

    ``mailer`` and ``gift_card_provider`` replace the ones the settings name
    (tests pass a paid provider's stand-in here).
    """
    settings = settings or RewardsSettings()
    app = create_service_app(__name__, settings, event_tables=event_tables)
    celery = create_celery(app)
    celery.conf.beat_schedule = {**celery.conf.beat_schedule, **beat_schedule(settings)}

    runtime: ServiceRuntime = app.extensions["fanfare"]
    assert runtime.outbox is not None
    assert runtime.consumer is not None
    queue = CeleryTaskQueue(celery)
    provider = gift_card_provider or build_gift_card_provider(settings)
    extension = RewardsExtension(
        issuance=IssuanceContext(
            outbox=runtime.outbox,
            thresholds=settings.tiers,
            gift_card_provider=provider.name,
            queue=queue,
        ),
        redemption=RedemptionContext(
            outbox=runtime.outbox, gift_card_provider=provider.name, queue=queue
        ),
        mail=MailConfig(mailer=mailer or build_mailer(settings), sender=settings.mail_from),
        gift_cards=provider,
    )
    app.extensions["rewards"] = extension
    register_event_handlers(runtime.consumer, extension.issuance)
    register_tasks(celery, runtime, settings, extension)
    runtime.task_redoers.update(TASK_REDOERS)
    app.register_blueprint(api)
    return app

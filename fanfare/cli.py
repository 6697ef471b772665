"""``fanfare``: the one command-line entry point of the platform."""

from __future__ import annotations

import importlib
import math
import os
import sys
from pathlib import Path

import click

from fanfare.apps import APPS, APPS_BY_NAME, get_app_spec
from fanfare.dead_letter_commands import (
    SERVICES_WITH_EVENTS,
    all_services,
    dead_letters,
    each_service_option,
    refuse_one_database_for_many,
)
from services.common import migrations

SERVICE_CHOICE = click.Choice([spec.name for spec in APPS])


@click.group()
def main() -> None:
    """Fanfare: content packs, tracked referrals and thank-you rewards."""


@main.command()
@click.option(
    "--var-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("FANFARE_VAR_DIR", "var"),
    show_default="var",
    help="Where SQLite files, Redis data, logs and local files go.",
)
@click.option(
    "--port-offset",
    type=click.IntRange(0, 50000),
    default=0,
    show_default=True,
    help="Add this to every app's port (8000-8003) and Redis's (6379) when those are taken.",
)
@click.option(
    "--seed-demo/--no-seed-demo",
    default=True,
    show_default=True,
    help="On the first start (no var/demo-seeded marker), seed the demo and print its logins.",
)
def dev(var_dir: Path, port_offset: int, seed_demo: bool) -> None:
    """Run the whole platform on the embedded default until Ctrl-C."""
    from fanfare.devserver import run_dev

    sys.exit(run_dev(var_dir, port_offset=port_offset, seed_demo=seed_demo))


@main.command("seed-demo")
@click.option(
    "--gateway-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where the running gateway answers (its services are read from the environment).",
)
def seed_demo_command(gateway_url: str) -> None:
    """Seed a living demo on the running platform, through its APIs (safe to run twice).

    Needs the same INTERNAL_TOKEN_SECRET and gateway DATABASE_URL as the running apps.
    """
    from fanfare.demo import DemoSeedError, seed_demo
    from gateway.settings import GatewaySettings

    settings = GatewaySettings()
    try:
        report = seed_demo(
            gateway_url=gateway_url,
            rewards_url=settings.rewards_url,
            internal_token_secret=settings.internal_token_secret.get_secret_value(),
            gateway_database_url=settings.database_url,
        )
    except DemoSeedError as error:
        raise click.ClickException(f"the demo was not seeded: {error}") from error
    for line in report.lines():
        click.echo(line)


@main.command()
@click.argument("services", nargs=-1, type=SERVICE_CHOICE)
def migrate(services: tuple[str, ...]) -> None:
    """Bring databases up to date (all apps, or those named)."""
    names = services or tuple(APPS_BY_NAME)
    if os.environ.get("DATABASE_URL") and len(names) > 1:
        raise click.UsageError(
            "DATABASE_URL names one database; name the one app it belongs to, "
            "e.g. 'fanfare migrate content'."
        )
    for name in names:
        spec = get_app_spec(name)
        settings = spec.settings_class()
        migrations.upgrade(spec.migrations_dir, settings.database_url)
        click.echo(f"{name}: migrated")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("service", type=SERVICES_WITH_EVENTS)
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option(
    "--beat/--no-beat",
    default=True,
    show_default=True,
    help="Also run the service's periodic tasks (one beat per service).",
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(service: str, concurrency: int, beat: bool, celery_args: tuple[str, ...]) -> None:
    """Run a service's Celery worker; extra arguments go to Celery."""
    spec = get_app_spec(service)
    var_dir = Path(os.environ.get("FANFARE_VAR_DIR", "var"))
    schedule = var_dir / "celery" / f"{spec.name}-beat-schedule" if beat else None
    command = spec.worker_command(concurrency=concurrency, beat_schedule=schedule)
    os.execv(sys.executable, [*command, *celery_args])  # noqa: S606 - replaces this process


@main.command()
@click.argument("service", type=SERVICE_CHOICE)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0, min_open=True, max=60),
    default=None,
    help="How often to look for unsent events [default: OUTBOX_RELAY_POLL_SECONDS, 0.05].",
)
def relay(service: str, poll_seconds: float | None) -> None:
    """Relay a service's outbox to the broker every few milliseconds, until SIGTERM or Ctrl-C.

    One per service beside its workers; the beat task stays as the safety net
    (docs/events.md).
    """
    from pydantic import ValidationError

    from services.common.relay_loop import OutboxRelayLoop

    spec = get_app_spec(service)
    relayed = [other.name for other in APPS if other.has_worker]
    if not spec.has_worker:
        raise click.UsageError(
            f"{service} has no outbox (it publishes no events), so there is nothing to relay; "
            f"run a relay for one of: {', '.join(relayed)}."
        )
    create_app = importlib.import_module(f"{spec.package}.app").create_app
    try:
        app = create_app()
    except ValidationError as error:
        raise click.ClickException(f"{service}: settings refused: {error}") from error
    runtime = app.extensions["fanfare"]
    if runtime.outbox is None:
        raise click.UsageError(f"{service} has no outbox, so there is nothing to relay.")
    loop = OutboxRelayLoop(runtime, app.extensions["celery"], poll_seconds=poll_seconds)
    with app.app_context():
        loop.run_until_signalled()
    runtime.db.dispose()


@main.group()
def events() -> None:
    """The event plumbing every service shares."""


@events.command("purge")
@each_service_option
def purge_events(services: tuple[str, ...]) -> None:
    """Delete sent outbox events and processed-event ids past their retention, now.

    Each service's worker does it every EVENT_RETENTION_INTERVAL_SECONDS; this
    runs until nothing past the cutoffs is left, in the same short batches.
    """
    from pydantic import ValidationError

    from services.common.db import Database
    from services.common.event_retention import purge_event_tables

    refuse_one_database_for_many(services, "fanfare events purge --service content")
    names = services or all_services()
    for name in names:
        spec = get_app_spec(name)
        try:
            settings = spec.settings_class()
        except ValidationError as error:
            raise click.ClickException(f"{name}: settings refused: {error}") from error
        event_tables = importlib.import_module(f"{spec.package}.models").event_tables
        database = Database(settings.database_url)
        try:
            report = purge_event_tables(
                database,
                event_tables,
                outbox_retention_days=settings.outbox_retention_days,
                processed_events_retention_days=settings.processed_events_retention_days,
                time_budget_seconds=math.inf,
            )
        finally:
            database.dispose()
        click.echo(
            f"{name}: purged {report.outbox_events} outbox events sent more than "
            f"{settings.outbox_retention_days} days ago, {report.processed_events} "
            f"processed events older than {settings.processed_events_retention_days} days, "
            f"{report.resolved_dead_letters} dead letters of events applied since"
        )


events.add_command(dead_letters)


def _add_app_commands() -> None:
    """Each app contributes its own commands; the CLI only gathers them."""
    from gateway.cli import TOP_LEVEL_COMMANDS
    from services.content.cli import commands as content_commands
    from services.referrals.cli import commands as referrals_commands
    from services.rewards.cli import commands as rewards_commands

    for group in (content_commands, referrals_commands, rewards_commands):
        main.add_command(group)
    for command in TOP_LEVEL_COMMANDS:
        main.add_command(command)


_add_app_commands()

if __name__ == "__main__":
    main()

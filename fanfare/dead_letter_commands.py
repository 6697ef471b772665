"""``fanfare events dead-letters``: see what was parked after its retries, and deal with it."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from fanfare.apps import APPS, get_app_spec
from services.common.outbox import EventTables
from services.common.runtime import ServiceRuntime

SERVICES_WITH_EVENTS = click.Choice([spec.name for spec in APPS if spec.has_worker])


each_service_option = click.option(
    "--service",
    "services",
    multiple=True,
    type=SERVICES_WITH_EVENTS,
    help="Only this service (repeatable); every service with event tables by default.",
)


@contextmanager
def _service_runtime(service: str) -> Iterator[ServiceRuntime]:
    """The service's runtime (database, event tables, Celery), configured as its workers are."""
    from pydantic import ValidationError

    create_app = importlib.import_module(f"{get_app_spec(service).package}.app").create_app
    try:
        app = create_app()
    except ValidationError as error:
        raise click.ClickException(f"{service}: settings refused: {error}") from error
    runtime: ServiceRuntime = app.extensions["fanfare"]
    try:
        with app.app_context():
            yield runtime
    finally:
        runtime.db.dispose()


@contextmanager
def _letters_of(service: str) -> Iterator[tuple[ServiceRuntime, EventTables]]:
    """The service's runtime and event tables; a letter not found or not retryable is said
    back as a plain error (exit 1), not a traceback."""
    from services.common.dead_letters import DeadLetterNotFound, NotRetryable

    with _service_runtime(service) as runtime:
        assert runtime.event_tables is not None  # every service with a worker has them
        try:
            yield runtime, runtime.event_tables
        except (DeadLetterNotFound, NotRetryable) as error:
            raise click.ClickException(f"{service}: {error}") from error


def _one_letter(command: Callable[..., None]) -> Callable[..., None]:
    """The arguments of a command on one letter: its id, and the service it belongs to."""
    command = click.option("--service", required=True, type=SERVICES_WITH_EVENTS)(command)
    return click.argument("letter_id", type=click.IntRange(min=1))(command)


@click.group("dead-letters")
def dead_letters() -> None:
    """Work parked in a service's dead_letters after its retries.

    `retry` has the work done again once its cause is fixed: an event is sent
    again; a task is redone where its service can (a thank-you delivery, an
    asset's processing). Other letters are discarded once dealt with.
    """


@dead_letters.command("list")
@each_service_option
@click.option("--kind", type=click.Choice(["event", "task"]), help="Only events, or only tasks.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def list_command(services: tuple[str, ...], kind: str | None, limit: int) -> None:
    """The newest dead letters of each service, newest first."""
    from services.common.dead_letters import list_dead_letters

    refuse_one_database_for_many(services, "fanfare events dead-letters list --service rewards")
    for service in services or all_services():
        with _letters_of(service) as (runtime, tables):
            letters = list_dead_letters(runtime.db, tables, kind=kind, limit=limit)
        if not letters:
            click.echo(f"{service}: no dead letters")
            continue
        click.echo(f"{service}: {len(letters)} dead letter(s), newest first")
        for letter in letters:
            state = " [applied since: resolved]" if letter.resolved else ""
            click.echo(
                f"  #{letter.id} {letter.created_at:%Y-%m-%d %H:%M:%S} {letter.kind} "
                f"{letter.name} {letter.reference} after {letter.attempts} attempt(s){state}: "
                f"{letter.error_summary}"
            )


@dead_letters.command("show")
@_one_letter
def show_command(letter_id: int, service: str) -> None:
    """One dead letter whole: what it holds, and the full error."""
    from services.common.dead_letters import get_dead_letter

    with _letters_of(service) as (runtime, tables):
        letter = get_dead_letter(runtime.db, tables, letter_id)
    click.echo(f"dead letter #{letter.id} of {service}")
    click.echo(f"kind:      {letter.kind}")
    click.echo(f"name:      {letter.name}")
    click.echo(f"reference: {letter.reference}")
    click.echo(f"parked:    {letter.created_at.isoformat()} after {letter.attempts} attempt(s)")
    click.echo(f"resolved:  {'yes, applied since' if letter.resolved else 'no'}")
    click.echo("payload:")
    click.echo(json.dumps(letter.payload, indent=2, sort_keys=True))
    click.echo("error:")
    click.echo(letter.error)


@dead_letters.command("retry")
@_one_letter
@click.option(
    "--wait-seconds",
    type=click.FloatRange(min=0, max=3600),
    default=30.0,
    show_default=True,
    help="How long to wait for an event to be applied (0: send and return).",
)
def retry_command(letter_id: int, service: str, wait_seconds: float) -> None:
    """Have a dead letter's work done again, once its cause is fixed.

    An event is sent to its consumer again and applied at most once, whatever
    happens; its letter is deleted when the event is seen applied, and stays
    otherwise. A task its service can redo is put back and sent again; if it
    fails again, it is parked again.
    """
    from services.common.dead_letters import TASK_KIND, get_dead_letter

    with _letters_of(service) as (runtime, tables):
        if get_dead_letter(runtime.db, tables, letter_id).kind == TASK_KIND:
            _redo_task(runtime, tables, letter_id)
        else:
            _send_event_again(runtime, tables, letter_id, wait_seconds=wait_seconds)


def _redo_task(runtime: ServiceRuntime, tables: EventTables, letter_id: int) -> None:
    from services.common.dead_letters import redo_task

    assert runtime.celery is not None
    service = runtime.service
    letter = redo_task(runtime.db, tables, runtime.task_redoers, letter_id)
    try:
        runtime.celery.send_task(letter.name, kwargs=letter.payload, queue=service, retry=False)
    except Exception as error:
        raise click.ClickException(
            f"{service}: {letter.reference} was put back to be done, but the broker refused "
            f"the task ({error}); {service}'s periodic sweep sends it once the broker is back."
        ) from error
    click.echo(
        f"{service}: {letter.reference} put back and {letter.name} sent again; dead letter "
        f"#{letter_id} deleted (if it fails again it is parked again)"
    )


def _send_event_again(
    runtime: ServiceRuntime, tables: EventTables, letter_id: int, *, wait_seconds: float
) -> None:
    from services.common.celery_app import send_event
    from services.common.dead_letters import (
        delete_resolved_dead_letters,
        event_to_send_again,
        wait_until_applied,
    )

    assert runtime.celery is not None
    service = runtime.service
    event = event_to_send_again(runtime.db, tables, letter_id)
    send_event(runtime.celery, service, event)
    click.echo(f"{service}: sent event {event.id} ({event.type}) to its consumer again")
    if wait_seconds == 0:
        click.echo("not waiting; `fanfare events dead-letters list` shows when it is applied")
        return
    if not wait_until_applied(runtime.db, tables, event.id, timeout_seconds=wait_seconds):
        raise click.ClickException(
            f"{service}: event {event.id} was not applied within {wait_seconds:g} s. "
            f"The dead letter stays: check that {service}'s worker runs, and its log for "
            "the event's error; the periodic purge removes the letter once it is applied."
        )
    delete_resolved_dead_letters(runtime.db, tables)
    click.echo(f"{service}: event {event.id} applied; dead letter #{letter_id} deleted")


@dead_letters.command("discard")
@_one_letter
def discard_command(letter_id: int, service: str) -> None:
    """Delete a dead letter that has been dealt with (its work done, or not to be done)."""
    from services.common.dead_letters import discard_dead_letter

    with _letters_of(service) as (runtime, tables):
        letter = discard_dead_letter(runtime.db, tables, letter_id)
    click.echo(f"{service}: discarded dead letter #{letter.id} ({letter.kind} {letter.reference})")


def all_services() -> tuple[str, ...]:
    """The services with event tables (and so with dead letters): those with a worker."""
    return tuple(spec.name for spec in APPS if spec.has_worker)


def refuse_one_database_for_many(services: tuple[str, ...], example: str) -> None:
    """DATABASE_URL set names one service's database: a command over all of them would
    read or change that one database as if it were each service's."""
    if os.environ.get("DATABASE_URL") and len(services or all_services()) > 1:
        raise click.UsageError(
            f"DATABASE_URL names one database; name the service it belongs to, e.g. '{example}'."
        )

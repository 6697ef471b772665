"""``fanfare content ...``: the content service's own commands."""

from __future__ import annotations

import click


@click.group(name="content")
def commands() -> None:
    """Commands of the content service."""


@commands.command("openapi")
@click.option("--check", is_flag=True, help="Fail if the committed document is out of date.")
def openapi(check: bool) -> None:
    """Write services/content/openapi.json from the views' schemas."""
    from services.content.app import create_app
    from services.content.openapi import OPENAPI_PATH, render_spec

    document = render_spec(create_app())
    if check:
        if not OPENAPI_PATH.exists() or OPENAPI_PATH.read_text() != document:
            raise click.ClickException(
                "services/content/openapi.json is out of date: run 'fanfare content openapi'."
            )
        click.echo("openapi.json is up to date")
        return
    OPENAPI_PATH.write_text(document)
    click.echo(f"wrote {OPENAPI_PATH}")

"""``fanfare referrals ...``: the referrals service's own commands."""

from __future__ import annotations

import click


@click.group(name="referrals")
def commands() -> None:
    """Commands of the referrals service."""


@commands.command("openapi")
@click.option("--check", is_flag=True, help="Fail if the committed document is out of date.")
def openapi(check: bool) -> None:
    """Write services/referrals/openapi.json from the code (or check it is current)."""
    from services.referrals.app import create_app
    from services.referrals.openapi import OPENAPI_PATH, render_openapi
    from services.referrals.settings import ReferralsSettings

    app = create_app(ReferralsSettings(database_url="sqlite://"))
    rendered = render_openapi(app)
    if check:
        current = OPENAPI_PATH.read_text() if OPENAPI_PATH.exists() else ""
        if current != rendered:
            raise click.ClickException(
                f"{OPENAPI_PATH} is out of date: run `fanfare referrals openapi`."
            )
        click.echo(f"{OPENAPI_PATH} is current.")
        return
    OPENAPI_PATH.write_text(rendered)
    click.echo(f"wrote {OPENAPI_PATH}")

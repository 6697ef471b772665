"""Gateway commands that sit at the top level of ``fanfare`` (e.g. ``create-user``)."""

from __future__ import annotations

import click

from gateway.identity.errors import DuplicateEmail, IdentityError
from gateway.identity.users import USER_ROLES, create_user
from gateway.settings import GatewaySettings
from services.common.db import Database


@click.command("create-user")
@click.option("--role", type=click.Choice(USER_ROLES), required=True, help="What the user is.")
@click.option("--email", required=True, help="The user's email (normalised to lower case).")
@click.option("--display-name", required=True, help="The name shown to others.")
@click.option(
    "--password",
    envvar="FANFARE_USER_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when omitted; or set FANFARE_USER_PASSWORD.",
)
def create_user_command(role: str, email: str, display_name: str, password: str) -> None:
    """Create a fan, marketer or admin (the gateway database must be migrated)."""
    settings = GatewaySettings()
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            user = create_user(
                session,
                email=email,
                password=password,
                display_name=display_name,
                role=role,  # type: ignore[arg-type]
            )
    except DuplicateEmail as error:
        raise click.ClickException(f"{email.strip().lower()}: {error.message}") from error
    except IdentityError as error:
        raise click.BadParameter(error.message, param_hint=f"--{error.field or 'input'}") from error
    finally:
        db.dispose()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


TOP_LEVEL_COMMANDS: list[click.Command] = [create_user_command]

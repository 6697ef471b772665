"""`fanfare create-user`: marketers and admins from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fanfare.apps import get_app_spec
from fanfare.cli import main
from gateway.identity.passwords import verify_password
from gateway.models import User
from services.common import migrations
from services.common.db import Database


@pytest.fixture
def gateway_db(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    migrations.upgrade(get_app_spec("gateway").migrations_dir, database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("FANFARE_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("FANFARE_USER_PASSWORD", raising=False)
    return database_url


def users(database_url: str) -> list[User]:
    db = Database(database_url)
    try:
        with db.transaction() as session:
            return list(session.scalars(select(User)))
    finally:
        db.dispose()


ARGS = [
    *("create-user", "--role", "marketer"),
    *("--email", "Mia@Brand.example", "--display-name", "Mia"),
]


def test_create_user_with_the_password_as_an_option(gateway_db: str) -> None:
    result = CliRunner().invoke(main, [*ARGS, "--password", "a long password"])
    assert result.exit_code == 0, result.output
    (user,) = users(gateway_db)
    assert (user.email, user.role, user.display_name) == ("mia@brand.example", "marketer", "Mia")
    assert verify_password(user.password_hash, "a long password")


def test_create_user_with_the_password_from_the_environment(
    gateway_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANFARE_USER_PASSWORD", "from the environment")
    result = CliRunner().invoke(main, [*ARGS[:2], "admin", *ARGS[3:]])
    assert result.exit_code == 0, result.output
    (user,) = users(gateway_db)
    assert user.role == "admin"
    assert verify_password(user.password_hash, "from the environment")


def test_create_user_prompts_for_the_password(gateway_db: str) -> None:
    result = CliRunner().invoke(main, ARGS, input="typed at a prompt\ntyped at a prompt\n")
    assert result.exit_code == 0, result.output
    assert "typed at a prompt" not in result.output
    (user,) = users(gateway_db)
    assert verify_password(user.password_hash, "typed at a prompt")


def test_an_existing_email_is_reported_not_duplicated(gateway_db: str) -> None:
    runner = CliRunner()
    runner.invoke(main, [*ARGS, "--password", "a long password"])
    again = runner.invoke(main, [*ARGS[:4], "mia@brand.example", *ARGS[5:], "--password", "x" * 12])
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert len(users(gateway_db)) == 1


def test_a_short_password_is_refused_with_a_reason(gateway_db: str) -> None:
    result = CliRunner().invoke(main, [*ARGS, "--password", "short"])
    assert result.exit_code == 2
    assert "at least 8 characters" in result.output
    assert users(gateway_db) == []

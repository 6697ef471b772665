"""Small rules of the plumbing that every service relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.celery_app import backoff_seconds
from services.common.events import Event, consumers_of
from services.common.settings import DEV_INTERNAL_TOKEN_SECRET, EMBEDDED_SECRET_FILE
from services.content.settings import ContentSettings
from services.referrals.settings import ReferralsSettings


def test_events_route_to_the_services_that_consume_them() -> None:
    assert consumers_of("referrals.conversion_approved") == ["rewards"]
    assert consumers_of("nobody.listens") == []
    custom = {"a.*": ("x",), "a.b": ("y", "x")}
    assert consumers_of("a.b", custom) == ["x", "y"]


def test_an_event_survives_the_trip_through_a_message() -> None:
    event = Event.new(type="content.pack_published", producer="content", payload={"id": "p1"})
    assert Event.from_message(event.to_message()) == event


@pytest.mark.parametrize("retries", [0, 1, 2, 5, 20])
def test_retry_backoff_grows_with_jitter_and_is_capped(retries: int) -> None:
    ceiling = min(600.0, 2.0 * 2**retries)
    waits = [backoff_seconds(2.0, retries) for _ in range(200)]
    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    assert len(set(waits)) > 1


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="INTERNAL_TOKEN_SECRET"):
        ContentSettings(environment="production", internal_token_secret=DEV_INTERNAL_TOKEN_SECRET)


def test_a_short_internal_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        ContentSettings(internal_token_secret="short")


def test_settings_read_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.db")
    monkeypatch.setenv("FANFARE_ENV", "test")
    monkeypatch.setenv("EVENT_MAX_RETRIES", "7")
    settings = ReferralsSettings()
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert settings.environment == "test"
    assert settings.event_max_retries == 7
    assert {"DATABASE_URL", "REDIS_URL", "FANFARE_ENV", "INTERNAL_TOKEN_SECRET"} <= (
        ReferralsSettings.env_var_names()
    )


def test_each_service_defaults_to_its_own_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FANFARE_VAR_DIR", "/srv/fanfare")
    assert ContentSettings().database_url == "sqlite:////srv/fanfare/content.db"
    assert ReferralsSettings().database_url == "sqlite:////srv/fanfare/referrals.db"


def test_a_bad_setting_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_MAX_RETRIES", "lots")
    with pytest.raises(ValidationError, match="event_max_retries"):
        ContentSettings()


def test_commands_beside_fanfare_dev_share_its_kept_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given the secret `fanfare dev` keeps under var/, and no INTERNAL_TOKEN_SECRET
    monkeypatch.delenv("INTERNAL_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("FANFARE_VAR_DIR", str(tmp_path))
    kept = tmp_path / EMBEDDED_SECRET_FILE
    kept.parent.mkdir(parents=True)
    kept.write_text("kept-secret-0123456789-0123456789-0123456789\n")

    # then every app's settings sign and check tokens with it
    assert ContentSettings().internal_token_secret.get_secret_value() == kept.read_text().strip()

    # and an explicit secret still wins
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", "explicit-secret-0123456789-0123456789")
    assert ContentSettings().internal_token_secret.get_secret_value().startswith("explicit")

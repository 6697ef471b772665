"""The four apps: name, port (DESIGN.md), entry points and migration history."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from services.common.settings import CommonSettings


@dataclass(frozen=True)
class AppSpec:
    name: str
    package: str
    port: int
    settings_path: str
    has_worker: bool

    @property
    def wsgi_target(self) -> str:
        return f"{self.package}.wsgi:app"

    @property
    def celery_target(self) -> str:
        return f"{self.package}.worker:celery"

    @property
    def migrations_dir(self) -> Path:
        module = importlib.import_module(self.package)
        assert module.__file__ is not None
        return Path(module.__file__).parent / "migrations"

    def worker_command(self, *, concurrency: int, beat_schedule: Path | None) -> list[str]:
        """The Celery worker of this app on its own queue; with beat when given a schedule file."""
        command = [
            sys.executable, "-m", "celery", "--app", self.celery_target, "worker",
            "--queues", self.name, "--hostname", f"{self.name}@%h",
            "--concurrency", str(concurrency), "--loglevel", "INFO",
        ]  # fmt: skip
        if beat_schedule is not None:
            beat_schedule.parent.mkdir(parents=True, exist_ok=True)
            command += ["--beat", "--schedule", str(beat_schedule)]
        return command

    @cached_property
    def settings_class(self) -> type[CommonSettings]:
        module_name, _, class_name = self.settings_path.rpartition(".")
        settings_class: type[CommonSettings] = getattr(
            importlib.import_module(module_name), class_name
        )
        return settings_class


APPS: tuple[AppSpec, ...] = (
    AppSpec("gateway", "gateway", 8000, "gateway.settings.GatewaySettings", has_worker=False),
    AppSpec("content", "services.content", 8001, "services.content.settings.ContentSettings", True),
    AppSpec(
        "referrals",
        "services.referrals",
        8002,
        "services.referrals.settings.ReferralsSettings",
        True,
    ),
    AppSpec("rewards", "services.rewards", 8003, "services.rewards.settings.RewardsSettings", True),
)

APPS_BY_NAME = {spec.name: spec for spec in APPS}


def get_app_spec(name: str) -> AppSpec:
    try:
        return APPS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown app {name!r}; choose one of {', '.join(APPS_BY_NAME)}") from None

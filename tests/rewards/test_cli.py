"""``fanfare rewards seed-rules`` and ``fanfare rewards reconcile``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from fanfare.cli import main
from services.rewards.models import accounts
from tests.rewards.conftest import SECRET, RewardsDriver


@pytest.fixture
def cli_env(database_url: str, driver: RewardsDriver) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "INTERNAL_TOKEN_SECRET": SECRET, "FANFARE_ENV": "test"}


def test_seed_rules_installs_the_defaults_once(
    cli_env: dict[str, str], driver: RewardsDriver
) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["rewards", "seed-rules"], env=cli_env)
    second = runner.invoke(main, ["rewards", "seed-rules"], env=cli_env)
    assert first.exit_code == second.exit_code == 0, first.output
    assert "default rules added: 9" in first.output
    assert "default rules added: 0" in second.output
    assert len(driver.rule_ids()) == 9
    # and the seeded rules work: a share earns points and the first-share badge
    driver.share("fan-1")
    summary = driver.summary("fan-1")
    assert summary["balance"] == 10
    assert [b["code"] for b in summary["badges"]] == ["first-share"]


def test_reconcile_exits_zero_when_balanced_and_non_zero_with_a_report_when_not(
    cli_env: dict[str, str], driver: RewardsDriver
) -> None:
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.share("fan-1")
    runner = CliRunner()
    ok = runner.invoke(main, ["rewards", "reconcile"], env=cli_env)
    assert ok.exit_code == 0, ok.output
    assert "ledger balances" in ok.output

    with driver.runtime.db.transaction() as session:
        session.execute(update(accounts).where(accounts.c.fan_id == "fan-1").values(balance=5))
    broken = runner.invoke(main, ["rewards", "reconcile"], env=cli_env)
    assert broken.exit_code == 1
    assert "accounts whose cached totals differ from their entries: 1" in broken.output
    assert "ledger does NOT balance" in broken.output


def test_the_openapi_command_has_the_name_the_other_services_use() -> None:
    # given the services' command groups
    groups = {name: main.commands[name] for name in ("content", "referrals", "rewards")}
    # when each is asked for its commands
    names = {name: set(getattr(group, "commands", {})) for name, group in groups.items()}
    # then rewards regenerates its document with the same command as the others
    assert all("openapi" in commands for commands in names.values()), names
    result = CliRunner().invoke(main, ["rewards", "--help"])
    assert "openapi" in result.output
    assert "write-openapi" not in result.output

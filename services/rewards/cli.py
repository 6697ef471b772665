"""``fanfare rewards ...``: the rewards service's own commands."""

from __future__ import annotations

import json
import sys

import click

from services.common.db import Database
from services.rewards.settings import RewardsSettings


@click.group(name="rewards")
def commands() -> None:
    """Commands of the rewards service."""


@commands.command()
def reconcile() -> None:
    """Check the ledger: credits equal debits, cached balances equal the entries."""
    from services.rewards.reconcile import reconcile_ledger

    database = Database(RewardsSettings().database_url)
    try:
        with database.transaction() as session:
            report = reconcile_ledger(session)
    finally:
        database.dispose()
    click.echo(f"entries: {report.entries}")
    click.echo(f"sum of all entries: {report.total}")
    click.echo(f"unbalanced journals: {len(report.unbalanced_journals)}")
    click.echo(
        f"accounts whose cached totals differ from their entries: {len(report.mismatched_accounts)}"
    )
    if report.ok:
        click.echo("ledger balances")
        return
    for journal in report.unbalanced_journals:
        click.echo(f"  journal {journal['journal_id']} sums to {journal['sum']}")
    for account in report.mismatched_accounts:
        click.echo("  account " + json.dumps(account, default=str))
    click.echo("ledger does NOT balance", err=True)
    sys.exit(1)


@commands.command("seed-rules")
def seed_rules() -> None:
    """Install the default rules (idempotent: existing ones are left as they are)."""
    from services.rewards.seed import install_default_rules

    database = Database(RewardsSettings().database_url)
    try:
        with database.transaction() as session:
            added = install_default_rules(session)
    finally:
        database.dispose()
    click.echo(f"default rules added: {len(added)}" + (f" ({', '.join(added)})" if added else ""))


@commands.command("openapi")
def openapi_command() -> None:
    """Regenerate services/rewards/openapi.json from the schemas."""
    from services.rewards.openapi import OPENAPI_PATH, write_openapi

    write_openapi()
    click.echo(f"wrote {OPENAPI_PATH}")

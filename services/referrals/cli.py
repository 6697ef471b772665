"""``fanfare referrals ...``: the referrals service's own commands."""

from __future__ import annotations

import click


@click.group(name="referrals")
def commands() -> None:
    """Commands of the referrals service."""

"""``fanfare rewards ...``: the rewards service's own commands."""

from __future__ import annotations

import click


@click.group(name="rewards")
def commands() -> None:
    """Commands of the rewards service."""

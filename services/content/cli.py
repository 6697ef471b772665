"""``fanfare content ...``: the content service's own commands."""

from __future__ import annotations

import click


@click.group(name="content")
def commands() -> None:
    """Commands of the content service."""

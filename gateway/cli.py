"""Gateway commands that sit at the top level of ``fanfare`` (e.g. ``create-user``)."""

from __future__ import annotations

import click

TOP_LEVEL_COMMANDS: list[click.Command] = []

"""The README documents every setting and every command a user can reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanfare.apps import APPS, AppSpec
from fanfare.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("spec", APPS, ids=lambda spec: spec.name)
def test_the_readme_documents_every_environment_variable_an_app_reads(spec: AppSpec) -> None:
    undocumented = sorted(
        name for name in spec.settings_class.env_var_names() if f"`{name}`" not in README
    )
    assert undocumented == []


def test_the_readme_documents_every_fanfare_command() -> None:
    commands = []
    for name, command in main.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            commands += [f"fanfare {name} {sub}" for sub in subcommands]
        else:
            commands.append(f"fanfare {name}")
    undocumented = [command for command in commands if command not in README]
    assert undocumented == []

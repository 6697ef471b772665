"""Test harness: real servers from pip packages, started once per session."""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.redis",
    "tests.support.s3",
    "tests.support.smtp",
]

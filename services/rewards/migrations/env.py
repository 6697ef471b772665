from services.common.migrations import run_migrations
from services.rewards.models import metadata

run_migrations(metadata)

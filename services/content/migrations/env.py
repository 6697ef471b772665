from services.common.migrations import run_migrations
from services.content.models import metadata

run_migrations(metadata)

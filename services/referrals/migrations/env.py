from services.common.migrations import run_migrations
from services.referrals.models import metadata

run_migrations(metadata)

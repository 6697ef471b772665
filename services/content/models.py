"""The content service's tables: its own database, read by no other service."""

from __future__ import annotations

from services.common.db import new_metadata
from services.common.outbox import EventTables

metadata = new_metadata()
event_tables = EventTables(metadata)
